"""GET /v1/audit/stats: decisions per hour or day by outcome, from the hourly counts that the
check writer's statement keeps (a trigger on check_records), equal to what the records say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

OUTCOMES = ("allowed", "invalid_phone", "opted_out", "dnc_blocked", "call_hours_violation")
# Monday 09:30 in New York (allowed there), 06:30 in California (too early)
MORNING = "2026-11-23T14:30:00Z"
NXX = [n for n in range(200, 1000) if n % 100 != 11 and n != 555]


def numbers(npa: str, count: int, start: int = 0) -> list[str]:
    return [
        f"+1{npa}{NXX[(start + i) % len(NXX)]}{(start + i) // len(NXX):04d}" for i in range(count)
    ]


async def _listed_and_opted_out(
    client: httpx.AsyncClient, headers: dict[str, str], listed: list[str], opted: list[str]
) -> None:
    created = await client.post("/v1/dnc/lists", json={"name": "internal"}, headers=headers)
    list_id = created.json()["id"]
    for phone in listed:
        response = await client.put(f"/v1/dnc/lists/{list_id}/numbers/{phone}", headers=headers)
        assert response.status_code == 201, response.text
    for phone in opted:
        response = await client.post("/v1/opt-outs", json={"phone": phone}, headers=headers)
        assert response.status_code == 201, response.text


async def _batch(
    client: httpx.AsyncClient, headers: dict[str, str], items: list[dict[str, Any]]
) -> dict[str, int]:
    response = await client.post(
        "/v1/checks/batch", json={"items": items, "at": MORNING}, headers=headers
    )
    assert response.status_code == 200, response.text
    summary: dict[str, int] = response.json()["summary"]
    return summary


async def _record_counts(connection: AsyncConnection, tenant_id: str) -> dict[str, int]:
    row = (
        await connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE outcome = 'allowed') AS allowed, "
                "count(*) FILTER (WHERE outcome = 'invalid') AS invalid_phone, "
                "count(*) FILTER (WHERE error = 'opted_out') AS opted_out, "
                "count(*) FILTER (WHERE error = 'dnc_blocked') AS dnc_blocked, "
                "count(*) FILTER (WHERE error = 'call_hours_violation') AS call_hours_violation "
                "FROM check_records WHERE tenant_id = :t"
            ),
            {"t": tenant_id},
        )
    ).one()
    return dict(row._mapping)


async def _stats(client: httpx.AsyncClient, headers: dict[str, str], query: str = "") -> Any:
    response = await client.get(f"/v1/audit/stats{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_counts_equal_the_records_after_singles_and_both_batch_writes(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    ny, ca = numbers("212", 700), numbers("415", 200)
    await _listed_and_opted_out(client, headers, listed=ny[:5], opted=ny[5:8])
    expected = dict.fromkeys(OUTCOMES, 0)
    for body in (
        {"to": ny[0], "at": MORNING},
        {"to": ny[5], "at": MORNING},
        {"to": ca[0], "at": MORNING},
        {"to": ny[100], "at": MORNING},
        {"to": "+1415"},
    ):
        answer = (await client.post("/v1/checks", json=body, headers=headers)).json()
        expected["allowed" if answer.get("ok") else answer["error"]] += 1
    # under the COPY threshold (one INSERT … unnest), then over it (binary COPY)
    small = [{"to": phone} for phone in ny[:50] + ca[:40]] + [{"to": "nope"}] * 10
    big = [{"to": phone} for phone in ny[:500] + ca[:150]] + [{"to": "+1212555"}] * 20
    assert len(small) < 500 <= len(big)
    for items in (small, big):
        for outcome, count in (await _batch(client, headers, items)).items():
            expected[outcome] += count

    stats = await _stats(client, headers)
    records = await _record_counts(connection, tenant_id)
    assert stats["totals"] == records == expected
    assert all(records[outcome] > 0 for outcome in OUTCOMES), records
    assert stats["bucket"] == "hour"
    assert len(stats["buckets"]) == 24
    summed = {o: sum(b[o] for b in stats["buckets"]) for o in OUTCOMES}
    assert summed == expected

    # one row per lane and hour: a batch adds to its lane's row, never to another slot's
    rows, keys = (
        await connection.execute(
            text(
                "SELECT (SELECT count(*) FROM check_counts WHERE tenant_id = :t), "
                "(SELECT count(DISTINCT (lane, date_trunc('hour', decided_at, 'UTC'))) "
                "FROM check_records WHERE tenant_id = :t)"
            ),
            {"t": tenant_id},
        )
    ).one()
    assert rows == keys


async def test_days_sum_their_hours_in_utc_and_ranges_round_to_whole_buckets(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    for hour, lane, column, count in (
        ("2026-01-10T00:00Z", "ln_a", "allowed", 5),
        ("2026-01-10T23:00Z", "ln_a", "dnc_blocked", 2),
        ("2026-01-10T23:00Z", "ln_b", "dnc_blocked", 3),
        ("2026-01-11T05:00Z", "ln_a", "invalid_phone", 4),
        ("2026-01-11T05:00Z", "ln_b", "opted_out", 1),
        ("2026-01-11T23:00Z", "ln_b", "call_hours_violation", 6),
        ("2026-01-12T00:00Z", "ln_a", "allowed", 100),  # past `until`
    ):
        zeros = dict.fromkeys(OUTCOMES, 0)
        await connection.execute(
            text(
                "INSERT INTO check_counts (tenant_id, hour, lane, allowed, invalid_phone, "
                "opted_out, dnc_blocked, call_hours_violation) VALUES (:t, :h, :l, :allowed, "
                ":invalid_phone, :opted_out, :dnc_blocked, :call_hours_violation)"
            ),
            {"t": tenant_id, "h": datetime.fromisoformat(hour), "l": lane, **zeros, column: count},
        )
    # 07:00 at +02:00 is 05:00 UTC, rounded down to the 10th; until is rounded up to the 12th
    days = await _stats(
        client,
        headers,
        "?bucket=day&since=2026-01-10T07:00:00%2B02:00&until=2026-01-11T12:00:00Z",
    )
    assert (days["since"], days["until"], days["bucket"]) == (
        "2026-01-10T00:00:00Z",
        "2026-01-12T00:00:00Z",
        "day",
    )
    assert days["buckets"] == [
        {
            "start": "2026-01-10T00:00:00Z",
            "allowed": 5,
            "invalid_phone": 0,
            "opted_out": 0,
            "dnc_blocked": 5,
            "call_hours_violation": 0,
        },
        {
            "start": "2026-01-11T00:00:00Z",
            "allowed": 0,
            "invalid_phone": 4,
            "opted_out": 1,
            "dnc_blocked": 0,
            "call_hours_violation": 6,
        },
    ]
    assert days["totals"] == {
        "allowed": 5,
        "invalid_phone": 4,
        "opted_out": 1,
        "dnc_blocked": 5,
        "call_hours_violation": 6,
    }
    hours = await _stats(client, headers, "?since=2026-01-10T22:30:00Z&until=2026-01-11T00:00:01Z")
    assert [(b["start"], b["dnc_blocked"]) for b in hours["buckets"]] == [
        ("2026-01-10T22:00:00Z", 0),
        ("2026-01-10T23:00:00Z", 5),
        ("2026-01-11T00:00:00Z", 0),
    ]
    assert hours["until"] == "2026-01-11T01:00:00Z"


async def test_each_tenant_sees_its_own_counts_and_an_admin_any(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_a, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    await _batch(client, a, [{"to": phone} for phone in numbers("212", 30)])
    mine = (await _stats(client, a))["totals"]
    assert mine["allowed"] == 30
    assert set((await _stats(client, b))["totals"].values()) == {0}
    assert (await _stats(client, admin, f"?tenant_id={tenant_a}"))["totals"] == mine
    everyone = (await _stats(client, admin))["totals"]
    assert everyone["allowed"] >= 30
    assert_envelope(
        await client.get(f"/v1/audit/stats?tenant_id={tenant_a}", headers=b), 404, "not_found"
    )


async def test_a_key_without_audit_read_is_refused(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    tenant_id, _ = await tenant_with_key(client, admin)
    _, dialer = await create_key(client, admin, tenant_id=tenant_id, scopes=["checks:write"])
    body = assert_envelope(
        await client.get("/v1/audit/stats", headers=dialer), 403, "scope_required"
    )
    assert body["details"] == {"required_scope": "audit:read"}


async def test_bad_ranges_are_validation_failed(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    for query, field in (
        ("?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "since"),
        ("?since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since"),
        ("?since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since"),  # 52,584 hours
        ("?bucket=week", "bucket"),
        ("?since=2026-01-01T00:00:00", "since"),  # no offset
    ):
        response = await client.get(f"/v1/audit/stats{query}", headers=headers)
        body = assert_envelope(response, 400, "validation_failed")
        assert body["details"]["fields"][0]["field"] == field, (query, body)
    # the same years by the day are 2,192 buckets: fine
    response = await client.get(
        "/v1/audit/stats?bucket=day&since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z",
        headers=headers,
    )
    assert response.status_code == 200
    assert len(response.json()["buckets"]) == 2192


async def _count(
    connection: AsyncConnection,
    tenant_id: str,
    hour: datetime,
    lane: str,
    allowed: int,
    call_hours_violation: int = 0,
) -> None:
    """A row of check_counts written straight (as a lane, or as an earlier merge left it)."""
    await connection.execute(
        text(
            "INSERT INTO check_counts (tenant_id, hour, lane, allowed, invalid_phone, "
            "opted_out, dnc_blocked, call_hours_violation) "
            "VALUES (:t, :h, :l, :a, 0, 0, 0, :c)"
        ),
        {"t": tenant_id, "h": hour, "l": lane, "a": allowed, "c": call_hours_violation},
    )


async def test_compaction_merges_the_lanes_of_past_hours_and_keeps_every_count(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    past = this_hour - timedelta(hours=5)
    for hour, lane, allowed in (
        (past, "ln_a", 1),
        (past, "ln_b", 2),
        (past, "", 4),  # merged by an earlier round
        (this_hour, "ln_a", 8),
        (this_hour, "ln_b", 16),
    ):
        await _count(connection, tenant_id, hour, lane, allowed)
    until = this_hour + timedelta(hours=1)
    query = f"?since={past.isoformat()}&until={until.isoformat()}".replace("+", "%2B")
    before = await _stats(client, headers, query)
    assert before["totals"]["allowed"] == 31
    merged = await connection.scalar(
        text("SELECT compact_check_counts(date_trunc('hour', now(), 'UTC') - interval '1 hour')")
    )
    assert merged >= 2
    rows = (
        await connection.execute(
            text(
                "SELECT hour, lane, allowed FROM check_counts WHERE tenant_id = :t "
                "ORDER BY hour, lane"
            ),
            {"t": tenant_id},
        )
    ).all()
    assert [tuple(row) for row in rows] == [
        (past, "", 7),
        (this_hour, "ln_a", 8),
        (this_hour, "ln_b", 16),
    ]
    assert await _stats(client, headers, query) == before


async def test_every_tenants_counts_sum_each_tenants_before_and_after_merges(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    """A platform key's statistics of every tenant read, for the hours upkeep has merged, their
    row of every tenant (migration 0021), and the lanes not merged yet: the same totals as each
    tenant's own, before a merge, after it, with a lane written late into a merged hour, and
    after that lane's merge."""
    a_id, a = await tenant_with_key(client, admin)
    b_id, b = await tenant_with_key(client, admin)
    this_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    past, older = this_hour - timedelta(hours=5), this_hour - timedelta(hours=30)

    async def count(tenant: str, hour: datetime, lane: str, allowed: int) -> None:
        await _count(connection, tenant, hour, lane, allowed, call_hours_violation=1)

    until = this_hour + timedelta(hours=1)
    hours = f"?since={older.isoformat()}&until={until.isoformat()}".replace("+", "%2B")
    days = f"{hours}&bucket=day"
    # counts committed by other tests, if any, are there throughout: compared as they add
    baseline = await _stats(client, admin, hours)
    for tenant, hour, lane, allowed in (
        (a_id, past, "ln_a", 1),
        (a_id, past, "ln_b", 2),
        (b_id, past, "ln_a", 4),
        (b_id, older, "ln_c", 8),
        (a_id, this_hour, "ln_a", 16),
        ("", past, "ln_a", 64),  # the platform's own checks
    ):
        await count(tenant, hour, lane, allowed)
    platform = {past.isoformat().replace("+00:00", "Z"): 64}

    async def every_and_each() -> tuple[Any, Any]:
        every = await _stats(client, admin, hours)
        mine, theirs = await _stats(client, a, hours), await _stats(client, b, hours)
        assert {bucket["start"]: bucket["allowed"] for bucket in every["buckets"]} == {
            base["start"]: base["allowed"]
            + one["allowed"]
            + two["allowed"]
            + platform.get(base["start"], 0)
            for base, one, two in zip(
                baseline["buckets"], mine["buckets"], theirs["buckets"], strict=True
            )
        }
        assert every["totals"]["call_hours_violation"] == (
            baseline["totals"]["call_hours_violation"]
            + mine["totals"]["call_hours_violation"]
            + theirs["totals"]["call_hours_violation"]
            + 1
        )
        return every, await _stats(client, admin, days)

    async def merge() -> list[tuple[Any, ...]]:
        await connection.execute(
            text(
                "SELECT compact_check_counts(date_trunc('hour', now(), 'UTC') - interval '1 hour')"
            )
        )
        rows = await connection.execute(
            text("SELECT hour, allowed FROM check_counts WHERE tenant_id = '*' ORDER BY hour")
        )
        return [tuple(row) for row in rows]

    before = await every_and_each()
    assert before[0]["totals"]["allowed"] - baseline["totals"]["allowed"] == 95
    assert await merge() == [(older, 8), (past, 71)]
    assert await every_and_each() == before
    await count(b_id, past, "ln_d", 32)  # a batch of the merged hour, committed late
    late = await every_and_each()
    assert late[0]["totals"]["allowed"] - baseline["totals"]["allowed"] == 127
    assert await merge() == [(older, 8), (past, 103)]
    assert await every_and_each() == late
