"""The webhooks' errors."""

from app.core.errors import Conflict, NotFound


class WebhookNotFound(NotFound):
    default_message = "No such webhook."


class WebhookDisabled(Conflict):
    default_message = "This webhook is disabled; it is sent nothing (create a new one)."
