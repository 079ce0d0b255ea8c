"""Where the machine's CPU goes while single checks are served at full load, on the data of
bench/checks.py: what each request costs the server, PostgreSQL and the load generator, next to
the constant endpoint's, in one run.

    .venv/bin/python bench/check_load.py [--rounds 3] [--duration 10] [--slots 4] [--tree T …]

One embedded PostgreSQL loaded as bench/checks.py loads it (a global registry list, consents,
attempts and opt-outs of one tenant). For each round, in an order that turns round by round:
`callguard serve` (1 worker) from each `--tree` (default this checkout; the trees must share a
schema) with each number of writer slots in `--slots`
(CALLGUARD_CHECK_WRITER_SLOTS, e.g. `2,4`) and the constant endpoint (bench/constant_app.py, 1
worker); each with wrk at 16 connections on the mixed traffic (then at 4 connections, for its
p99) and on one repeated number (bench/checks.py's). Over each 16-connection run: the CPU
seconds of the server's processes, of the embedded PostgreSQL (its postmaster, children, reaped
children), of wrk (this process's reaped children) and the machine's idle time, each per request
served. Prints each row's medians and the share of the machine each takes (of every core's time).
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
import mix
from checks import (
    Server,
    callguard_server,
    constant_server,
    load_bench_data,
    run_wrk,
    wrk_script,
)
from harness import cpu_seconds, log, postgres_cpu

from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

COLUMNS = ("rps", "server_us", "postgres_us", "wrk_us", "idle_us")


def wrk_cpu() -> float:
    """CPU seconds of this process's reaped children (each wrk run is one)."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def served(
    server: Server, embedded: EmbeddedPostgres, script: Path, duration: int
) -> dict[str, float]:
    """One wrk run at 16 connections against `server`: req/s, and µs of CPU per request."""
    tree = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(True)]
    before = (cpu_seconds(tree), postgres_cpu(embedded), wrk_cpu(), psutil.cpu_times().idle)
    result = run_wrk(script, 16, duration, answers=True)
    after = (cpu_seconds(tree), postgres_cpu(embedded), wrk_cpu(), psutil.cpu_times().idle)
    requests = result["rps"] * duration
    spent = [(b - a) / requests * 1e6 for a, b in zip(before, after, strict=True)]
    return dict(zip(COLUMNS, [result["rps"], *spent], strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--list-rows", type=int, default=10_000_000)
    parser.add_argument("--consents", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--optouts", type=int, default=1_000_000)
    parser.add_argument("--slots", default="4", help="writer slots to run callguard with: 2,4")
    parser.add_argument(
        "--tree",
        action="append",
        type=Path,
        help="a checkout to serve callguard from (repeat for A/B; default this one)",
    )
    args = parser.parse_args()
    args.kind, args.policy_caps = "registry", False  # as load_bench_data reads them
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="callguard-bench-load-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "state") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            data = load_bench_data(dsn, args, lambda: callguard_server(1, dsn, work / "state"))
            numbers = mix.write_numbers(work / "numbers.txt", data.picked)
            scripts = {
                "mixed": mix.wrk_script(work, data.token, numbers, False),
                "one number": wrk_script(work, data.token),
            }
            trees: list[Path | None] = args.tree or [None]
            servers: dict[str, Callable[[], Server]] = {
                f"callguard{f' ({tree})' if tree else ''}, {slots} slots": functools.partial(
                    callguard_server,
                    1,
                    dsn,
                    work / "state",
                    {"CALLGUARD_CHECK_WRITER_SLOTS": slots},
                    tree.resolve() if tree else None,
                )
                for tree in trees
                for slots in args.slots.split(",")
            }
            servers["constant"] = functools.partial(constant_server, 1)
            names = list(servers)
            for round_ in range(args.rounds):
                # each round starts one server later: records pile up, no one is always last
                shift = round_ % len(names)
                for name in names[shift:] + names[:shift]:
                    server = servers[name]()
                    try:
                        run_wrk(scripts["one number"], 4, 2, answers=True)  # warm up
                        for traffic, script in scripts.items():
                            figures = served(server, embedded, script, args.duration)
                            if traffic == "mixed":
                                tail = run_wrk(script, 4, args.duration, answers=True)
                                figures["p99_4_ms"] = tail["p99_ms"]
                            results.setdefault((name, traffic), []).append(figures)
                            log(f"round {round_ + 1} {name} {traffic}: {figures}")
                    finally:
                        server.stop()
                    time.sleep(1)
    cores = os.cpu_count() or 1
    print(
        f"| server | traffic | req/s | µs of CPU per request: server | PostgreSQL | wrk | "
        f"idle ({cores} cores) | share of the machine: server / PostgreSQL / wrk / idle "
        "| p99 ms at 4 connections |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, traffic), runs in results.items():
        m = {column: statistics.median(run[column] for run in runs) for column in COLUMNS}
        shares = " / ".join(f"{m[column] * m['rps'] / 1e6 / cores:.0%}" for column in COLUMNS[1:])
        p99 = [run["p99_4_ms"] for run in runs if "p99_4_ms" in run]
        latency = f"{statistics.median(p99):.2f}" if p99 else "—"
        print(
            f"| {name} | {traffic} | {m['rps']:,.0f} | {m['server_us']:.0f} | "
            f"{m['postgres_us']:.0f} | {m['wrk_us']:.0f} | {m['idle_us']:.0f} | {shares} "
            f"| {latency} |"
        )


if __name__ == "__main__":
    main()
