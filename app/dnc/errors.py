"""The DNC lists' errors."""

from app.core.errors import Conflict, NotFound


class ListNotFound(NotFound):
    default_message = "No such DNC list."


class ListNameTaken(Conflict):
    default_message = "A list of that name already exists here."


class NumberNotListed(NotFound):
    default_message = "That number is not on this list."
