"""Test-only: a DNC upload run to its end, and a list's numbers read page by page, through the
HTTP API (tests that use `workers`, whose uploads run in the background)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI


async def upload(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    list_id: str,
    body: bytes,
    query: str = "",
    **extra_headers: str,
) -> dict[str, Any]:
    """POST the file (text/csv unless a content-type is given), wait for the upload to end and
    return it as GET /v1/dnc/uploads/{id} reads then: succeeded or failed."""
    response = await client.post(
        f"/v1/dnc/lists/{list_id}/uploads{query}",
        content=body,
        headers={**headers, "content-type": "text/csv", **extra_headers},
    )
    assert response.status_code == 202, response.text
    created = response.json()
    assert created["status"] == "queued"
    await app.state.uploads.wait()
    done = await client.get(f"/v1/dnc/uploads/{created['id']}", headers=headers)
    assert done.status_code == 200, done.text
    ended: dict[str, Any] = done.json()
    assert ended["status"] in ("succeeded", "failed"), ended
    return ended


async def paged_numbers(
    client: httpx.AsyncClient, headers: dict[str, str], list_id: str, limit: int = 3
) -> list[str]:
    """Every number of the list, in the order its pages give them, `limit` to a page."""
    seen: list[str] = []
    url = f"/v1/dnc/lists/{list_id}/numbers?limit={limit}"
    while url:
        page = (await client.get(url, headers=headers)).json()
        seen += [entry["phone"] for entry in page["data"]]
        cursor = page["next_cursor"]
        url = f"/v1/dnc/lists/{list_id}/numbers?limit={limit}&cursor={cursor}" if cursor else ""
    return seen
