"""The blocked answers of a check, for the OpenAPI document (answers are built in outcome.py)."""

from app.core.errors import AppError


class CheckBlocked(AppError):
    code = "dnc_blocked"
    status = 422
    default_message = (
        "The call is not allowed: `error` is the first of opted_out, dnc_blocked, "
        "call_hours_violation that applies; details.violations lists them all."
    )
