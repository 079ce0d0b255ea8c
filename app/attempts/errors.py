"""The call attempts' errors: a request's problems are `validation_failed` (app.core.errors),
each naming its item (`items[n].field`); nothing of the request is stored."""

from app.core.errors import ValidationFailed

MAX_LISTED = 100  # problems listed in details.fields; the message counts them all


def invalid_items(problems: list[dict[str, str]]) -> ValidationFailed:
    """Every problem of the request's items (the first MAX_LISTED listed)."""
    error = ValidationFailed.fields(problems[:MAX_LISTED])
    count = len(problems)
    listed = f" (the first {MAX_LISTED} are listed)" if count > MAX_LISTED else ""
    what = "1 problem" if count == 1 else f"{count} problems"
    error.message = f"The request has {what}{listed}; nothing was recorded."
    return error
