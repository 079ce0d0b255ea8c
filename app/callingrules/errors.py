"""The calling rules' errors."""

from app.core.errors import NotFound


class BanNotFound(NotFound):
    default_message = "No such ban."


class NoPolicy(NotFound):
    default_message = "This tenant has no calling policy; only the law applies."
