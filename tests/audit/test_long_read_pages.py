"""The long reads in keyset pages (one short statement each, so a tenant with millions of records
does not wait for one sort of them all). Verification: a page boundary inside a lane, between
lanes and between tenants neither breaks a chain nor hides a tampered or missing record. A
tenant's CSV export: every matching record once, newest first, however the pages fall."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.checks.models import check_records
from app.checks.repository import owners as every_owner
from app.checks.repository import trail
from tests.audit.test_audit import INSIDE
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

PAGE = 4


async def _records(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """Thirty decisions of one tenant: a batch of twelve, then eighteen singles, six at a time
    (in flight together, so the writer's slots take them in more than one lane)."""
    batch = await client.post(
        "/v1/checks/batch",
        json={"items": [{"to": f"+1212555{n:04d}"} for n in range(2000, 2012)], "at": INSIDE},
        headers=headers,
    )
    assert batch.status_code == 200
    for group in range(3):
        answers = await asyncio.gather(
            *(
                client.post(
                    "/v1/checks",
                    json={"to": f"+1415555{3000 + group * 6 + n:04d}"},
                    headers=headers,
                )
                for n in range(6)
            )
        )
        assert all(_recorded(answer) for answer in answers)
    return 30


def _recorded(answer: httpx.Response) -> bool:
    body = answer.json()
    return bool(body.get("check_id") or body.get("details", {}).get("check_id"))


async def _chain_order(connection: AsyncConnection, tenant_id: str) -> list[tuple[str, str, int]]:
    rows = await connection.execute(
        text(
            "SELECT id, lane, lane_seq FROM check_records WHERE tenant_id = :t "
            "ORDER BY lane, lane_seq"
        ),
        {"t": tenant_id},
    )
    return [(row.id, row.lane, row.lane_seq) for row in rows]


async def test_a_tenants_chains_verify_across_page_boundaries(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(trail, "CHAIN_PAGE", PAGE)
    tenant_id, headers = await tenant_with_key(client, admin)
    made = await _records(client, headers)
    order = await _chain_order(connection, tenant_id)
    assert len(order) == made
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert (verdict["ok"], verdict["records"], verdict["tenants"]) == (True, made, 1)
    assert verdict["first_bad"] is None

    # the first record of the second page (the first page ends on the record before it)
    tampered = order[PAGE][0]
    phone = await connection.scalar(
        text("SELECT phone FROM check_records WHERE id = :id"), {"id": tampered}
    )
    await _tamper(connection, tampered, "+12125550000")
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert (verdict["ok"], verdict["first_bad"], verdict["records"]) == (False, tampered, made)
    await _tamper(connection, tampered, phone)
    assert (await client.get("/v1/audit/verify", headers=headers)).json()["ok"] is True

    # the first record of a page inside a lane gone: the page before ends on the record before
    # the gap, the next begins on the record after it
    boundary = next(
        i for i in range(PAGE, made - 1, PAGE) if order[i - 1][1] == order[i][1] == order[i + 1][1]
    )  # the batch's twelve records share a lane, so some page boundary falls inside one
    await connection.execute(text("SET session_replication_role = replica"))
    await connection.execute(
        text("DELETE FROM check_records WHERE id = :id"), {"id": order[boundary][0]}
    )
    await connection.execute(text("SET session_replication_role = DEFAULT"))
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert (verdict["ok"], verdict["first_bad"], verdict["records"]) == (
        False,
        order[boundary + 1][0],
        made - 1,
    )


async def test_a_second_record_at_a_pages_last_position_is_found(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A forged copy of a record (a new id, the same lane and place in it, the same hashes)
    placed where a page ends: nothing makes the place unique, so the walk must read it."""
    monkeypatch.setattr(trail, "CHAIN_PAGE", PAGE)
    tenant_id, headers = await tenant_with_key(client, admin)
    made = await _records(client, headers)
    original = (await _chain_order(connection, tenant_id))[PAGE - 1][0]
    await connection.execute(text("SET session_replication_role = replica"))
    await connection.execute(
        text(
            "INSERT INTO check_records SELECT 'chk_forged' || substr(id, 5), "
            + ", ".join(column.name for column in check_records.columns if column.name != "id")
            + " FROM check_records WHERE id = :id"
        ),
        {"id": original},
    )
    await connection.execute(text("SET session_replication_role = DEFAULT"))
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert (verdict["ok"], verdict["records"]) == (False, made + 1)
    assert verdict["first_bad"] in (original, "chk_forged" + original[4:])


async def _tamper(connection: AsyncConnection, record_id: str, phone: str) -> None:
    await connection.execute(text("SET session_replication_role = replica"))
    await connection.execute(
        text("UPDATE check_records SET phone = :phone WHERE id = :id"),
        {"id": record_id, "phone": phone},
    )
    await connection.execute(text("SET session_replication_role = DEFAULT"))


async def test_every_tenants_walk_in_pages_counts_every_record_once(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tenant_a, a = await tenant_with_key(client, admin)
    _, b = await tenant_with_key(client, admin)
    await _records(client, a)
    await _records(client, b)
    platform = await client.post("/v1/checks", json={"to": "+14155552671"}, headers=admin)
    assert _recorded(platform)
    whole = (await client.get("/v1/audit/verify", headers=admin)).json()
    # pages shorter than one of these tenants' thirty records: boundaries between tenants too
    monkeypatch.setattr(trail, "CHAIN_PAGE", 29)
    paged = (await client.get("/v1/audit/verify", headers=admin)).json()
    assert paged == whole
    counted = (
        await connection.execute(
            text(
                "SELECT count(*) AS records, count(DISTINCT tenant_id) "
                "+ (bool_or(tenant_id IS NULL))::int AS tenants FROM check_records"
            )
        )
    ).one()
    assert (paged["records"], paged["tenants"]) == (counted.records, counted.tenants)
    assert paged["ok"] is True, paged
    # a tampered record of one tenant is found however the pages fall
    first = (await _chain_order(connection, tenant_a))[0][0]
    await _tamper(connection, first, "+12125550000")
    paged = (await client.get("/v1/audit/verify", headers=admin)).json()
    assert (paged["ok"], paged["first_bad"], paged["first_bad_tenant_id"]) == (
        False,
        first,
        tenant_a,
    )


async def _every_page(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int = 7, **params: str
) -> list[dict[str, str]]:
    """Every page of the audit listing, `limit` records a page, concatenated (at most 100
    pages: a cursor that does not move on fails rather than loops)."""
    listed: list[dict[str, str]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {**params, "limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = await client.get("/v1/audit/checks", params=query, headers=headers)
        assert page.status_code == 200, page.text
        listed += page.json()["data"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return listed
    raise AssertionError("the listing did not end within 100 pages")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("merge", [True, False], ids=["merged", "sorted"])
async def test_every_tenants_pages_merge_each_owners_records_newest_first(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
    merge: bool,
) -> None:
    """A platform key's listing merges each tenant's and the platform's own records (or, when
    the catalog's estimates say the owners are many for the records, sorts them all): every
    record once, in the order of one sort of them all, however the pages fall, with records of
    several owners decided at the same instant (one batch of the writer holds them all). Pages
    shorter than the owners are many take the merge's bound (its newest heads)."""
    merged: list[tuple[Any, ...]] = []
    build = every_owner.every_owners_page

    def spy(*args: Any, **kwargs: Any) -> Any:
        merged.append(args)
        return build(*args, **kwargs)

    async def chosen(session: Any) -> bool:
        return merge

    monkeypatch.setattr(every_owner, "every_owners_page", spy)
    monkeypatch.setattr(every_owner, "merge_pays", chosen)
    owners = [(await tenant_with_key(client, admin))[1] for _ in range(3)]
    for headers in owners[:2]:
        await _records(client, headers)
    shared = "+14155550100"  # one number checked by every owner, the platform too, together
    for headers in [*owners, admin]:  # one at a time first: each key then known to the app
        assert _recorded(await client.post("/v1/checks", json={"to": shared}, headers=headers))
    for _ in range(2):
        answers = await asyncio.gather(
            *(
                client.post("/v1/checks", json={"to": shared}, headers=headers)
                for headers in [*owners, admin]
            )
        )
        assert all(_recorded(answer) for answer in answers)
    listed = await _every_page(client, admin)
    assert bool(merged) is merge, "the merged page was not the one chosen"
    expected = (
        await connection.execute(
            text('SELECT id FROM check_records ORDER BY decided_at DESC, id COLLATE "C" DESC')
        )
    ).scalars()
    assert [record["check_id"] for record in listed] == list(expected)
    assert len({record["tenant_id"] for record in listed}) == 4  # three tenants, the platform
    owners_at: dict[str, set[str | None]] = {}
    for record in listed:
        owners_at.setdefault(record["decided_at"], set()).add(record["tenant_id"])
    assert any(len(tenants) > 1 for tenants in owners_at.values()), "no instant shared"
    for limit in (1, 2, 3):  # fewer than the four owners: pages bounded by their heads
        assert await _every_page(client, admin, limit) == listed
    for limit in (2, 3, 7):
        one_number = await _every_page(client, admin, limit, phone=shared)
        assert [record["check_id"] for record in one_number] == [
            record["check_id"] for record in listed if record["phone"] == shared
        ]
        assert len(one_number) == 12
    instants = sorted({_instant(record["decided_at"]) for record in listed})
    since = instants[len(instants) // 2]
    recent = await _every_page(client, admin, 5, since=since.isoformat())
    assert [record["check_id"] for record in recent] == [
        record["check_id"] for record in listed if _instant(record["decided_at"]) >= since
    ]
    assert 0 < len(recent) < len(listed)
    since, until = instants[len(instants) // 4], instants[len(instants) * 3 // 4]
    middle = await _every_page(client, admin, 2, since=since.isoformat(), until=until.isoformat())
    assert [record["check_id"] for record in middle] == [
        record["check_id"] for record in listed if since <= _instant(record["decided_at"]) < until
    ]
    assert 0 < len(middle) < len(listed)
    # a filter the owners' indexes do not order: the one sort, the same records
    merged.clear()
    allowed = await _every_page(client, admin, outcome="allowed")
    assert not merged
    assert [record["check_id"] for record in allowed] == [
        record["check_id"] for record in listed if record["outcome"] == "allowed"
    ]


def test_the_merge_is_chosen_where_the_records_outnumber_the_owners() -> None:
    """The lab's cases (docs/BENCHMARKS.md, issue 22, tenth round), seven partitions: merged
    where it was the faster, sorted where the sort was; sorted with no estimate of the owners."""
    assert every_owner.merge_chosen(7, 1_000_000, 50)  # 13-26 ms against 119-143
    assert every_owner.merge_chosen(7, 4_800_000, 50)
    assert not every_owner.merge_chosen(7, 1_000_000, 10_000)  # 440-616 against 117-151
    assert not every_owner.merge_chosen(7, 100_000, 5_000)  # 152-256 against 30-45
    assert not every_owner.merge_chosen(7, 1_000_000, None)


async def test_the_catalogs_estimates_count_the_records_partitions_and_owners(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    for _ in range(2):
        _, headers = await tenant_with_key(client, admin)
        await _records(client, headers)
    await connection.execute(text("ANALYZE check_records"))
    await connection.execute(text("ANALYZE check_counts"))
    estimates = (await connection.execute(every_owner.ESTIMATES)).one()
    actual = (
        await connection.execute(
            text(
                "SELECT (SELECT count(*) FROM check_records) AS records, "
                "(SELECT count(DISTINCT tenant_id) FROM check_counts) AS owners, "
                "(SELECT count(*) FROM pg_inherits "
                "WHERE inhparent = 'check_records'::regclass) AS partitions"
            )
        )
    ).one()
    assert (estimates.records, estimates.owners, estimates.partitions) == (
        actual.records,
        actual.owners,
        actual.partitions,
    )
    assert actual.owners == 2


async def _merged_rows(connection: AsyncConnection, stmt: Any) -> int:
    """How many records the merged statement read from the owners' pages (the rows its final
    sort took), by EXPLAIN ANALYZE."""
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    plan = (
        await connection.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}"))
    ).scalar_one()
    top = plan[0]["Plan"]
    (final,) = [node for node in top["Plans"] if node["Parent Relationship"] == "Outer"]
    assert final["Node Type"] == "Sort", final["Node Type"]
    return int(final["Plans"][0]["Actual Rows"])


async def test_the_merge_reads_only_the_owners_on_the_page(connection: AsyncConnection) -> None:
    """Twenty owners' records, written straight (after every other record: an hour ahead):
    owner k's newest at k seconds before the others' start, the rest a minute apart. A page of
    five reads the five newest owners' records at or after the fifth head, not five of every
    owner; with a number or a range, the same rows as one sort."""
    start = datetime.now(UTC) + timedelta(hours=1)
    rows = [
        {
            "id": f"chk_lab{k:02d}{j:02d}",
            "at": start - timedelta(seconds=k, minutes=j),
            "tenant": f"ten_lab{k:02d}",
            "phone": "+14155550100" if j == 0 else "+14155550199",
            "seq": j,
        }
        for k in range(20)
        for j in range(10)
    ]
    await connection.execute(
        text(
            "INSERT INTO check_records (id, decided_at, tenant_id, request_id, phone, at, "
            "channel, outcome, details, lane, lane_seq, prev_hash, hash) VALUES (:id, :at, "
            ":tenant, 'r', :phone, :at, 'voice', 'allowed', '{}', 'lab', :seq, '', '')"
        ),
        rows,
    )
    after = start - timedelta(minutes=30)  # only these records: the ones of other tests apart

    async def both(flt: trail.CheckFilter, limit: int) -> list[str]:
        conditions = [*flt.where(), check_records.c.decided_at >= after]
        merged = every_owner.every_owners_page(conditions, None, limit)
        sort = trail._newest_first(flt).where(check_records.c.decided_at >= after).limit(limit)
        ids = [row.id for row in await connection.execute(merged)]
        assert ids == [row.id for row in await connection.execute(sort)]
        return ids

    every = trail.CheckFilter(None, True)
    assert await both(every, 5) == [f"chk_lab{k:02d}00" for k in range(5)]
    assert (
        await _merged_rows(
            connection,
            every_owner.every_owners_page(
                [*every.where(), check_records.c.decided_at >= after], None, 5
            ),
        )
        == 5
    )  # the unbounded merge read 5 of each of the twenty owners: 100
    # the number of every owner's older records: each owner's newest match is its second
    older = await both(trail.CheckFilter(None, True, phone="+14155550199"), 5)
    assert older == [f"chk_lab{k:02d}01" for k in range(5)]
    # a range: the first half minute of the newest records
    until = start - timedelta(seconds=7)
    ranged = await both(trail.CheckFilter(None, True, until=until), 6)
    assert ranged == [f"chk_lab{k:02d}00" for k in range(8, 14)]


async def test_a_tenants_csv_export_in_pages_has_every_match_once_newest_first(
    client: httpx.AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, headers = await tenant_with_key(client, admin)
    made = await _records(client, headers)
    listed = await _every_page(client, headers)
    assert len(listed) == made
    monkeypatch.setattr(trail, "STREAM_ROWS", PAGE)
    csv_headers = {**headers, "Accept": "text/csv"}
    exported = await client.get("/v1/audit/checks", headers=csv_headers)
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [row["check_id"] for row in rows] == [record["check_id"] for record in listed]
    allowed = await client.get(
        "/v1/audit/checks", params={"outcome": "allowed"}, headers=csv_headers
    )
    allowed_rows = list(csv.DictReader(io.StringIO(allowed.text)))
    assert [row["check_id"] for row in allowed_rows] == [
        record["check_id"] for record in listed if record["outcome"] == "allowed"
    ]
    assert allowed_rows, "the batch's numbers in calling hours are allowed"


async def test_every_tenants_csv_export_has_every_record(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    _, headers = await tenant_with_key(client, admin)
    await _records(client, headers)
    exported = await client.get("/v1/audit/checks", headers={**admin, "Accept": "text/csv"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == await connection.scalar(text("SELECT count(*) FROM check_records"))
    instants = [row["decided_at"] for row in rows]
    assert instants == sorted(instants, reverse=True)


async def test_pages_from_one_snapshot_on_a_live_app(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in production: the app's own connections (no test transaction around them), so the
    walk and the export run in their REPEATABLE READ snapshot, page after page."""
    monkeypatch.setattr(trail, "CHAIN_PAGE", PAGE)
    monkeypatch.setattr(trail, "STREAM_ROWS", PAGE)
    app, _, admin, _ = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        made = await _records(client, headers)
        verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
        assert (verdict["ok"], verdict["records"], verdict["first_bad"]) == (True, made, None)
        exported = await client.get("/v1/audit/checks", headers={**headers, "Accept": "text/csv"})
        rows = list(csv.DictReader(io.StringIO(exported.text)))
        assert len({row["check_id"] for row in rows}) == len(rows) == made
        instants = [row["decided_at"] for row in rows]
        assert instants == sorted(instants, reverse=True)
