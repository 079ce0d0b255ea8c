"""The audit trail's errors."""

from app.core.errors import NotFound


class CheckNotFound(NotFound):
    default_message = "No such check."
