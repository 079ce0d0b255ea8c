"""Where a 10,000-check batch's time and CPU go, A/B between source trees, in one run: the
server's stage timers (CALLGUARD_CHECK_STAGE_TIMERS) and the CPU seconds the server and
PostgreSQL spend per batch, figures that hold on a busy machine better than a batch's wall time.

    .venv/bin/python bench/batch_stages.py --tree /path/to/old/worktree --tree . [--rounds 2]

One embedded PostgreSQL and one database, loaded as bench/checks.py loads it (a global list,
consents, attempts and opt-outs of one tenant), so the trees must share a schema. For each
round and each tree in turn: `callguard serve` (2 workers) from that tree with the stage
timers on, warm-up batches, then the timed ones (the same bodies as bench/checks.py: 5,000
listed numbers and 5,000 others); then the lookup statement alone (this checkout's) for as many
other batches, and the write of a batch's records alone (10,000 records the timed batches
wrote, copied again with new ids into a lane of their own, one COPY as the writer sends them).
Prints, per tree, the medians of each stage (ms, from the server's log), of the batch as the
client saw it, of the lookup alone and of the records' write alone, and the CPU per batch (ms)
of the server's processes and of PostgreSQL's (backends, autovacuum, the WAL writer and
checkpointer alike); then two lower bounds of the batch, as multiples of the lookup: the
lookup and the write alone one after the other (PostgreSQL's part, which no server code
shortens: a check is decided from its lookup, and its record written from its decision), and
the CPU of the server and of PostgreSQL per batch spread over every core (what a batch costs
the machine, as the code stands).
Before each run, `VACUUM check_records` (the records of the runs before are vacuumed then, not
inside this run's CPU figures).
With `--index-ab NAME` (a plain index, not one behind a constraint), each round runs every tree
with that index of check_records and without it (dropped, then made again), the two taking turns
at going first (each run adds records); with `--instead SQL`, other indexes made in its place
rather than none (e.g. a narrower key for the same reads). Each run also times the walk of the
tenant's chains (verification's app/checks/repository/trail.chain_rows, under the service's
statement timeout) to its last row, per record read ("inf": the database gave up, verification's
503).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import asyncpg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from checks import PORT, batch_bodies, load_bench_data, time_batches, time_lookups
from harness import Callguard, log, postgres_cpu

from app.checks.repository import COLUMNS
from app.checks.repository.trail import chain_rows
from app.checks.slots import Lane
from app.core.config import Settings
from app.core.db import Database, is_unavailable
from app.core.embedded import EmbeddedPostgres
from app.core.ids import new_record_ids
from app.core.migrations import upgrade

INDEX_NAME = re.compile(r"CREATE INDEX (\w+) ON check_records\b", re.IGNORECASE)
STAGES = ("prepare_ms", "lookup_ms", "decide_ms", "write_ms")


def stage_lines(path: Path, items: int) -> list[dict[str, float]]:
    lines = path.read_text().splitlines() if path.exists() else []
    found = [json.loads(line) for line in lines if '"check batch stages"' in line]
    return [line for line in found if line.get("items") == items]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", action="append", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--list-rows", type=int, default=10_000_000)
    parser.add_argument("--consents", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--optouts", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=8, help="timed writes alone per round")
    parser.add_argument(
        "--index-ab", metavar="NAME", help="also run each round without this index of check_records"
    )
    parser.add_argument(
        "--instead",
        metavar="SQL",
        help="with --index-ab: make these indexes (CREATE INDEX name ON check_records …; …) "
        "in its place",
    )
    args = parser.parse_args()
    args.kind, args.policy_caps = "registry", False  # as load_bench_data reads them
    trees = [tree.resolve() for tree in args.tree]
    instead = INDEX_NAME.findall(args.instead or "")
    if args.instead and not (instead and args.index_ab):
        parser.error("--instead takes 'CREATE INDEX name ON check_records …; …', with --index-ab")
    other = f" with {' + '.join(instead)} instead" if instead else f" without {args.index_ab}"
    variants = ["", other] if args.index_ab else [""]
    results: dict[tuple[int, str], dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="callguard-bench-stages-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "state") as embedded:
            dsn = embedded.start()
            upgrade(dsn)

            def serve(index: int) -> Callguard:
                server = Callguard(
                    dsn=dsn,
                    state=work / "serve",
                    port=PORT,
                    workers=2,
                    log_path=work / f"serve-{index}.log",
                    env={"CALLGUARD_CHECK_STAGE_TIMERS": "true"},
                    tree=trees[index],
                )
                server.start()
                return server

            data = load_bench_data(dsn, args, lambda: serve(0))
            per_run = args.warmup + 2 * args.batches  # warm-up, timed, then the lookups'
            runs = args.rounds * len(trees) * len(variants)
            bodies = batch_bodies(data.on_list, data.off_list, runs * per_run)
            definition = asyncio.run(index_definition(dsn, args.index_ab))
            for round_ in range(args.rounds):
                # every run adds records: the variants take turns at going first
                for variant in variants if round_ % 2 == 0 else variants[::-1]:
                    if variant:
                        asyncio.run(run_sql(dsn, f'DROP INDEX "{args.index_ab}"'))
                        if instead:
                            asyncio.run(run_sql(dsn, args.instead))
                    for index, tree in enumerate(trees):
                        run_bodies, bodies = bodies[:per_run], bodies[per_run:]
                        # the records of the runs before vacuumed now, not during this one
                        asyncio.run(run_sql(dsn, "VACUUM check_records"))
                        figures = measure(serve, index, data.token, run_bodies, args, embedded)
                        lookups = asyncio.run(
                            time_lookups(dsn, run_bodies[args.warmup + args.batches :], "states")
                        )
                        figures["lookup_alone_ms"] = statistics.median(lookups) * 1000
                        writes = asyncio.run(time_record_writes(dsn, args.writes))
                        figures["write_alone_ms"] = statistics.median(writes) * 1000
                        if args.index_ab:
                            figures["verify_us_per_record"] = asyncio.run(time_chain_walk(dsn))
                        for name, value in figures.items():
                            results.setdefault((index, variant), {}).setdefault(name, [])
                            results[index, variant][name].append(value)
                        log(
                            f"round {round_ + 1} {tree}{variant}: "
                            + ", ".join(f"{name} {value:.1f}" for name, value in figures.items())
                        )
                    if variant:
                        assert definition is not None
                        for name in instead:
                            asyncio.run(run_sql(dsn, f'DROP INDEX "{name}"'))
                        asyncio.run(run_sql(dsn, definition))
    report(trees, variants, results)


def report(
    trees: list[Path], variants: list[str], results: dict[tuple[int, str], dict[str, list[float]]]
) -> None:
    names = list(results[0, ""])
    cores = os.cpu_count() or 1
    print(
        "| tree | " + " | ".join(names) + " | batch / lookup | (lookup + write alone) / lookup "
        f"| CPU over {cores} cores / lookup |"
    )
    print("|---|" + "---|" * (len(names) + 3))
    for variant in variants:
        for index, tree in enumerate(trees):
            medians = {name: statistics.median(results[index, variant][name]) for name in names}
            lookup = medians["lookup_alone_ms"]
            ratio = medians["batch_ms"] / lookup
            floor = (lookup + medians["write_alone_ms"]) / lookup
            cpu = (medians["server_cpu_ms"] + medians["postgres_cpu_ms"]) / cores / lookup
            cells = " | ".join(f"{medians[name]:.1f}" for name in names)
            print(f"| {tree}{variant} | {cells} | {ratio:.2f}x | {floor:.2f}x | {cpu:.2f}x |")


async def run_sql(dsn: str, sql: str) -> None:
    """`sql`, then ANALYZE check_records (a plan after an index change sees the table as is)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
        await conn.execute("ANALYZE check_records")
    finally:
        await conn.close()


