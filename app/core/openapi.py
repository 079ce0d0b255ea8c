"""The OpenAPI document: FastAPI's, with the envelope in place of the default 422 body, the
bearer scheme on every /v1 operation, a server, and readable operationIds; and /docs, Swagger
UI served from the package (app/static/swagger-ui) rather than a CDN."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import fastapi.routing
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.responses import FileResponse, HTMLResponse
from starlette.routing import BaseRoute

from app.core.errors import (
    AppError,
    InternalError,
    PayloadTooLarge,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from app.core.routing import RETURNS_SECRET, error_doc

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
# every /v1 route authenticates (app/api.py); the operations routes outside it need no key
AUTHENTICATED_PREFIX = "/v1/"
BEARER = "bearer"
SECURITY_SCHEMES: dict[str, Any] = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "An API key, `Authorization: Bearer cg_…` (from `callguard keys create` or "
            "`POST /v1/api-keys`)."
        ),
    }
}
# Relative: the document's own origin (and path prefix). The service does not know the address
# its clients reach it by (a proxy, a load balancer, another port), and its bind address
# (0.0.0.0:8000) is not one; "/" makes Swagger UI and generated clients call the host that
# served /openapi.json. A deployment that knows better passes FastAPI(servers=[...]).
DEFAULT_SERVERS: list[dict[str, str]] = [
    {"url": "/", "description": "The host that served this document."}
]


def install_openapi(app: FastAPI, idempotency_conflict: type[AppError]) -> None:
    """The OpenAPI document with the errors every operation shares; `idempotency_conflict` is
    the auth feature's 409 for a reused Idempotency-Key (core names no feature itself)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            servers=app.servers or DEFAULT_SERVERS,
            license_info=app.license_info,
            contact=app.contact,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["ErrorEnvelope"] = ENVELOPE_SCHEMA
        components["securitySchemes"] = SECURITY_SCHEMES
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                _document_common_errors(path, method, operation, idempotency_conflict)
                # an empty list says "no key needed" (rather than leaving it unsaid)
                authenticated = path.startswith(AUTHENTICATED_PREFIX)
                operation["security"] = [{BEARER: []}] if authenticated else []
        _restore_examples(schema, app.routes)
        _check_operation_ids(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def operation_ids(names: Mapping[str, str]) -> Callable[[APIRoute], str]:
    """FastAPI's generate_unique_id_function: a route's operationId is its endpoint's name in
    camelCase (`list_area_codes` -> `listAreaCodes`), or its entry in `names` (endpoint name
    -> operationId) where the bare name does not say enough (`check` -> `createCheck`). Client
    generators name their functions after it. Uniqueness is checked when the document is built.
    """

    def operation_id(route: APIRoute) -> str:
        return names.get(route.name) or camel_case(route.name)

    return operation_id


def camel_case(name: str) -> str:
    first, *rest = re.split(r"_+", name.strip("_"))
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


def api_routes(routes: list[BaseRoute]) -> list[Any]:
    """Every API route with its full path: newer FastAPI keeps an included router as one route
    of its own (iter_route_contexts walks into them); older FastAPI had copied its routes."""
    walk = getattr(fastapi.routing, "iter_route_contexts", None)
    found = list(walk(routes)) if walk is not None else routes
    return [
        route for route in found if isinstance(getattr(route, "original_route", route), APIRoute)
    ]


def _restore_examples(schema: dict[str, Any], routes: list[BaseRoute]) -> None:
    """A route's response examples as written: FastAPI drops every null from the document
    (exclude_none), examples included, so `"next_cursor": null` vanished and the example no
    longer matched its schema."""
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        for method in route.methods:
            operation = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            for status, response in route.responses.items():
                for media, content in response.get("content", {}).items():
                    documented = operation["responses"].get(str(status), {})
                    target = documented.get("content", {}).get(media)
                    if "example" in content and target is not None:
                        target["example"] = jsonable_encoder(content["example"])


def _check_operation_ids(schema: dict[str, Any]) -> None:
    ids = Counter(
        operation.get("operationId")
        for item in schema.get("paths", {}).values()
        for operation in item.values()
    )
    repeated = sorted(str(name) for name, count in ids.items() if count > 1)
    if repeated:
        raise RuntimeError(
            f"operationIds must be unique; repeated: {', '.join(repeated)} (give the endpoints "
            "different names, or an entry in the operationId table)"
        )


SWAGGER_UI_DIR = Path(__file__).resolve().parent.parent / "static" / "swagger-ui"
DOCS_STATIC = "/docs/static"
# the only files served under DOCS_STATIC: any other path there is the usual 404 envelope
SWAGGER_UI_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


def install_docs(app: FastAPI) -> None:
    """/docs: Swagger UI from the vendored files, so the page loads from no outside host.

    Create the app with docs_url=None and redoc_url=None (those pages load from a CDN). No
    /docs/oauth2-redirect: the API has no OAuth2 flow (API keys are bearer tokens). The
    online validator badge (validator.swagger.io) is off.
    """
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} - Swagger UI"

    async def docs(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=title,
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_route("/docs", docs, include_in_schema=False)
    for name, media_type in SWAGGER_UI_ASSETS.items():
        app.add_route(
            f"{DOCS_STATIC}/{name}",
            _static_file(SWAGGER_UI_DIR / name, media_type),
            include_in_schema=False,
        )


def _static_file(path: Path, media_type: str) -> Callable[[Request], Awaitable[FileResponse]]:
    async def serve(_: Request) -> FileResponse:
        return FileResponse(path, media_type=media_type)  # nosniff: RequestContextMiddleware

    return serve


IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Replays the first response (status, body and X-Request-Id) for 24 h when sent again "
        "with the same body (Idempotent-Replayed: true); scoped to the API key."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _is_fastapi_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _document_common_errors(
    path: str, method: str, operation: dict[str, Any], conflict: type[AppError]
) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    # a route whose answer carries a secret refuses the header (it is never stored)
    if (
        path.startswith(AUTHENTICATED_PREFIX)
        and method == "post"
        and not operation.get(RETURNS_SECRET)
    ):
        operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
        responses.setdefault("409", error_doc(conflict, IDEMPOTENCY_CONFLICT))
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
