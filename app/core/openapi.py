"""The OpenAPI document: FastAPI's, with the envelope in place of the default 422 body."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.auth.errors import IdempotencyKeyReused
from app.core.errors import (
    InternalError,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.core.routing import error_doc

ENVELOPE_SCHEMA: dict[str, Any] = {
    "title": "ErrorEnvelope",
    "type": "object",
    "required": ["error", "message", "request_id"],
    "properties": {
        "error": {"type": "string", "description": "Stable machine-readable code."},
        "message": {"type": "string", "description": "One human-readable sentence."},
        "details": {"type": "object", "description": "Code-specific fields."},
        "request_id": {"type": "string", "description": "Same as the X-Request-Id header."},
    },
}

IDEMPOTENCY_CONFLICT = (
    "The Idempotency-Key was used with another request (idempotency_key_reused), or its first "
    "request is still running (idempotency_in_progress)."
)
_UNDOCUMENTED_DB = {"/healthz", "/metrics", "/openapi.json"}


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["ErrorEnvelope"] = ENVELOPE_SCHEMA
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                _document_common_errors(path, method, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Replays the first response for 24 h when sent again with the same body "
        "(Idempotent-Replayed: true); scoped to the API key's tenant."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _is_fastapi_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _document_common_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    if path.startswith("/v1/") and method == "post":
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        responses.setdefault("409", error_doc(IdempotencyKeyReused, IDEMPOTENCY_CONFLICT))
    # FastAPI's own 422 (its validation body) goes: validation errors are the 400 envelope.
    # A route's own 422 (a blocked check) stays.
    if _is_fastapi_validation_error(responses.get("422", {})):
        del responses["422"]
    if operation.get("parameters") or operation.get("requestBody"):
        responses.setdefault("400", error_doc(ValidationFailed))
    if operation.get("requestBody"):
        responses.setdefault("413", error_doc(PayloadTooLarge))
        responses.setdefault("415", error_doc(UnsupportedMediaType))
    if path not in _UNDOCUMENTED_DB:
        responses.setdefault("503", error_doc(ServiceUnavailable))
    responses.setdefault("500", error_doc(InternalError))
