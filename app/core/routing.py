"""Routers whose JSON-body routes refuse other media types with 415, and error documentation."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute

from app.core.errors import (
    AppError,
    Conflict,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)

# openapi_extra marks of a route, read by the layers in front of it (and shown in the OpenAPI):
# the route streams its body itself (uploads: a file-sized body is allowed, the Idempotency-Key
# is claimed once the body is on disk)
STREAMING_BODY = "x-streaming-body"
# the route's answer carries a new secret (never stored for a replay, never cached)
RETURNS_SECRET = "x-returns-secret"


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class JsonBodyRoute(APIRoute):
    """A route with a JSON body answers 415 to a body of any other type.

    The first line of the endpoint's docstring is its OpenAPI summary.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        doc = (endpoint.__doc__ or "").strip()
        if doc and not kwargs.get("summary"):
            kwargs["summary"] = doc.splitlines()[0].strip()
            kwargs.setdefault("description", doc)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def checked(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            has_body = request.headers.get("content-length", "0") != "0" or (
                "transfer-encoding" in request.headers
            )
            if (content_type is not None and not _is_json(content_type)) or (
                content_type is None and has_body
            ):
                raise UnsupportedMediaType(
                    f"This route takes application/json, not {content_type or 'an untyped body'}."
                )
            return await handler(request)

        return checked


def make_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=JsonBodyRoute, **kwargs)


_EXAMPLE_MESSAGES: dict[type[AppError], tuple[str, dict[str, Any] | None]] = {
    ValidationFailed: (
        "The request has 1 problem.",
        {"fields": [{"field": "limit", "problem": "Input should be less than or equal to 1000"}]},
    ),
    NotFound: ("No such resource.", None),
    MethodNotAllowed: ("DELETE is not allowed on /healthz.", None),
    Conflict: ("A list with that name already exists.", None),
    PayloadTooLarge: (
        "The request body is larger than the limit of 4194304 bytes.",
        {"limit_bytes": 4194304},
    ),
    UnsupportedMediaType: ("This route takes application/json, not text/plain.", None),
    InternalError: (InternalError.default_message, None),
    ServiceUnavailable: (ServiceUnavailable.default_message, None),
}


def example_envelope(error: type[AppError], message: str | None = None) -> dict[str, Any]:
    default_message, details = _EXAMPLE_MESSAGES.get(error, (error.default_message, None))
    body: dict[str, Any] = {"error": error.code, "message": message or default_message}
    if details:
        body["details"] = details
    body["request_id"] = "req_3f9c2a7d1e5b4c6a8d0e2f41"
    return body


def error_doc(error: type[AppError], description: str | None = None) -> dict[str, Any]:
    """One OpenAPI response object: the envelope schema with an example of this error."""
    return {
        "description": description or error.default_message,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorEnvelope"},
                "example": example_envelope(error),
            }
        },
    }


def errors(*classes: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: its own error responses (the common ones are added for all)."""
    return {str(cls.status): error_doc(cls) for cls in classes}
