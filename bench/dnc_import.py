"""DNC import benchmark (issue 5): the upload path against a raw COPY, measured in one run.

    .venv/bin/python bench/dnc_import.py [--rows 10000000] [--repeat 3] [--kind internal|registry]
        [--database-url URL]

Generates a file of random valid NANP numbers (one per line, in random order), then, `repeat`
times each and reporting medians:
  baseline  raw COPY of the same numbers, as integers in file order, into a bare table with a
            bigint primary key;
  append    the real upload path (app.uploads.importer.run_upload) into an empty list;
  replace   the same list replaced by a file that differs by 1% (0.5% removed, 0.5% new).
It prints a Markdown table for docs/BENCHMARKS.md, with the ratios the issue asks for and the
bytes each stored number costs (heap + both indexes). With no --database-url it starts an
embedded PostgreSQL in a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from app.api import upload_targets
from app.areacodes.data import load_area_codes
from app.core.config import Settings
from app.core.db import create_engine
from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade
from app.dnc.models import compact_layout
from app.uploads.importer import run_upload

sys.path.insert(0, str(Path(__file__).parent))
from harness import machine, numbers_in


def random_numbers(count: int, seed: int) -> list[int]:
    """`count` distinct valid numbers in the geographic area codes, the same for a seed."""
    npas = sorted(n for n, c in load_area_codes().items() if c.in_service and c.geographic)
    return numbers_in(npas, count, random.Random(seed))


def import_peak_rss_mib(dsn: str, source: Path, state: Path, name: str) -> float:
    """Peak resident memory of `callguard dnc import` on a file, in its own process."""
    script = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    callguard = str(Path(sys.executable).with_name("callguard"))
    env = {**os.environ, "DATABASE_URL": dsn, "CALLGUARD_DATA_DIR": str(state)}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            callguard,
            "dnc",
            "import",
            str(source),
            "--list-name",
            name,
            "--global",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip()) / 1024


def write(path: Path, numbers: list[int]) -> None:
    with path.open("w") as out:
        out.writelines(f"{n}\n" for n in numbers)


async def timed_baseline(dsn: str, ints: Path) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_raw")
        await conn.execute("CREATE TABLE bench_raw (number bigint PRIMARY KEY)")
        started = time.perf_counter()
        await conn.copy_to_table("bench_raw", source=ints, columns=["number"])
        return time.perf_counter() - started
    finally:
        await conn.execute("DROP TABLE IF EXISTS bench_raw")
        await conn.close()


async def new_list(conn: asyncpg.Connection, name: str, kind: str) -> str:
    list_id = f"lst_bench_{name}"
    await conn.execute(
        "DELETE FROM dnc_entries WHERE list_key IN (SELECT entry_key FROM dnc_lists WHERE id = $1)",
        list_id,
    )
    await conn.execute("DELETE FROM uploads WHERE list_id = $1", list_id)
    await conn.execute("DELETE FROM dnc_lists WHERE id = $1", list_id)
    await conn.execute(
        "INSERT INTO dnc_lists (id, scope, name, kind, max_age_days, compact) "
        "VALUES ($1, 'global', $2, $3, $4, $5)",
        list_id,
        f"bench {name}",
        kind,
        31 if kind == "registry" else None,
        compact_layout("global", kind),
    )
    return list_id


async def timed_upload(
    settings: Settings, dsn: str, list_id: str, source: Path, mode: str, n: int
) -> float:
    upload_id = f"upl_bench_{mode}_{n}_{os.getpid()}"
    spool = source.with_name(f"{upload_id}.upload")
    os.link(source, spool)  # run_upload removes its spool
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "INSERT INTO uploads (id, list_id, mode, status, force) "
        "VALUES ($1, $2, $3, 'queued', true)",
        upload_id,
        list_id,
        mode,
    )
    engine = create_engine(dsn, settings)
    in_service = frozenset(n for n, c in load_area_codes().items() if c.in_service)
    started = time.perf_counter()
    await run_upload(
        engine=engine,
        upload_id=upload_id,
        spool=spool,
        in_service=in_service,
        targets=upload_targets(),
    )
    elapsed = time.perf_counter() - started
    status = await conn.fetchval("SELECT status FROM uploads WHERE id = $1", upload_id)
    assert status == "succeeded", status
    await engine.dispose()
    await conn.close()
    return elapsed


async def bench(dsn: str, rows: int, repeat: int, work: Path, kind: str) -> None:
    settings = Settings(database_url=dsn, db_timeout_s=600)
    numbers = random_numbers(rows, seed=1)
    base_file, ints = work / "numbers.txt", work / "ints.txt"
    write(base_file, numbers)
    write(ints, numbers)
    cut = rows // 200  # 0.5 %
    changed = numbers[cut:] + random_numbers(rows + cut, seed=2)[-cut:]
    random.Random(3).shuffle(changed)
    changed_file = work / "changed.txt"
    write(changed_file, changed)

    baseline, append, replace = [], [], []
    conn = await asyncpg.connect(dsn)
    for run in range(repeat):
        baseline.append(await timed_baseline(dsn, ints))
        list_id = await new_list(conn, "append", kind)
        append.append(await timed_upload(settings, dsn, list_id, base_file, "append", run))
        replace.append(await timed_upload(settings, dsn, list_id, changed_file, "replace", run))
        print(
            f"run {run + 1}: baseline {baseline[-1]:.1f}s "
            f"append {append[-1]:.1f}s replace {replace[-1]:.1f}s"
        )
    size = await conn.fetchval(
        "SELECT pg_total_relation_size('dnc_entries')::float8 / greatest(count(*), 1) "
        "FROM dnc_entries"
    )
    version = await conn.fetchval("SHOW server_version")
    await conn.close()
    small_file = work / "small.txt"
    write(small_file, numbers[: max(rows // 100, 1000)])
    small_rss = import_peak_rss_mib(dsn, small_file, work / "state-small", "bench memory small")
    full_rss = import_peak_rss_mib(dsn, base_file, work / "state-full", "bench memory full")

    b, a, r = (statistics.median(x) for x in (baseline, append, replace))
    print()
    print(
        f"Machine: {machine()}, PostgreSQL {version}, "
        f"{rows:,} rows into a list of kind {kind}, median of {repeat}"
    )
    print()
    print("| measure | median s | rows/s | vs raw COPY |")
    print("|---|---|---|---|")
    print(f"| raw COPY into bigint PK (baseline) | {b:.1f} | {rows / b:,.0f} | 1.00 |")
    print(
        f"| upload append into empty list | {a:.1f} | {rows / a:,.0f} "
        f"| {b / a:.2f} (target >= 0.50) |"
    )
    print(
        f"| upload replace, 1% different | {r:.1f} | {rows / r:,.0f} "
        f"| {r / a:.2f}x append (target <= 2) |"
    )
    print(f"| bytes per stored number (heap + indexes) | {size:.0f} | | |")
    print()
    print(
        f"Peak RSS of `callguard dnc import`: {small_rss:.0f} MiB for {max(rows // 100, 1000):,} "
        f"rows, {full_rss:.0f} MiB for {rows:,} rows."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--kind",
        choices=["internal", "registry"],
        default="internal",
        help="the global list's kind (a registry: compact, its entries in one index)",
    )
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callguard-bench-") as tmp:
        work = Path(tmp)
        if args.database_url:
            upgrade(args.database_url)
            asyncio.run(bench(args.database_url, args.rows, args.repeat, work, args.kind))
            return
        with EmbeddedPostgres(work / "state") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            asyncio.run(bench(dsn, args.rows, args.repeat, work, args.kind))


if __name__ == "__main__":
    main()
