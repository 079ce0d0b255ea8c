"""Console reads benchmark (the compliance console, deliverable 1): audit statistics over 90
days of a tenant doing a million checks a day, and the first page of a number's history when
the number has 10,000 events, over HTTP against a real `callguard serve`.

    .venv/bin/python bench/console_reads.py [--other-tenants 200] [--background 1000000]
                                            [--requests 200]

On an embedded PostgreSQL of its own (migrated) it writes, straight into the tables:
  counts    check_counts rows for 90 whole UTC days: the tenant's 1,000,000 checks a day over 8
            writer lanes an hour (what 2 workers of 4 slots leave), and `--other-tenants` more
            tenants of 2 lanes an hour each, so the index holds far more than one tenant;
  history   for one number of the tenant: 8,000 check records, 1,000 single-number DNC changes
            (added and removed in turn) and 1,000 opt-out events (out and in in turn), spread
            over the 90 days; around them `--background` check records of the tenant's other
            numbers and 100,000 change events about other numbers (COPY, through the counting
            trigger, as the check writer writes);
then analyzes, starts `callguard serve` (1 worker) and times, one request at a time after 10
unmeasured ones, `--requests` of each: GET /v1/audit/stats for the 90 days by day and by hour
(with the counts as the writers left them, a row per lane and hour, then again once merged as
upkeep merges them), and GET /v1/numbers/{phone}/history (first page, 100 items). Printed as
Markdown for docs/BENCHMARKS.md, with the bars: stats p95 < 100 ms, history first page p95 <
200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.checks.repository import COLUMNS
from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from harness import Callguard, admin_secret, free_port, log, provenance, tenant_key

PHONE = "+14155552671"
NUMBER = 4155552671
DAYS = 90
CHECKS_PER_DAY = 1_000_000
LANES = 8
CHECKS, DNC_CHANGES, OPTOUT_EVENTS = 8_000, 1_000, 1_000
OTHER_EVENTS = 100_000
STATS_BAR_MS, HISTORY_BAR_MS = 100.0, 200.0
# the share of each outcome in a day of checks (allowed, invalid, opted out, DNC, hours)
SHARES = (0.86, 0.002, 0.004, 0.09, 0.044)
ZERO_HASH = bytes(32)
COPY_CHUNK = 100_000


def hours(start: datetime) -> Iterator[datetime]:
    for hour in range(DAYS * 24):
        yield start + timedelta(hours=hour)


def count_rows(
    tenant: str, start: datetime, lanes: int, per_day: int, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """check_counts rows of one tenant: `per_day` checks a day over `lanes` lanes an hour."""
    per_lane = per_day / 24 / lanes
    for hour in hours(start):
        day = hour.date().isoformat()
        for lane in range(lanes):
            total = per_lane * rng.uniform(0.5, 1.5)
            counts = [int(total * share) for share in SHARES]
            yield (tenant, hour, f"ln_{tenant[-6:]}{day}{lane}", *counts)


def at_random(start: datetime, rng: random.Random) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, DAYS * 86400))


def record(
    i: int, tenant: str, phone: str, decided_at: datetime, rng: random.Random
) -> tuple[Any, ...]:
    """A check record as the writer stores it (the hash chain is not what is measured here)."""
    outcome, error = rng.choice(
        [("allowed", None), ("blocked", "dnc_blocked"), ("blocked", "call_hours_violation")]
    )
    details = json.dumps({"check_id": f"chk_b{i:018d}", "violations": [error] if error else []})
    return (
        f"chk_b{i:018d}",
        decided_at,
        tenant,
        "key_bench",
        f"req_{i:024x}",
        phone,
        decided_at,
        "voice",
        None,
        True,
        outcome,
        error,
        details,
        f"ln_bench{i % LANES}",
        i,
        ZERO_HASH,
        ZERO_HASH,
    )


RECORD_COLUMNS = list(COLUMNS)  # the check writer's own column order


async def ensure_past_partitions(conn: asyncpg.Connection, start: datetime) -> None:
    """Months before this one (the service makes this month's and later ones)."""
    month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while True:
        following = (month + timedelta(days=32)).replace(day=1)
        name = f"check_records_p{month:%Y%m}"
        if await conn.fetchval("SELECT to_regclass($1)", name) is None:
            await conn.execute(
                f"CREATE TABLE {name} PARTITION OF check_records "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{following.isoformat()}')"
            )
        if following > datetime.now(UTC):
            return
        month = following


async def copy_in_chunks(
    conn: asyncpg.Connection, table: str, rows: Iterator[tuple[Any, ...]], columns: list[str]
) -> int:
    written = 0
    while True:
        chunk = [row for _, row in zip(range(COPY_CHUNK), rows, strict=False)]
        if not chunk:
            return written
        await conn.copy_records_to_table(table, records=chunk, columns=columns)
        written += len(chunk)


async def generate(dsn: str, tenant: str, start: datetime, args: argparse.Namespace) -> None:
    rng = random.Random(17)
    conn = await asyncpg.connect(dsn)
    try:
        others = [f"ten_other{i:06d}" for i in range(args.other_tenants)]
        await conn.executemany(
            "INSERT INTO tenants (id, name) VALUES ($1, $2)", [(o, o) for o in others]
        )
        count_columns = ["tenant_id", "hour", "lane", "allowed", "invalid_phone", "opted_out"]
        count_columns += ["dnc_blocked", "call_hours_violation"]
        rows = count_rows(tenant, start, LANES, CHECKS_PER_DAY, rng)
        written = await copy_in_chunks(conn, "check_counts", rows, count_columns)
        for other in others:
            rows = count_rows(other, start, 2, 20_000, rng)
            written += await copy_in_chunks(conn, "check_counts", rows, count_columns)
        log(f"check_counts: {written:,} rows")

        await ensure_past_partitions(conn, start)
        phones = [PHONE] * CHECKS + [
            f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            for _ in range(args.background)
        ]
        rng.shuffle(phones)
        records = (
            record(i, tenant, phone, at_random(start, rng), rng) for i, phone in enumerate(phones)
        )
        written = await copy_in_chunks(conn, "check_records", records, RECORD_COLUMNS)
        log(f"check_records: {written:,} ({CHECKS:,} of {PHONE}), counted by the trigger")

        key = await conn.fetchval(
            "INSERT INTO dnc_lists (id, tenant_id, scope, name, entry_count) "
            "VALUES ('lst_bench', $1, 'tenant', 'bench internal', 1) RETURNING entry_key",
            tenant,
        )
        await conn.execute(
            "INSERT INTO dnc_entries (number, list_key) VALUES ($1, $2)", NUMBER, key
        )
        changes = sorted(at_random(start, rng) for _ in range(DNC_CHANGES))
        events = [
            (
                f"evt_b{i:020d}",
                at,
                tenant,
                "key_bench",
                "dnc_number.added" if i % 2 == 0 else "dnc_number.removed",
                PHONE,
                json.dumps({"list_id": "lst_bench"}),
            )
            for i, at in enumerate(changes)
        ]
        events += [
            (
                f"evt_o{i:020d}",
                at_random(start, rng),
                tenant,
                "key_bench",
                "dnc_number.added",
                f"+1{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}",
                json.dumps({"list_id": "lst_bench"}),
            )
            for i in range(OTHER_EVENTS)
        ]
        event_columns = ["id", "at", "tenant_id", "actor_key_id", "type", "target", "details"]
        await conn.copy_records_to_table("change_events", records=events, columns=event_columns)
        moments = sorted(at_random(start, rng) for _ in range(OPTOUT_EVENTS))
        optouts = [
            (
                f"oo_b{i:020d}",
                tenant,
                NUMBER,
                rng.choice(["voice", "sms", "all"]),
                "opt_out" if i % 2 == 0 else "opt_in",
                "api",
                at,
            )
            for i, at in enumerate(moments)
        ]
        optout_columns = ["id", "tenant_id", "number", "channel", "kind", "source", "occurred_at"]
        await conn.copy_records_to_table("optout_events", records=optouts, columns=optout_columns)
        log(
            f"{PHONE}: {CHECKS:,} checks, {DNC_CHANGES:,} DNC changes, {OPTOUT_EVENTS:,} "
            f"opt-out events; {OTHER_EVENTS:,} other change events"
        )
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def compact(dsn: str) -> str:
    """What upkeep does every round: merge the lanes of past hours; the row counts."""
    conn = await asyncpg.connect(dsn)
    try:
        before = await conn.fetchval("SELECT count(*) FROM check_counts")
        await conn.fetchval(
            "SELECT compact_check_counts(date_trunc('hour', now(), 'UTC') - interval '1 hour')"
        )
        await conn.execute("VACUUM ANALYZE check_counts")
        after = await conn.fetchval("SELECT count(*) FROM check_counts")
        return f"{before:,} rows before, {after:,} after"
    finally:
        await conn.close()


def timed(client: httpx.Client, path: str, requests: int, check: Any) -> list[float]:
    """Milliseconds of `requests` GETs, one at a time, after 10 unmeasured ones."""
    for _ in range(10):
        client.get(path).raise_for_status()
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    check(response.json())
    return times


def p95(times: list[float]) -> float:
    return statistics.quantiles(times, n=20)[18]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--other-tenants", type=int, default=200)
    parser.add_argument("--background", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callguard-bench-console-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "pg") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            bench(args, dsn, work)


def bench(args: argparse.Namespace, dsn: str, work: Path) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=DAYS)
    admin = asyncio.run(admin_secret(dsn))
    server = Callguard(
        dsn=dsn, state=work / "state", port=free_port(), workers=1, log_path=work / "serve.log"
    )
    server.start()
    try:
        tenant, secret = tenant_key(server.base, admin, "bench", ["audit:read"])
        started = time.monotonic()
        asyncio.run(generate(dsn, tenant, start, args))
        log(f"generated and analyzed in {time.monotonic() - started:.0f} s")
        window = f"since={start.isoformat()}&until={today.isoformat()}".replace("+", "%2B")
        headers = {"Authorization": f"Bearer {secret}"}
        results: dict[str, tuple[list[float], float]] = {}
        with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
            # first as the writers left the counts (a row per lane and hour), then as upkeep
            # leaves them within 10 minutes (one row per tenant and hour)
            for state in ("as written", "compacted"):
                if state == "compacted":
                    rows = asyncio.run(compact(dsn))
                    log(f"compacted: check_counts {rows}")
                for bucket, count in (("day", DAYS), ("hour", DAYS * 24)):

                    def buckets(body: Any, count: int = count) -> None:
                        assert len(body["buckets"]) == count, len(body["buckets"])
                        assert body["totals"]["allowed"] > 0.8 * DAYS * CHECKS_PER_DAY

                    path = f"/v1/audit/stats?{window}&bucket={bucket}"
                    results[f"GET /v1/audit/stats, 90 days by {bucket}, counts {state}"] = (
                        timed(client, path, args.requests, buckets),
                        STATS_BAR_MS,
                    )

            def first_page(body: Any) -> None:
                assert len(body["data"]) == 100, body
                assert body["next_cursor"], body
                assert body["now"]["lists"][0]["list_id"] == "lst_bench"

            path = f"/v1/numbers/{PHONE.replace('+', '%2B')}/history"
            results["GET /v1/numbers/{phone}/history, first page of 100"] = (
                timed(client, path, args.requests, first_page),
                HISTORY_BAR_MS,
            )
    finally:
        server.stop()
    report(args, dsn, results)


def report(
    args: argparse.Namespace, dsn: str, results: dict[str, tuple[list[float], float]]
) -> None:
    print()
    print(
        f"`.venv/bin/python bench/console_reads.py --other-tenants {args.other_tenants} "
        f"--background {args.background} --requests {args.requests}`"
    )
    print()
    for line in provenance(dsn):
        print(line)
    print()
    print("| request | p50 ms | p95 ms | max ms | bar (p95) | met |")
    print("|---|---|---|---|---|---|")
    for name, (times, bar) in results.items():
        met = "yes" if p95(times) < bar else "**no**"
        print(
            f"| {name} | {statistics.median(times):.1f} | {p95(times):.1f} | "
            f"{max(times):.1f} | < {bar:.0f} ms | {met} |"
        )


if __name__ == "__main__":
    main()