async def index_definition(dsn: str, name: str | None) -> str | None:
    """The CREATE INDEX statement of this index of check_records (None for no name)."""
    if name is None:
        return None
    conn = await asyncpg.connect(dsn)
    try:
        definition: str | None = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'check_records' AND indexname = $1",
            name,
        )
    finally:
        await conn.close()
    assert definition is not None, f"check_records has no index {name}"
    return definition


async def time_record_writes(dsn: str, times: int) -> list[float]:
    """The other half of a batch's floor: its 10,000 records written alone. The newest 10,000
    records of the timed batches (the same mix of answers), each time with new ids and a lane
    of their own (so no key repeats), in one binary COPY outside any transaction block, as the
    check writer sends them; the seconds each took, commit included."""
    conn = await asyncpg.connect(dsn)
    try:
        columns = ", ".join(COLUMNS)
        rows = await conn.fetch(
            f"SELECT {columns} FROM check_records WHERE batch ORDER BY decided_at DESC LIMIT 10000"
        )
        assert len(rows) == 10_000, len(rows)
        lane_at = COLUMNS.index("lane")
        seconds = []
        for _ in range(times):
            ids, lane = new_record_ids("chk", len(rows)), Lane().id
            records = [
                (check_id, *row[1:lane_at], lane, *row[lane_at + 1 :])
                for check_id, row in zip(ids, rows, strict=True)
            ]
            started = time.perf_counter()
            await conn.copy_records_to_table(
                "check_records", records=records, columns=list(COLUMNS)
            )
            seconds.append(time.perf_counter() - started)
        return seconds
    finally:
        await conn.close()


