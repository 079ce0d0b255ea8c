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

    .venv/bin/python bench/check_cpu.py --tree OLD --tree . --instructions 400 [--rounds 2]

counts instead the server's user-space instructions per check (valgrind's callgrind, started
with its counting off; the kernel's share, system calls, is not in it). The rounds of one run
agree to about 1% where CPU time moves by a tenth; separate runs of one tree have differed by
up to 6% (the log's flushes and the timers follow the clock, which callgrind slows about 70
times), so compare trees within one run. Each tree's server is asked, one request after
another, the single checks of 400 distinct valid numbers in the contiguous US's area codes (on
no list, in calling hours), once to warm up (the calling-hours cache, the prepared statements),
then again with the counting on.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from checks import BODY, PORT, admin_secret, run_wrk, tenant_token, wrk_script
from harness import Callguard, day_npas, log, numbers_in

from app.core.db import async_url, ensure_database, plain_url
from app.core.embedded import EmbeddedPostgres

CALLGRIND = ["valgrind", "--tool=callgrind", "--instr-atstart=no"]


def measure(server: Callguard, script: Path, duration: int) -> tuple[float, float]:
    """(µs of server CPU per request, requests per second) for one wrk run."""
    run_wrk(script, 4, 2)  # warm-up
    before = server.cpu_seconds()
    result = run_wrk(script, 4, duration)
    used = server.cpu_seconds() - before
    requests = result["rps"] * duration
    return used / requests * 1e6, result["rps"]


def instructions(server: Callguard, token: str, numbers: list[int], out: Path) -> float:
    """User-space instructions per single check of `numbers`, asked one after another (a
    warm-up round first), counted by the callgrind the server runs under."""
    assert server.process is not None
    pid = str(server.process.pid)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:

        def ask() -> None:
            for number in numbers:
                body = {"to": f"+1{number}", "at": BODY["at"]}
                client.post("/v1/checks", json=body).raise_for_status()

        ask()
        subprocess.run(["callgrind_control", "--instr=on", pid], check=True, capture_output=True)
        ask()
        subprocess.run(["callgrind_control", "--dump", pid], check=True, capture_output=True)
    totals = []
    for dump in out.parent.glob(f"{out.name}*"):
        found = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(), re.M)
        if found:
            totals.append(int(found.group(1)))
    if not totals:
        raise RuntimeError(f"callgrind wrote no counts to {out}*")
    return max(totals) / len(numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument(
        "--instructions", type=int, default=0, help="callgrind: checks counted per round"
    )
    args = parser.parse_args()
    numbers = numbers_in(day_npas(), args.instructions, random.Random(3))
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
                    out = work / f"callgrind-{round_}-{trees.index(tree)}.out"
                    server = Callguard(
                        dsn=dsns[tree],
                        state=work / f"serve-{trees.index(tree)}",
                        port=PORT,
                        workers=1,
                        log_path=work / "serve.log",
                        tree=tree,
                        # the same dict layouts every run, for the instruction counts
                        env={"PYTHONHASHSEED": "0"} if args.instructions else None,
                        prefix=[*CALLGRIND, f"--callgrind-out-file={out}"]
                        if args.instructions
                        else None,
                    )
                    server.start(timeout_s=900)  # migrates its database to the tree's schema
                    try:
                        if tree not in tokens:
                            tokens[tree] = tenant_token(asyncio.run(admin_secret(dsns[tree])))
                        if args.instructions:
                            figure = instructions(server, tokens[tree], numbers, out)
                            message = f"{figure:,.0f} instructions per check"
                        else:
                            figure, rps = measure(
                                server, wrk_script(work, tokens[tree]), args.duration
                            )
                            message = f"{figure:.0f} µs CPU per check, {rps:,.0f} req/s"
                    finally:
                        server.stop()
                    cpu[tree].append(figure)
                    log(f"round {round_ + 1} {tree}: {message}")
                    time.sleep(1)
    first = statistics.median(cpu[trees[0]])
    unit = "instructions" if args.instructions else "µs of server CPU"
    print(f"| tree | {unit} per check (rounds) | median | vs first |")
    print("|---|---|---|---|")
    for tree in trees:
        median = statistics.median(cpu[tree])
        rounds = " / ".join(f"{us:,.0f}" for us in cpu[tree])
        print(f"| {tree} | {rounds} | {median:,.0f} | {median / first:.3f}x |")


if __name__ == "__main__":
    main()
