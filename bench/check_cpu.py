"""CPU per single check, A/B between source trees, in one run: a figure that holds on a busy
machine, where throughput ratios do not (another process's load moves req/s, much less the CPU
the server spends per request).

    .venv/bin/python bench/check_cpu.py --tree /path/to/old/worktree --tree . [--rounds 5]

One embedded PostgreSQL, a database of its own for each tree (each tree's `serve` migrates it to
that tree's schema). For each round and each tree in turn: `callguard serve` (1 worker) from
that tree, a warm-up, then wrk at 4 connections for `--duration` s with the single check of
bench/checks.py (one number on no list, 200 ok, audited); the server's CPU seconds (user +
system, whole process tree) over the run, divided by the requests served. Prints the per-round
figures, each tree's median, and each tree's median over the first tree's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from checks import PORT, admin_secret, run_wrk, tenant_token, wrk_script
from harness import Callguard, log

from app.core.db import async_url, ensure_database, plain_url
from app.core.embedded import EmbeddedPostgres


def measure(server: Callguard, script: Path, duration: int) -> tuple[float, float]:
    """(µs of server CPU per request, requests per second) for one wrk run."""
    run_wrk(script, 4, 2)  # warm-up
    before = server.cpu_seconds()
    result = run_wrk(script, 4, duration)
    used = server.cpu_seconds() - before
    requests = result["rps"] * duration
    return used / requests * 1e6, result["rps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=8)
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.tree]
    cpu: dict[Path, list[float]] = {tree: [] for tree in trees}
    with tempfile.TemporaryDirectory(prefix="callguard-bench-cpu-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "state") as embedded:
            server_dsn = embedded.start()
            dsns = {}
            for i, tree in enumerate(trees):
                name = f"bench_cpu_{i}"
                asyncio.run(ensure_database(server_dsn, name))
                dsns[tree] = plain_url(async_url(server_dsn).set(database=name))
            tokens: dict[Path, str] = {}
            for round_ in range(args.rounds):
                for tree in trees:
                    server = Callguard(
                        dsn=dsns[tree],
                        state=work / f"serve-{trees.index(tree)}",
                        port=PORT,
                        workers=1,
                        log_path=work / "serve.log",
                        tree=tree,
                    )
                    server.start()  # migrates its database to the tree's schema
                    try:
                        if tree not in tokens:
                            tokens[tree] = tenant_token(asyncio.run(admin_secret(dsns[tree])))
                        us, rps = measure(server, wrk_script(work, tokens[tree]), args.duration)
                    finally:
                        server.stop()
                    cpu[tree].append(us)
                    log(f"round {round_ + 1} {tree}: {us:.0f} µs CPU per check, {rps:,.0f} req/s")
                    time.sleep(1)
    first = statistics.median(cpu[trees[0]])
    print("| tree | µs of server CPU per check (rounds) | median | vs first |")
    print("|---|---|---|---|")
    for tree in trees:
        median = statistics.median(cpu[tree])
        rounds = " / ".join(f"{us:.0f}" for us in cpu[tree])
        print(f"| {tree} | {rounds} | {median:.0f} | {median / first:.3f}x |")


if __name__ == "__main__":
    main()
