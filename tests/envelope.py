"""Assertions shared by the HTTP tests."""

from typing import Any

import httpx


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the API.md error envelope with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    assert set(body) <= {"error", "message", "details", "request_id"}
    return body
