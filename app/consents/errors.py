"""The consents' errors."""

from app.core.errors import NotFound


class ConsentNotFound(NotFound):
    default_message = "No such consent."
