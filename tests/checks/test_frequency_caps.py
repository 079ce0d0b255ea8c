"""Frequency caps through the HTTP API (API-2.md section 14, RULES.md section 7): the states' 3 in
24 hours on one purpose, tenant caps and the quiet after a conversation, reservations that count
against each other in order, and the next allowed instant that satisfies every cap and window."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth import service as auth_service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import Database
from tests.envelope import assert_envelope
from tests.helpers import bearer, tenant_with_key
from tests.workers import Workers

MIAMI = "+13052671234"  # US-FL, America/New_York, 08:00-20:00
TULSA = "+19182671234"  # US-OK, America/Chicago
BALTIMORE = "+14102671234"  # US-MD, America/New_York
PORTLAND = "+15032671234"  # US-OR, America/Los_Angeles
NEW_YORK = "+12122671234"  # US-NY: no cap of its own
T0 = datetime(
    2026, 2, 2, 18, 0, tzinfo=UTC
)  # a Monday: 13:00 New York, 12:00 Tulsa, 10:00 Portland


def _z(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


async def _check(
    client: httpx.AsyncClient, headers: dict[str, str], phone: str, at: datetime, **body: Any
) -> httpx.Response:
    return await client.post(
        "/v1/checks", json={"to": phone, "at": _z(at), **body}, headers=headers
    )


async def _record(
    client: httpx.AsyncClient, headers: dict[str, str], *attempts: dict[str, Any]
) -> None:
    response = await client.post("/v1/attempts", json={"items": list(attempts)}, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json() == {"recorded": len(attempts)}


@pytest.mark.parametrize(
    ("phone", "state"),
    [(MIAMI, "US-FL"), (TULSA, "US-OK"), (BALTIMORE, "US-MD"), (PORTLAND, "US-OR")],
)
async def test_each_state_allows_three_in_24_hours_and_the_fourth_when_the_oldest_ages_out(
    client: httpx.AsyncClient, admin: dict[str, str], phone: str, state: str
) -> None:
    _, headers = await tenant_with_key(client, admin)
    for hour in range(3):  # three reserved calls, an hour apart
        allowed = await _check(client, headers, phone, T0 + timedelta(hours=hour), reserve=True)
        assert allowed.status_code == 200, allowed.text
    fourth = await _check(client, headers, phone, T0 + timedelta(hours=3), reserve=True)
    details = assert_envelope(fourth, 422, "call_hours_violation")["details"]
    assert details["reason"] == "frequency_cap"
    assert details["rule"] == f"{state}: at most 3 calls in 24 hours on one purpose"
    assert [a["at"] for a in details["attempts"]] == [_z(T0 + timedelta(hours=h)) for h in range(3)]
    assert details["next_allowed_at"] == _z(T0 + timedelta(hours=24))
    assert "Frequency cap reached" in fourth.json()["message"]

    last_second = await _check(client, headers, phone, T0 + timedelta(hours=24, seconds=-1))
    assert_envelope(last_second, 422, "call_hours_violation")
    again = await _check(client, headers, phone, T0 + timedelta(hours=24))
    assert again.status_code == 200, again.text


async def test_purposes_are_counted_apart_and_texts_count_as_calls(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await _record(
        client,
        headers,
        *(
            {
                "phone": MIAMI,
                "at": _z(T0 - timedelta(hours=h)),
                "purpose": "renewal",
                "channel": "sms",
                "disposition": "no_answer",
            }
            for h in (1, 2, 3)
        ),
    )
    capped = await _check(client, headers, MIAMI, T0, purpose="renewal")
    assert assert_envelope(capped, 422, "call_hours_violation")["details"]["reason"] == (
        "frequency_cap"
    )
    other = await _check(client, headers, MIAMI, T0, purpose="survey")
    assert other.status_code == 200, other.text


async def test_a_recipient_state_brings_its_cap_to_another_states_number(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    for hour in range(3):
        response = await _check(client, headers, NEW_YORK, T0 + timedelta(hours=hour), reserve=True)
        assert response.status_code == 200, response.text
    # no cap in New York: a fourth is allowed
    assert (await _check(client, headers, NEW_YORK, T0 + timedelta(hours=3))).status_code == 200
    in_florida = await _check(
        client, headers, NEW_YORK, T0 + timedelta(hours=3), recipient_state="FL"
    )
    details = assert_envelope(in_florida, 422, "call_hours_violation")["details"]
    assert details["rule"].startswith("US-FL:")


async def test_a_tenant_cap_and_the_quiet_after_a_conversation(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    policy = {
        "windows": {d: ["08:00", "21:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
        | {"sun": None},
        "frequency_caps": [{"max_calls": 7, "within_hours": 168, "per": "number"}],
        "after_conversation_hours": 168,
    }
    put = await client.put("/v1/calling-policy", json=policy, headers=headers)
    assert put.status_code == 200, put.text

    # seven calls in a week on different purposes: the eighth waits for the first to age out
    await _record(
        client,
        headers,
        *(
            {
                "phone": NEW_YORK,
                "at": _z(T0 - timedelta(days=6, hours=-d)),
                "purpose": f"p{d}",
                "disposition": "no_answer",
            }
            for d in range(7)
        ),
    )
    capped = await _check(client, headers, NEW_YORK, T0)
    details = assert_envelope(capped, 422, "call_hours_violation")["details"]
    assert details["rule"] == "policy: at most 7 calls in 168 hours to one number"
    assert details["next_allowed_at"] == _z(T0 - timedelta(days=6) + timedelta(hours=168))

    # another number: one conversation silences it for a week, whatever the purpose
    other = "+12122671235"
    await _record(
        client,
        headers,
        {"phone": other, "at": _z(T0 - timedelta(hours=2)), "disposition": "connected"},
    )
    quiet = await _check(client, headers, other, T0, purpose="anything")
    details = assert_envelope(quiet, 422, "call_hours_violation")["details"]
    assert details["rule"] == "policy: no call within 168 hours after a conversation"
    assert details["next_allowed_at"] == _z(T0 - timedelta(hours=2) + timedelta(hours=168))


async def test_the_next_allowed_instant_waits_for_the_calling_hours_too(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    evening = datetime(2026, 2, 2, 23, 30, tzinfo=UTC)  # 18:30 in Miami
    for minutes in (0, 10, 20):
        response = await _check(
            client, headers, MIAMI, evening + timedelta(minutes=minutes), reserve=True
        )
        assert response.status_code == 200, response.text
    # the oldest ages out at 18:30 the next day, inside the window: that is the answer
    fourth = await _check(client, headers, MIAMI, evening + timedelta(minutes=30))
    assert fourth.json()["details"]["next_allowed_at"] == _z(evening + timedelta(hours=24))

    # three calls in the window's last ten minutes: at night the caps block too, and the next
    # instant is when the oldest ages out, 19:50 the next day, still inside the window
    late = datetime(2026, 2, 4, 0, 50, tzinfo=UTC)  # Tuesday 19:50 in Miami
    other = "+13052671235"
    for minutes in (0, 5, 9):
        response = await _check(
            client, headers, other, late + timedelta(minutes=minutes), reserve=True
        )
        assert response.status_code == 200, response.text
    night = await _check(client, headers, other, late + timedelta(hours=3))  # 22:50
    details = assert_envelope(night, 422, "call_hours_violation")["details"]
    assert details["reason"] == "frequency_cap"
    assert details["hours_rule"] == "US: 08:00-21:00"  # the hours fail too (the first rule)
    assert details["next_allowed_at"] == _z(late + timedelta(hours=24))

    # three attempts on Thursday at 07:00-07:02 (made before the window opened, reported
    # later): at 22:50 on Tuesday only the hours block, but a call from 08:00 on Wednesday
    # would put four calls in 24 hours, so the next allowed instant is when the first of them
    # is 24 hours old (Friday 07:00) and the window has opened: Friday 08:00
    third = "+13052671236"
    dawn = datetime(2026, 2, 5, 12, 0, tzinfo=UTC)  # Thursday 07:00 in Miami
    await _record(
        client,
        headers,
        *(
            {"phone": third, "at": _z(dawn + timedelta(minutes=m)), "disposition": "no_answer"}
            for m in (0, 1, 2)
        ),
    )
    before = await _check(client, headers, third, late + timedelta(hours=3))
    details = assert_envelope(before, 422, "call_hours_violation")["details"]
    assert "reason" not in details  # the hours block at 22:50; the caps move the next instant
    assert details["next_allowed_at"] == _z(datetime(2026, 2, 6, 13, 0, tzinfo=UTC))
    assert details["next_allowed_at"] in before.json()["message"]


async def test_a_batch_with_repeats_counts_in_order_and_other_tenants_never_count(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    _, other = await tenant_with_key(client, admin)
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": MIAMI}] * 5, "at": _z(T0), "reserve": True},
        headers=headers,
    )
    assert batch.status_code == 200, batch.text
    results = batch.json()["results"]
    assert [r["ok"] for r in results] == [True, True, True, False, False]
    assert results[3]["details"]["reason"] == "frequency_cap"
    assert len(results[4]["details"]["attempts"]) == 3
    # the other tenant's checks count none of them
    assert (await _check(client, other, MIAMI, T0)).status_code == 200
    # reserving without a tenant is refused
    no_tenant = await _check(client, admin, MIAMI, T0, reserve=True)
    assert_envelope(no_tenant, 400, "validation_failed")


# The race: twenty reserving checks at once against a real `callguard serve`, with one worker
# process and with two, twenty times each (a new number each time): exactly three are allowed.


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _admin_secret(database_url: str, settings: Settings) -> str:
    database = Database.from_url(database_url, settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            _, secret = await auth_service.create_key(
                session=session, principal=None, data=ApiKeyIn(name="race", scopes=[Scope.ADMIN])
            )
        return secret
    finally:
        await database.dispose()


@pytest.mark.parametrize("workers", [1, 2])
async def test_twenty_concurrent_reserving_checks_get_exactly_three_oks(
    database_url: str, settings: Settings, tmp_path: Path, workers: int
) -> None:
    secret = await _admin_secret(database_url, settings)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CALLGUARD_DATA_DIR": str(tmp_path)}
    env["CALLGUARD_KEY_RATE_PER_S"] = "100000"
    env["CALLGUARD_KEY_BURST"] = "100000"
    executable = str(Path(os.environ.get("VIRTUAL_ENV", ".venv")) / "bin" / "callguard")
    if not Path(executable).exists():
        executable = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "callguard")
    proc = subprocess.Popen(
        [executable, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            for _ in range(300):
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
            _, headers = _sync_tenant(client, bearer(secret))
        for round_ in range(20):
            phone = f"+1305267{2000 + workers * 100 + round_:04d}"

            def one(_: int, phone: str = phone) -> tuple[int, dict[str, Any]]:
                with httpx.Client(base_url=base, timeout=20) as own:
                    response = own.post(
                        "/v1/checks",
                        json={"to": phone, "at": _z(T0), "reserve": True},
                        headers=headers,
                    )
                    return response.status_code, response.json()

            with ThreadPoolExecutor(max_workers=20) as pool:
                answers = list(pool.map(one, range(20)))
            statuses = sorted(status for status, _ in answers)
            assert statuses == [200] * 3 + [422] * 17, (round_, answers)
            reasons = {body["details"]["reason"] for status, body in answers if status == 422}
            assert reasons == {"frequency_cap"}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def _sync_tenant(client: httpx.Client, admin: dict[str, str]) -> tuple[str, dict[str, str]]:
    name = f"race-{secrets.token_hex(4)}"
    tenant = client.post("/v1/tenants", json={"name": name}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    key = client.post(
        "/v1/api-keys",
        json={"name": "race", "scopes": ["checks:write"], "tenant_id": tenant.json()["id"]},
        headers=admin,
    )
    assert key.status_code == 201, key.text
    return str(tenant.json()["id"]), bearer(key.json()["key"])


async def test_reservations_out_of_order_never_overfill_a_window(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    for hour in (2, 3, 4):
        response = await _check(client, headers, MIAMI, T0 + timedelta(hours=hour), reserve=True)
        assert response.status_code == 200, response.text
        assert response.json()["reservation"]["purpose"] == "default"
    earlier = await _check(client, headers, MIAMI, T0, reserve=True)
    details = assert_envelope(earlier, 422, "call_hours_violation")["details"]
    assert details["reason"] == "frequency_cap"
    assert len(details["attempts"]) == 3
    # a blocked reserving check records no attempt: still three
    listed = await client.get("/v1/attempts", params={"phone": MIAMI}, headers=headers)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["data"]) == 3


async def test_batches_read_the_attempts_of_every_capped_item(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """A big request decides which numbers' attempts to read before its items are parsed: by
    the area code's state, the item's recipient state, or the tenant's own caps."""
    _, headers = await tenant_with_key(client, admin)
    for hour in range(3):
        response = await _check(client, headers, NEW_YORK, T0 + timedelta(hours=hour), reserve=True)
        assert response.status_code == 200, response.text
    items = [{"to": NEW_YORK}, {"to": NEW_YORK, "recipient_state": "FL"}]
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": items, "at": _z(T0 + timedelta(hours=3))},
        headers=headers,
    )
    assert [r["ok"] for r in batch.json()["results"]] == [True, False]

    policy = {
        "windows": {d: ["08:00", "21:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
        | {"sat": None, "sun": None},
        "frequency_caps": [{"max_calls": 3, "within_hours": 24, "per": "number"}],
    }
    assert (await client.put("/v1/calling-policy", json=policy, headers=headers)).status_code == 200
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": NEW_YORK}], "at": _z(T0 + timedelta(hours=3))},
        headers=headers,
    )
    result = batch.json()["results"][0]
    assert result["ok"] is False
    assert result["details"]["rule"] == "policy: at most 3 calls in 24 hours to one number"


async def test_a_reserving_check_waits_for_the_lock_of_its_number(
    database_url: str, settings: Settings, workers: Workers
) -> None:
    """Held by another session, the (tenant, number) lock keeps a reserving check waiting:
    two batches in two slots or processes reserve one after the other."""
    import asyncpg

    from app.checks.jobs import LOCK_CLASS, lock_key
    from tests.workers import client_of

    app, _, admin, _ = workers
    async with client_of(app) as client:
        tenant_id, headers = await tenant_with_key(client, admin)
        holder = await asyncpg.connect(database_url)
        try:
            await holder.execute(
                "SELECT pg_advisory_lock($1::int, $2::int)",
                LOCK_CLASS,
                lock_key(tenant_id, 3052671299),
            )
            waiting = asyncio.ensure_future(
                _check(client, headers, "+13052671299", T0, reserve=True)
            )
            await asyncio.sleep(0.8)
            assert not waiting.done()
            # a check that does not reserve takes no lock
            plain = await _check(client, headers, "+13052671299", T0)
            assert plain.status_code == 200, plain.text
            await holder.execute("SELECT pg_advisory_unlock_all()")
            answered = await asyncio.wait_for(waiting, 10)
            assert answered.status_code == 200, answered.text
            assert "reservation" in answered.json()
        finally:
            await holder.close()


async def test_a_reserving_batch_of_ten_thousand_numbers_locks_buckets_not_numbers(
    big: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Ten thousand advisory locks would overflow PostgreSQL's lock table (6,400 entries by
    default): the batch locks at most LOCK_BUCKETS buckets and is answered."""
    _, headers = await tenant_with_key(big, admin)
    items = [{"to": f"+1212{2000000 + n:07d}"} for n in range(10_000)]
    batch = await big.post(
        "/v1/checks/batch", json={"items": items, "at": _z(T0), "reserve": True}, headers=headers
    )
    assert batch.status_code == 200, batch.text[:300]
    results = batch.json()["results"]
    assert sum(1 for r in results if "reservation" in r) == batch.json()["summary"]["allowed"]
    assert batch.json()["summary"]["allowed"] > 9_000
