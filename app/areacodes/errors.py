"""The area-code table's errors."""

from app.core.errors import NotFound


class AreaCodeNotFound(NotFound):
    default_message = "No such area code in the table."


class NoOverride(NotFound):
    default_message = "That area code has no override."
