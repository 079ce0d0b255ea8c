"""Where a 10,000-check batch's time and CPU go, A/B between source trees, in one run: the
server's stage timers (CALLGUARD_CHECK_STAGE_TIMERS) and the CPU seconds the server and
PostgreSQL spend per batch, figures that hold on a busy machine better than a batch's wall time.

    .venv/bin/python bench/batch_stages.py --tree /path/to/old/worktree --tree . [--rounds 2]

One embedded PostgreSQL and one database, loaded as bench/checks.py loads it (a global list,
consents, attempts and opt-outs of one tenant), so the trees must share a schema. For each
round and each tree in turn: `callguard serve` (2 workers) from that tree with the stage
timers on, warm-up batches, then the timed ones (the same bodies as bench/checks.py: 5,000
listed numbers and 5,000 others); then the lookup statement alone for as many other batches.
Prints, per tree, the medians of each stage (ms, from the server's log), of the batch as the
client saw it and of the lookup alone, and the CPU per batch (ms) of the server's processes
and of PostgreSQL's (backends, autovacuum, the WAL writer and checkpointer alike).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
import mix
from checks import (
    MIX_SIZE,
    PORT,
    admin_secret,
    batch_bodies,
    load_attempts,
    load_bench_list,
    load_consents,
    tenant_token,
    time_batches,
    time_lookups,
)
from dnc_import import random_numbers
from harness import Callguard, log

from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

STAGES = ("prepare_ms", "lookup_ms", "decide_ms", "write_ms")


def postgres_cpu(data_dir: Path) -> float:
    """CPU seconds of the PostgreSQL serving `data_dir` (its postmaster, backends, autovacuum,
    WAL writer and checkpointer), not of any other on the machine."""
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] == "postgres" and str(data_dir) in " ".join(
                proc.info["cmdline"] or ()
            ):
                total = 0.0
                for member in (proc, *proc.children(recursive=True)):
                    times = member.cpu_times()
                    total += times.user + times.system
                return total
        except psutil.NoSuchProcess:
            pass
    raise RuntimeError(f"no PostgreSQL serving {data_dir}")


def stage_lines(path: Path, items: int) -> list[dict[str, float]]:
    lines = path.read_text().splitlines() if path.exists() else []
    found = [json.loads(line) for line in lines if '"check batch stages"' in line]
    return [line for line in found if line.get("items") == items]


def run(
    server: Callguard, token: str, bodies: list[list[int]], warmup: int, data_dir: Path
) -> tuple[list[float], float, float, list[dict[str, float]]]:
    """The timed batches' seconds, the server's and PostgreSQL's CPU seconds per batch, and
    the timed batches' stage lines."""
    time_batches(token, bodies[:warmup])
    before = len(stage_lines(server.log_path, 10_000))
    server_cpu, pg_cpu = server.cpu_seconds(), postgres_cpu(data_dir)
    seconds = time_batches(token, bodies[warmup:])
    count = len(bodies) - warmup
    server_cpu = (server.cpu_seconds() - server_cpu) / count
    pg_cpu = (postgres_cpu(data_dir) - pg_cpu) / count
    return seconds, server_cpu, pg_cpu, stage_lines(server.log_path, 10_000)[before:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=8)
    parser.add_argument("--list-rows", type=int, default=10_000_000)
    parser.add_argument("--consents", type=int, default=1_000_000)
    parser.add_argument("--attempts", type=int, default=10_000_000)
    parser.add_argument("--optouts", type=int, default=1_000_000)
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.tree]
    results: dict[Path, dict[str, list[float]]] = {tree: {} for tree in trees}
    with tempfile.TemporaryDirectory(prefix="callguard-bench-stages-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "state") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            numbers = random_numbers(args.list_rows + 2 * MIX_SIZE, seed=11)
            on_list, off_list = numbers[: args.list_rows], numbers[args.list_rows :]
            asyncio.run(load_bench_list(dsn, on_list, "registry"))

            def serve(tree: Path) -> Callguard:
                server = Callguard(
                    dsn=dsn,
                    state=work / "serve",
                    port=PORT,
                    workers=2,
                    log_path=work / f"serve-{trees.index(tree)}.log",
                    env={"CALLGUARD_CHECK_STAGE_TIMERS": "true"},
                    tree=tree,
                )
                server.start()
                return server

            server = serve(trees[0])
            try:
                token = tenant_token(asyncio.run(admin_secret(dsn)))
            finally:
                server.stop()
            asyncio.run(load_consents(dsn, on_list, "registry", args.consents))
            asyncio.run(load_attempts(dsn, numbers, args.attempts, False))
            picked = mix.pick(on_list, off_list, MIX_SIZE)
            asyncio.run(mix.load_optouts(dsn, picked["opted_out"], args.optouts))
            per_run = args.warmup + args.batches
            bodies = batch_bodies(
                on_list, off_list, args.rounds * len(trees) * (per_run + args.batches)
            )
            for round_ in range(args.rounds):
                for tree in trees:
                    picked_bodies, bodies = bodies[:per_run], bodies[per_run:]
                    server = serve(tree)
                    try:
                        seconds, server_cpu, pg_cpu, lines = run(
                            server, token, picked_bodies, args.warmup, work / "state"
                        )
                    finally:
                        server.stop()
                    lookups = asyncio.run(time_lookups(dsn, bodies[: args.batches], "states"))
                    bodies = bodies[args.batches :]
                    figures = {
                        "batch_ms": statistics.median(seconds) * 1000,
                        "lookup_alone_ms": statistics.median(lookups) * 1000,
                        "server_cpu_ms": server_cpu * 1000,
                        "postgres_cpu_ms": pg_cpu * 1000,
                        **{
                            stage: statistics.median(line[stage] for line in lines)
                            for stage in STAGES
                        },
                    }
                    for name, value in figures.items():
                        results[tree].setdefault(name, []).append(value)
                    log(
                        f"round {round_ + 1} {tree}: "
                        + ", ".join(f"{name} {value:.0f}" for name, value in figures.items())
                    )
    names = list(results[trees[0]])
    print("| tree | " + " | ".join(names) + " | batch / lookup |")
    print("|---|" + "---|" * (len(names) + 1))
    for tree in trees:
        medians = {name: statistics.median(results[tree][name]) for name in names}
        ratio = medians["batch_ms"] / medians["lookup_alone_ms"]
        cells = " | ".join(f"{medians[name]:.0f}" for name in names)
        print(f"| {tree} | {cells} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
