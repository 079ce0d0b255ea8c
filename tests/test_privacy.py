"""Secrets and privacy: no key material and, by default, no phone numbers in the logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from app.core.logging import JsonFormatter
from tests.helpers import create_key, tenant_with_key

DIGITS = "4155552671"


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    logger = logging.getLogger("callguard")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


async def test_logs_hold_neither_keys_nor_phone_numbers(
    client: httpx.AsyncClient, admin: dict[str, str], logs: io.StringIO
) -> None:
    _, headers = await tenant_with_key(client, admin)
    _, other = await create_key(client, headers, scopes=["checks:write"])
    secrets = [headers["Authorization"].split()[1], other["Authorization"].split()[1]]
    phone = f"+1{DIGITS}"
    created = await client.post("/v1/dnc/lists", json={"name": "privacy"}, headers=headers)
    list_id = created.json()["id"]
    await client.put(f"/v1/dnc/lists/{list_id}/numbers/{phone}", headers=headers)
    await client.get(f"/v1/dnc/numbers/{phone}", headers=headers)
    await client.post("/v1/opt-outs", json={"phone": phone}, headers=headers)
    await client.get(f"/v1/opt-outs/{phone}", headers=headers)
    await client.post("/v1/checks", json={"to": phone}, headers=other)
    await client.post("/v1/checks", json={"to": f"+1{DIGITS[:5]}"}, headers=other)
    await client.post("/v1/checks/batch", json={"items": [{"to": phone}]}, headers=other)
    wrong = "cg_" + "x" * 43
    await client.get("/v1/api-keys", headers={"Authorization": f"Bearer {wrong}"})
    text = logs.getvalue()
    assert text.count('"callguard.access"') >= 9  # the requests were logged
    for secret in [*secrets, wrong]:
        assert secret not in text
        assert secret[3:20] not in text
    assert DIGITS not in text
