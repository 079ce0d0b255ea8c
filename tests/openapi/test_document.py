"""/openapi.json as client generators read it (issue 21, item 11): the bearer scheme on every
/v1 operation, a server, timestamps as date-time, readable unique operationIds, upload bodies
a generator understands."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from app.api import OPERATION_IDS
from app.auth.errors import IdempotencyKeyReused
from app.core.openapi import api_routes, camel_case, install_openapi, operation_ids
from app.core.routing import STREAMING_BODY
from app.core.schemas import DateTimeText, UtcDatetime
from tests.openapi.document import (
    Document,
    is_timestamp_name,
    named_schemas,
    operations,
    string_forms,
)


def test_every_v1_operation_takes_the_bearer_key(document: Document) -> None:
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    seen = set()
    for method, path, operation in operations(document):
        if path.startswith("/v1/"):
            assert operation["security"] == [{"bearer": []}], (method, path)
        else:  # /healthz, /readyz, /metrics: no key, and said so
            assert operation["security"] == [], (method, path)
            seen.add(path)
    assert seen == {"/healthz", "/readyz", "/metrics"}
    assert "security" not in document  # no global default an operation could silently inherit


async def test_the_document_is_served_with_a_relative_server(
    client: httpx.AsyncClient, document: Document
) -> None:
    served = (await client.get("/openapi.json")).json()
    assert served == document
    assert [server["url"] for server in served["servers"]] == ["/"]


# fields named like an instant that hold a calendar day (documented `format: date`), and why
CALENDAR_DATES = {
    "LawCapOut.since": "a law's first day, as the data file gives it",
}


def test_every_timestamp_is_a_date_time(document: Document) -> None:
    plain = [
        where
        for where, name, schema in named_schemas(document)
        if is_timestamp_name(name) and where not in CALENDAR_DATES
        for form in string_forms(schema)
        if form.get("format") != "date-time"
    ]
    assert plain == [], "timestamps documented as plain strings (use UtcDatetime/DateTimeText)"
    stamped = [where for where, name, _ in named_schemas(document) if is_timestamp_name(name)]
    assert len(stamped) > 40, stamped  # the walk found them


def test_a_serialized_timestamp_is_documented_as_date_time() -> None:
    class Out(BaseModel):
        at: UtcDatetime
        maybe: UtcDatetime | None = None
        text: DateTimeText

    schema = Out.model_json_schema(mode="serialization")["properties"]
    assert schema["at"] == {"type": "string", "format": "date-time", "title": "At"}
    assert {"type": "string", "format": "date-time"} in schema["maybe"]["anyOf"]
    assert schema["text"]["format"] == "date-time"
    value = Out(at=datetime(2026, 12, 8, 22, 30, tzinfo=UTC), text="x").model_dump(mode="json")
    assert value["at"] == "2026-12-08T22:30:00Z"  # the serializer still writes Z


def test_operation_ids_are_readable_and_unique(document: Document) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert re.fullmatch(r"[a-z][a-zA-Z0-9]*", operation_id), operation_id
    by_route = {(m.upper(), p): o["operationId"] for m, p, o in operations(document)}
    assert by_route[("POST", "/v1/checks")] == "createCheck"
    assert by_route[("POST", "/v1/checks/batch")] == "checkBatch"
    assert by_route[("POST", "/v1/dnc/lists")] == "createDncList"
    assert by_route[("GET", "/v1/dnc/lists")] == "listDncLists"
    assert by_route[("POST", "/v1/dnc/lists/{list_id}/uploads")] == "uploadDncNumbers"
    assert by_route[("POST", "/v1/opt-outs/uploads")] == "uploadOptOuts"
    assert by_route[("GET", "/v1/area-codes/{npa}")] == "getAreaCode"  # by the default rule


def test_every_entry_of_the_operation_id_table_names_a_route(unstarted_app: FastAPI) -> None:
    names = {route.name for route in api_routes(unstarted_app.routes)}
    assert set(OPERATION_IDS) <= names, set(OPERATION_IDS) - names


def test_camel_case() -> None:
    assert camel_case("list_area_codes") == "listAreaCodes"
    assert camel_case("healthz") == "healthz"
    assert camel_case("_private__name_") == "privateName"


def test_two_operations_with_one_id_are_refused() -> None:
    app = FastAPI(generate_unique_id_function=operation_ids({"a": "same", "b": "same"}))

    @app.get("/a")
    async def a() -> None:
        """A."""

    @app.get("/b")
    async def b() -> None:
        """B."""

    install_openapi(app, idempotency_conflict=IdempotencyKeyReused)
    with (
        pytest.warns(UserWarning, match="Duplicate Operation ID"),  # FastAPI's own, a warning
        pytest.raises(RuntimeError, match="repeated: same"),
    ):
        app.openapi()


def test_upload_bodies_are_forms_generators_understand(document: Document) -> None:
    uploads = [(p, o) for _, p, o in operations(document) if o.get(STREAMING_BODY)]
    assert {path for path, _ in uploads} == {
        "/v1/dnc/lists/{list_id}/uploads",
        "/v1/opt-outs/uploads",
        "/v1/consents/uploads",
        "/v1/scrubs",
    }
    for path, operation in uploads:
        body = operation["requestBody"]
        # multipart first (Swagger UI's file picker), then the one raw form generators take
        assert list(body["content"]) == ["multipart/form-data", "application/octet-stream"], path
        form = body["content"]["multipart/form-data"]["schema"]
        assert form["required"] == ["file"]
        assert form["properties"]["file"]["format"] == "binary"
        assert body["content"]["application/octet-stream"]["schema"]["format"] == "binary"
        # the raw text types are the same bytes: said in words, where no generator trips on them
        for media in ("text/csv", "text/plain", "application/octet-stream", "multipart/form-data"):
            assert f"`{media}`" in body["description"], (path, media)


def test_response_examples_keep_their_nulls(document: Document) -> None:
    """FastAPI drops every null from the document; an example's null fields are put back, so
    each example has the fields its schema requires (Redocly: no-invalid-media-type-examples)."""
    schemas = document["components"]["schemas"]
    checked = 0
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            media = response.get("content", {}).get("application/json", {})
            ref = media.get("schema", {}).get("$ref", "")
            if "example" not in media or not ref:
                continue
            required = schemas[ref.rsplit("/", 1)[-1]].get("required", [])
            missing = set(required) - set(media["example"])
            assert not missing, (method, path, status, missing)
            checked += 1
    assert checked > 40
    me = document["paths"]["/v1/me"]["get"]["responses"]["200"]["content"]["application/json"]
    assert me["example"]["expires_at"] is None


def test_the_document_says_its_license(document: Document) -> None:
    assert document["info"]["license"] == {"name": "Proprietary (all rights reserved)"}
