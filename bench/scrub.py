"""Scrub benchmark (issue 18): a campaign CSV (three columns: 10% of its numbers on a global
list, 1% opted out, 0.5% invalid) scrubbed end to end through a real `callguard serve`, from
the upload's first byte to the result's last (after an unmeasured 2,000-row scrub that warms
the process), beside a raw COPY of the same file into a bare table in the same run. Records
rows/s and the server's peak RSS (the whole process tree, sampled every 50 ms).

    .venv/bin/python bench/scrub.py [--rows 1000000] [--list 10000000] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import httpx

from app.core.embedded import EmbeddedPostgres
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
    tenant_key,
)

SCOPES = ["checks:write", "optouts:write", "dnc:read"]


def make_file(
    path: Path, rows: int, listed: list[int], fresh: list[int], rng: random.Random
) -> list[int]:
    """The campaign file; the numbers to opt out (1%)."""
    on_list = rows // 10
    invalid = rows // 200
    clean = rows - on_list - invalid
    numbers = [f"+1{n}" for n in rng.sample(listed, on_list)] + [str(n) for n in fresh[:clean]]
    numbers += ["555-01" + str(k % 100).zfill(2) for k in range(invalid)]
    rng.shuffle(numbers)
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["first_name", "phone", "zip"])
        for k, number in enumerate(numbers):
            writer.writerow([f"lead{k}", number, f"{10000 + k % 89999}"])
    return fresh[clean - rows // 100 : clean]


async def raw_copy(dsn: str, path: Path) -> float:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TABLE bench_scrub_raw (first_name text, phone text, zip text)")
        started = time.monotonic()
        await conn.copy_to_table("bench_scrub_raw", source=path, format="csv", header=True)
        took = time.monotonic() - started
        await conn.execute("DROP TABLE bench_scrub_raw")
        return took
    finally:
        await conn.close()


def _wait(client: httpx.Client, scrub_id: str) -> dict[str, object]:
    """The scrub once it ended, polled every 50 ms."""
    while True:
        now: dict[str, object] = client.get(f"/v1/scrubs/{scrub_id}").json()
        if now["status"] in ("succeeded", "failed"):
            return now
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--list", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callguard-scrub-bench-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "pg") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            run(args, dsn, work)


def run(args: argparse.Namespace, dsn: str, work: Path) -> None:
    rng = random.Random(18)
    npas = day_npas()
    log(f"making {args.list:,} list numbers and a {args.rows:,}-row file")
    listed = numbers_in(npas, args.list, rng)
    fresh = numbers_in(npas, args.rows, rng, avoid=set(listed))
    asyncio.run(load_global_list(dsn, listed, "lst_benchscrubglobal", "registry copy"))
    path = work / "campaign.csv"
    opted = make_file(path, args.rows, listed, fresh, rng)
    del listed, fresh
    copy_s = asyncio.run(raw_copy(dsn, path))
    log(f"raw COPY: {copy_s:.2f} s")
    admin = asyncio.run(admin_secret(dsn))
    server = Callguard(
        dsn=dsn,
        state=work / "state",
        port=free_port(),
        workers=args.workers,
        log_path=work / "serve.log",
    )
    server.start()
    try:
        _, key = tenant_key(server.base, admin, "scrub-bench", SCOPES)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=server.base, timeout=600, headers=headers) as client:
            body = "\n".join(f"+1{n}" for n in opted).encode()
            client.post(
                "/v1/opt-outs/uploads?channel=voice",
                content=body,
                headers={"content-type": "text/plain"},
            ).raise_for_status()
            time.sleep(3)
            # a first, unmeasured scrub of 2,000 rows: a new process builds its holiday
            # calendars on its first calling-hours verdict of each area code (about half a
            # second), which a serving process has long done
            with path.open("rb") as source:
                head = b"".join(line for _, line in zip(range(2001), source, strict=False))
            warm = client.post(
                f"/v1/scrubs?at={IN_HOURS}", content=head, headers={"content-type": "text/csv"}
            ).json()
            _wait(client, warm["id"])
            peak = [0]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], server.rss_bytes())
                    time.sleep(0.05)

            before = server.rss_bytes()
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            started = time.monotonic()
            with path.open("rb") as source:
                scrub = client.post(
                    f"/v1/scrubs?at={IN_HOURS}",
                    content=source,
                    headers={"content-type": "text/csv"},
                ).json()
            accepted = time.monotonic() - started
            now = _wait(client, scrub["id"])
            decided = time.monotonic() - started
            size = 0
            with client.stream("GET", f"/v1/scrubs/{scrub['id']}/result") as result:
                for block in result.iter_bytes(1 << 20):
                    size += len(block)
            total = time.monotonic() - started
            stop.set()
            sampler.join()
        assert now["status"] == "succeeded", now
        rows = args.rows
        print(f"### Scrub: {rows:,} rows against a {args.list:,}-entry global list\n")
        print("\n".join(provenance(dsn)))
        print(f"- Workers: {args.workers}; summary {now['summary']}\n")
        print("| measure | s | rows/s |")
        print("|---|---:|---:|")
        print(f"| raw COPY of the file into a bare table | {copy_s:.2f} | {rows / copy_s:,.0f} |")
        print(f"| upload accepted (body spooled) | {accepted:.2f} | |")
        print(f"| scrub succeeded (from the first byte) | {decided:.2f} | {rows / decided:,.0f} |")
        print(f"| last result byte ({size / 2**20:.0f} MiB) | {total:.2f} | {rows / total:,.0f} |")
        print(
            f"\nPeak RSS of the server's process tree: {peak[0] / 2**20:.0f} MiB "
            f"({before / 2**20:.0f} MiB before the scrub)."
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
