"""/healthz, /readyz, /metrics, /openapi.json, /docs and the access log."""

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.logging import JsonFormatter
from app.core.migrations import head_revision
from tests.envelope import assert_envelope


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_schema_revision(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "schema_revision": head_revision(), "warnings": []}


async def test_readyz_is_unavailable_when_schema_is_behind(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    body = assert_envelope(await client.get("/readyz"), 503, "service_unavailable")
    assert body["details"] == {"schema_revision": "older", "expected_revision": head_revision()}


async def test_readyz_is_unavailable_when_never_migrated(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(text("DROP TABLE alembic_version"))
    body = assert_envelope(await client.get("/readyz"), 503, "service_unavailable")
    assert body["details"]["schema_revision"] is None


async def test_metrics_count_requests_by_route_and_status(client: httpx.AsyncClient) -> None:
    def count(text_: str) -> float:
        prefix = 'callguard_http_requests_total{method="GET",route="/healthz",status="200"} '
        lines = [line for line in text_.splitlines() if line.startswith(prefix)]
        return float(lines[0].split()[-1]) if lines else 0.0

    before = count((await client.get("/metrics")).text)
    await client.get("/healthz")
    await client.get("/healthz")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert count(response.text) == before + 2
    assert 'callguard_http_request_duration_seconds_bucket{le="0.005",method="GET"' in response.text
    assert "callguard_db_pool_connections_in_use " in response.text
    assert "callguard_db_pool_connections_idle " in response.text


async def test_unmatched_paths_share_one_metric_label(client: httpx.AsyncClient) -> None:
    await client.get("/random/scanner/path/123")
    text_ = (await client.get("/metrics")).text
    assert 'route="<unmatched>",status="404"' in text_
    assert "/random/scanner" not in text_


@pytest.fixture
def access_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("callguard.access")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


async def test_one_json_log_line_per_request_with_its_id(
    client: httpx.AsyncClient, access_lines: io.StringIO
) -> None:
    response = await client.get("/no-such-page", headers={"x-request-id": "trace-42"})
    lines = [json.loads(line) for line in access_lines.getvalue().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "trace-42" == response.json()["request_id"]
    assert line["status"] == 404
    assert line["method"] == "GET"
    assert line["route"] == "<unmatched>"
    assert line["duration_ms"] >= 0


async def test_openapi_documents_envelopes_not_422(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "ErrorEnvelope" in schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            # FastAPI's own 422 is gone; a 422 a route answers itself (a blocked check) stays,
            # as the envelope like every other error
            if "422" in responses:
                assert (path, method) == ("/v1/checks", "post"), (path, method)
            errors = [code for code in responses if code[0] in "45"]
            assert errors, (path, method)
            for code in errors:
                example = responses[code]["content"]["application/json"]["example"]
                assert set(example) >= {"error", "message", "request_id"}, (path, method, code)
            summary = operation.get("summary", "")
            assert summary.endswith("."), (path, method, summary)  # the docstring's first line


async def test_docs_page_is_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()
