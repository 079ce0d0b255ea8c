"""The opt-outs' errors."""

from app.core.errors import NotFound


class NotOptedOut(NotFound):
    default_message = "That number is not opted out on that channel."