async def time_chain_walk(dsn: str) -> float:
    """The walk verification makes (app/checks/repository/trail.chain_rows, with the service's
    statement timeout) over the bench tenant's records, read to the end: µs a record, or
    infinity when the database gave up (verification would answer 503)."""
    database = Database.from_url(dsn, Settings(database_url=dsn))
    try:
        async with database.sessionmaker() as session:
            tenant = await session.scalar(text("SELECT id FROM tenants LIMIT 1"))
            started, records = time.perf_counter(), 0
            try:
                async for rows in chain_rows(session, tenant):
                    records += len(rows)
            except Exception as exc:
                if not is_unavailable(exc):
                    raise
                log(f"the chain walk gave up after {time.perf_counter() - started:.1f} s: {exc}")
                return math.inf
            return (time.perf_counter() - started) / records * 1e6
    finally:
        await database.dispose()


def measure(
    serve: Callable[[int], Callguard],
    index: int,
    token: str,
    bodies: list[list[int]],
    args: argparse.Namespace,
    embedded: EmbeddedPostgres,
) -> dict[str, float]:
    """One run of a tree: its warm-up batches, then the timed ones, with the CPU the server
    and PostgreSQL spent on them; the stages are read from the server's log once it has
    stopped (a normal exit flushes its lines)."""
    server = serve(index)
    before = len(stage_lines(server.log_path, 10_000))
    try:
        time_batches(token, bodies[: args.warmup])
        server_cpu, pg_cpu = server.cpu_seconds(), postgres_cpu(embedded)
        seconds = time_batches(token, bodies[args.warmup : args.warmup + args.batches])
        server_cpu = server.cpu_seconds() - server_cpu
        pg_cpu = postgres_cpu(embedded) - pg_cpu
    finally:
        server.stop()
    lines = stage_lines(server.log_path, 10_000)[before:]
    assert len(lines) == args.warmup + args.batches, (len(lines), server.log_path)
    timed = lines[args.warmup :]
    return {
        "batch_ms": statistics.median(seconds) * 1000,
        "server_cpu_ms": server_cpu * 1000 / args.batches,
        "postgres_cpu_ms": pg_cpu * 1000 / args.batches,
        **{stage: statistics.median(line[stage] for line in timed) for stage in STAGES},
    }


if __name__ == "__main__":
    main()
