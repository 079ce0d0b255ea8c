from app.core.errors import AppError, Conflict, NotFound

BEARER = {"WWW-Authenticate": 'Bearer realm="callguard"'}  # RFC 6750: every 401 names the scheme


class InvalidToken(AppError):
    code = "invalid_token"
    status = 401
    default_message = "Send a valid API key as `Authorization: Bearer <key>`."
    default_headers = BEARER


class KeyRevoked(AppError):
    code = "key_revoked"
    status = 401
    default_message = "This API key was revoked."
    default_headers = BEARER


class KeyExpired(AppError):
    code = "key_expired"
    status = 401
    default_message = "This API key has expired."
    default_headers = BEARER


class ScopeRequired(AppError):
    code = "scope_required"
    status = 403
    default_message = "This API key lacks the scope this action needs."

    def __init__(self, scope: str, message: str | None = None) -> None:
        super().__init__(
            message or f"This API key lacks the `{scope}` scope.",
            details={"required_scope": scope},
        )


class RateLimited(AppError):
    code = "rate_limited"
    status = 429
    default_message = "Too many requests; retry after the time in Retry-After."

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        super().__init__(
            message or f"Too many requests; retry in {retry_after_s} s.",
            details={"retry_after_s": retry_after_s},
            headers={"Retry-After": str(retry_after_s)},
        )


# what any /v1 route may answer before it runs: no valid key, or the key's budget spent
KEY_ERRORS: tuple[type[AppError], ...] = (InvalidToken, KeyRevoked, KeyExpired, RateLimited)
# ... and for a route that needs a scope, a key without it
AUTH_ERRORS: tuple[type[AppError], ...] = (*KEY_ERRORS, ScopeRequired)


class IdempotencyKeyReused(AppError):
    code = "idempotency_key_reused"
    status = 409
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyInProgress(AppError):
    code = "idempotency_in_progress"
    status = 409
    default_message = "A request with this Idempotency-Key is still running; retry shortly."


class TenantNotFound(NotFound):
    default_message = "No such tenant."


class TenantNameTaken(Conflict):
    default_message = "A tenant of that name already exists."


class KeyNotFound(NotFound):
    default_message = "No such API key."


class KeyNotRotatable(Conflict):
    default_message = "This key cannot be rotated."
