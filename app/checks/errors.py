"""The blocked answers of a check, for the OpenAPI document (answers are built in outcome.py)."""

from app.core.errors import AppError, ServiceUnavailable


class CheckBlocked(AppError):
    code = "dnc_blocked"
    status = 422
    default_message = (
        "The call is not allowed: `error` is the first of opted_out, dnc_blocked, "
        "call_hours_violation that applies; details.violations lists them all."
    )


class RegistryStale(ServiceUnavailable):
    """A registry list that applies is past its maximum age and the tenant's policy refuses
    (API-2.md section 12): fail closed, since a stale copy could miss a registration."""

    default_message = (
        "A registry list that applies is stale; checks are refused until it is refreshed."
    )
