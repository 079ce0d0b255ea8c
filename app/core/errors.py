"""Error classes and the one envelope every non-2xx response uses (API.md section 2)."""

from __future__ import annotations

from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.request_id import current_request_id


class AppError(Exception):
    """An error a client can act on. Subclasses fix `code` and `status`."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500
    default_message: ClassVar[str] = "Something went wrong on our side; try again later."
    default_headers: ClassVar[dict[str, str] | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details
        self.headers = headers if headers is not None else self.default_headers
        super().__init__(self.message)


class ValidationFailed(AppError):
    code = "validation_failed"
    status = 400
    default_message = "The request is not valid."

    @classmethod
    def field(cls, name: str, problem: str, message: str | None = None) -> ValidationFailed:
        """One field's problem, in the `details.fields` shape every 400 uses."""
        return cls(
            message or f"{name}: {problem}.",
            details={"fields": [{"field": name, "problem": problem}]},
        )

    @classmethod
    def fields(cls, fields: list[dict[str, str]]) -> ValidationFailed:
        """Every problem of a request at once, each `{"field", "problem"}`."""
        count = len(fields)
        message = (
            "The request has 1 problem." if count == 1 else f"The request has {count} problems."
        )
        return cls(message, details={"fields": fields})


class NotFound(AppError):
    code = "not_found"
    status = 404
    default_message = "No such resource."


class MethodNotAllowed(AppError):
    code = "method_not_allowed"
    status = 405
    default_message = "This method is not allowed on this path."


class Conflict(AppError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class PayloadTooLarge(AppError):
    code = "payload_too_large"
    status = 413
    default_message = "The request body is larger than the limit."


class UnsupportedMediaType(AppError):
    code = "unsupported_media_type"
    status = 415
    default_message = "This route does not take a body of that type."


class InternalError(AppError):
    code = "internal_error"
    status = 500


class ServiceUnavailable(AppError):
    code = "service_unavailable"
    status = 503
    default_message = "The database cannot be reached right now; retry shortly."


class BodyTooLarge(StarletteHTTPException):
    """Raised while the body streams in, once it passes the limit.

    It is an HTTPException so that FastAPI's body parsing re-raises it untouched
    instead of turning it into a generic 400.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413)
        self.limit = limit


def envelope(
    code: str, message: str, details: dict[str, Any] | None, request_id: str
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if details:
        body["details"] = details
    body["request_id"] = request_id
    return body


def error_response(error: AppError) -> JSONResponse:
    rid = current_request_id()
    return JSONResponse(
        envelope(error.code, error.message, error.details, rid),
        status_code=error.status,
        headers=error.headers,
    )


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        source = parts.pop(0)
        if not parts or (source == "body" and isinstance(parts[0], int) and len(parts) == 1):
            return "body"
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def validation_fields(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    fields = []
    for err in errors:
        loc = tuple(err.get("loc", ()))
        if err.get("type") == "json_invalid":
            problem = "malformed JSON"
            ctx = err.get("ctx") or {}
            if ctx.get("error"):
                problem += f": {ctx['error']}"
            fields.append({"field": "body", "problem": problem})
            continue
        fields.append({"field": _field_name(loc), "problem": str(err.get("msg", "invalid"))})
    return fields


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    return error_response(
        ValidationFailed.fields(validation_fields([dict(e) for e in exc.errors()]))
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(exc)


def _printable(text: str, limit: int = 200) -> str:
    """Echo a client's path safely: printable characters only, and not too much of it."""
    cleaned = "".join(c if c.isprintable() and c != "\ufffd" else "?" for c in text[:limit])
    return cleaned + ("…" if len(text) > limit else "")


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error: AppError
    if isinstance(exc, BodyTooLarge):
        error = PayloadTooLarge(
            f"The request body is larger than the limit of {exc.limit} bytes.",
            details={"limit_bytes": exc.limit},
        )
    elif exc.status_code == 404:
        error = NotFound(f"No route matches {request.method} {_printable(request.url.path)}.")
    elif exc.status_code == 405:
        error = MethodNotAllowed(
            f"{request.method} is not allowed on {request.url.path}.",
            headers=dict(exc.headers or {}),
        )
    elif exc.status_code == 413:
        error = PayloadTooLarge()
    elif exc.status_code == 415:
        error = UnsupportedMediaType()
    elif exc.status_code == 400:
        error = ValidationFailed.field(
            "body", str(exc.detail), "The request body could not be read."
        )
    else:
        error = InternalError()
    return error_response(error)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
