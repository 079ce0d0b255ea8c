"""What a new auditor tripped on: a phone filter that silently matched nothing, an unknown error
filter, a platform key's verify that checked nothing, and an Accept header listing JSON first."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.audit.test_audit import INSIDE, PHONE, _checks
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key


@pytest.mark.parametrize("phone", ["2129876543", " 14155552671", "+1415555267", "+4420794600"])
async def test_a_phone_filter_that_is_not_strict_e164_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str], phone: str
) -> None:
    _, headers = await tenant_with_key(client, admin)
    response = await client.get("/v1/audit/checks", params={"phone": phone}, headers=headers)
    assert_envelope(response, 400, "invalid_phone")


async def test_a_strict_phone_filter_finds_the_number_and_an_unknown_error_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await _checks(client, headers)
    found = await client.get("/v1/audit/checks", params={"phone": PHONE}, headers=headers)
    assert found.status_code == 200
    assert {record["phone"] for record in found.json()["data"]} == {PHONE}
    assert len(found.json()["data"]) == 2
    blocked = await client.get(
        "/v1/audit/checks", params={"error": "call_hours_violation"}, headers=headers
    )
    assert [r["error"] for r in blocked.json()["data"]] == ["call_hours_violation"]
    unknown = await client.get("/v1/audit/checks", params={"error": "dnc_block"}, headers=headers)
    assert_envelope(unknown, 400, "validation_failed")


async def test_a_platform_key_verifies_every_tenants_chain(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_a, a = await tenant_with_key(client, admin)
    tenant_b, b = await tenant_with_key(client, admin)
    await _checks(client, a)
    ids_b = await _checks(client, b)
    every = (await client.get("/v1/audit/verify", headers=admin)).json()
    assert every["ok"] is True
    assert every["tenants"] >= 2
    assert every["records"] >= 10
    own = (await client.get("/v1/audit/verify", headers=a)).json()
    assert (own["records"], own["tenants"]) == (5, 1)
    await connection.execute(text("SET session_replication_role = replica"))
    await connection.execute(
        text("UPDATE check_records SET outcome = 'allowed', error = NULL WHERE id = :id"),
        {"id": ids_b[1]},
    )
    await connection.execute(text("SET session_replication_role = DEFAULT"))
    tampered = (await client.get("/v1/audit/verify", headers=admin)).json()
    assert tampered["ok"] is False
    assert (tampered["first_bad"], tampered["first_bad_tenant_id"]) == (ids_b[1], tenant_b)
    assert (await client.get("/v1/audit/verify", headers=a)).json()["ok"] is True
    assert tenant_a != tenant_b


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        ("application/json, text/csv", False),
        ("text/csv, application/json", True),
        ("text/csv", True),
        ("text/csv;q=0.5, application/json", False),
        ("*/*", False),
        ("", False),
    ],
)
async def test_the_first_acceptable_type_answers(
    client: httpx.AsyncClient, admin: dict[str, str], accept: str, csv: bool
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await client.post("/v1/checks", json={"to": PHONE, "at": INSIDE}, headers=headers)
    response = await client.get("/v1/audit/checks", headers={**headers, "accept": accept})
    assert response.status_code == 200
    media = response.headers["content-type"]
    assert media.startswith("text/csv") if csv else media.startswith("application/json")


async def test_a_record_keeps_every_input_of_the_decision(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    """channel and recipient_state are shown (API and CSV) and hashed into the chain."""
    _, headers = await tenant_with_key(client, admin)
    body = {"to": PHONE, "at": INSIDE, "channel": "sms", "recipient_state": "CA"}
    check_id = (await client.post("/v1/checks", json=body, headers=headers)).json()["check_id"]
    record = (await client.get(f"/v1/audit/checks/{check_id}", headers=headers)).json()
    assert (record["channel"], record["recipient_state"]) == ("sms", "CA")
    exported = await client.get("/v1/audit/checks", headers={**headers, "accept": "text/csv"})
    header, row = exported.text.splitlines()[:2]
    columns = dict(zip(header.split(","), row.split(","), strict=False))
    assert (columns["channel"], columns["recipient_state"]) == ("sms", "CA")
    await connection.execute(text("SET session_replication_role = replica"))
    await connection.execute(
        text("UPDATE check_records SET channel = 'voice' WHERE id = :id"), {"id": check_id}
    )
    await connection.execute(text("SET session_replication_role = DEFAULT"))
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert (verdict["ok"], verdict["first_bad"]) == (False, check_id)
