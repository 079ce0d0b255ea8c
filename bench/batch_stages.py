"""Where a 10,000-check batch's time and CPU go, A/B between source trees, in one run: the
server's stage timers (CALLGUARD_CHECK_STAGE_TIMERS) and the CPU seconds the server and
PostgreSQL spend per batch, figures that hold on a busy machine better than a batch's wall time.

    .venv/bin/python bench/batch_stages.py --tree /path/to/old/worktree --tree . [--rounds 2]

One embedded PostgreSQL and one database, loaded as bench/checks.py loads it (a global list,
consents, attempts and opt-outs of one tenant), so the trees must share a schema. For each
round and each tree in turn: `callguard serve` (2 workers) from that tree with the stage
timers on, warm-up batches, then the timed ones (the same bodies as bench/checks.py: 5,000
listed numbers and 5,000 others); then the lookup statement alone (this checkout's) for as many
other batches.
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
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from checks import PORT, batch_bodies, load_bench_data, time_batches, time_lookups
from harness import Callguard, cpu_seconds, log, postgres_tree

from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

STAGES = ("prepare_ms", "lookup_ms", "decide_ms", "write_ms")


def postgres_cpu(embedded: EmbeddedPostgres) -> float:
    """CPU seconds of the embedded PostgreSQL: its postmaster, the children it has reaped
    (autovacuum workers come and go) and those running now; no other on the machine."""
    tree = postgres_tree(embedded)
    reaped = tree[0].cpu_times()
    return cpu_seconds(tree) + reaped.children_user + reaped.children_system


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
    args = parser.parse_args()
    args.kind, args.policy_caps = "registry", False  # as load_bench_data reads them
    trees = [tree.resolve() for tree in args.tree]
    results: list[dict[str, list[float]]] = [{} for _ in trees]
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
            bodies = batch_bodies(data.on_list, data.off_list, args.rounds * len(trees) * per_run)
            for round_ in range(args.rounds):
                for index, tree in enumerate(trees):
                    run_bodies, bodies = bodies[:per_run], bodies[per_run:]
                    figures = measure(serve, index, data.token, run_bodies, args, embedded)
                    lookups = asyncio.run(
                        time_lookups(dsn, run_bodies[args.warmup + args.batches :], "states")
                    )
                    figures["lookup_alone_ms"] = statistics.median(lookups) * 1000
                    for name, value in figures.items():
                        results[index].setdefault(name, []).append(value)
                    log(
                        f"round {round_ + 1} {tree}: "
                        + ", ".join(f"{name} {value:.0f}" for name, value in figures.items())
                    )
    names = list(results[0])
    print("| tree | " + " | ".join(names) + " | batch / lookup |")
    print("|---|" + "---|" * (len(names) + 1))
    for index, tree in enumerate(trees):
        medians = {name: statistics.median(results[index][name]) for name in names}
        ratio = medians["batch_ms"] / medians["lookup_alone_ms"]
        cells = " | ".join(f"{medians[name]:.0f}" for name in names)
        print(f"| {tree} | {cells} | {ratio:.2f}x |")


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
