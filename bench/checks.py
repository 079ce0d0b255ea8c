"""Check benchmark (issues 7 and 22): single-check throughput and latency against a constant
endpoint, and a batch of 10,000 numbers against a 10-million-entry global list, in one run.

    .venv/bin/python bench/checks.py [--list-rows 10000000] [--duration 10] [--repeat 3]

For each worker count (1, then 2) and each repeat, it serves, one after the other on the same
port and with the same uvicorn settings:
  constant   bench/constant_app.py: parses the same JSON body, returns a constant;
  callguard  `callguard serve`: the real check (auth, parse, hours, one batched lookup of the
             DNC lists and opt-outs, the audit record committed before the answer);
and loads each with wrk from this machine: 16 connections for throughput, 4 for latency, with
two kinds of traffic. Mixed (bench/mix.py, the first line): a different valid number every
request over hundreds of area codes in five time zones, 90% allowed, 5% listed, 3% opted out by
the tenant (1,000,000 opt-outs loaded), 2% outside calling hours. One number (the second line):
one number on no list at a fixed instant inside calling hours (the answer is 200 ok).
Then, on callguard with 2 workers, it times POST /v1/checks/batch with 10,000 numbers (half on
the list) against the global list (the warm-up batches apart, then the median of the rest), and,
as the baseline, the batch's lookup statement alone from a plain connection, for the numbers of
another batch after each batch (the two in turn: at the same warmth of the caches). Results are
printed as Markdown for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import asyncpg
import httpx

from app.areacodes.data import load_area_codes
from app.auth import service as auth_service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.checks import repository
from app.checks.matching import KIND
from app.core.config import Settings
from app.core.db import Database
from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade
from app.dnc.models import LIST_KINDS
from app.rules.data import load_frequency_caps
from app.rules.engine import LOOKAHEAD

sys.path.insert(0, str(Path(__file__).parent))
import mix
from dnc_import import random_numbers
from harness import load_global_list, machine, serve_command, serve_env

ROOT = Path(__file__).resolve().parent.parent
PORT = 8731
BODY = {"to": "+14155552671", "at": "2026-11-23T18:30:00Z"}
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk_script(path: Path, token: str, reserve: list[int] | None = None) -> Path:
    """The single check's request; with `reserve`, a reserving check of one of these numbers
    (picked at random per request: one number would serialize every check on its lock)."""
    script = path / "post.lua"
    headers = (
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    )
    if reserve is None:
        script.write_text(f"wrk.method = \"POST\"\nwrk.body = '{json.dumps(BODY)}'\n" + headers)
        return script
    table = ",".join(f'"{n}"' for n in reserve)
    script.write_text(
        'wrk.method = "POST"\n'
        + headers
        + f"local numbers = {{{table}}}\n"
        + "request = function()\n"
        + "  local n = numbers[math.random(#numbers)]\n"
        + '  return wrk.format(nil, nil, nil, \'{"to":"+1\' .. n .. \'","at":"'
        + BODY["at"]
        + '","reserve":true}\')\n'
        + "end\n"
    )
    return script


def run_wrk(
    script: Path, connections: int, duration: int, answers: bool = False
) -> dict[str, float]:
    """wrk's throughput and latency; `answers`: non-2xx responses are answers (a reserving
    check of a capped number gets its 422), counted, not errors."""
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{PORT}/v1/checks",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50, p99 = (
        float(m.group(1)) * UNITS[m.group(2)]
        for m in (re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M) for q in ("50", "99"))
        if m is not None
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if (errors and not answers) or socket_errors:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    result = {"rps": rps, "p50_ms": p50, "p99_ms": p99}
    if answers:
        result["non_2xx"] = float(errors.group(1)) if errors else 0.0
    return result


class Server:
    def __init__(self, command: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/openapi.json", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{command} did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def constant_server(workers: int) -> Server:
    command = [sys.executable, "-m", "uvicorn", "constant_app:app", "--app-dir", "bench"]
    command += ["--port", str(PORT), "--workers", str(workers), "--no-access-log"]
    return Server([*command, "--log-level", "warning"], dict(os.environ))


def callguard_server(
    workers: int,
    dsn: str,
    state: Path,
    settings: dict[str, str] | None = None,
    tree: Path | None = None,
) -> Server:
    """`settings`: more of callguard's environment variables (CALLGUARD_…); `tree`: the
    checkout whose code to serve (default this one; another commit's worktree, for A/B)."""
    return Server(serve_command(PORT, workers), serve_env(dsn, state, settings, tree), tree or ROOT)


async def admin_secret(dsn: str) -> str:
    settings = Settings(database_url=dsn)
    database = Database.from_url(dsn, settings)
    async with database.sessionmaker() as session, session.begin():
        _, secret = await auth_service.create_key(
            session=session, principal=None, data=ApiKeyIn(name="bench", scopes=[Scope.ADMIN])
        )
    await database.dispose()
    return secret


def tenant_token(admin: str) -> str:
    headers = {"Authorization": f"Bearer {admin}"}
    base = f"http://127.0.0.1:{PORT}"
    tenant = httpx.post(f"{base}/v1/tenants", json={"name": "bench"}, headers=headers).json()
    key = httpx.post(
        f"{base}/v1/api-keys",
        json={"name": "bench", "scopes": ["checks:write"], "tenant_id": tenant["id"]},
        headers=headers,
    ).json()
    return str(key["key"])


async def load_bench_list(dsn: str, numbers: list[int], kind: str) -> None:
    await load_global_list(dsn, numbers, "lst_benchglobal", "bench registry", kind)
    conn = await asyncpg.connect(dsn)
    try:
        size = await conn.fetchval(
            "SELECT pg_total_relation_size('dnc_entries')::float8 / count(*) FROM dnc_entries"
        )
        print(f"bytes per stored number, {len(numbers):,} fresh entries: {size:.0f}")
    finally:
        await conn.close()


async def load_consents(dsn: str, on_list: list[int], kind: str, count: int) -> None:
    """`count` consents of the bench tenant (written straight into the table by COPY) for
    numbers of the list: written consent for a third, transaction EBRs (18 months) for the
    rest, all obtained a year before the bench's instant, so each is in force at it. The list
    is made fresh as of now (a registry's copy must be within its maximum age)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE dnc_lists SET refreshed_at = now()")
        if count:
            tenant = await conn.fetchval("SELECT id FROM tenants LIMIT 1")
            picked = random.Random(5).sample(on_list, count)
            obtained = datetime(2025, 11, 23, tzinfo=UTC)
            expires = datetime(2027, 5, 23, tzinfo=UTC)
            await conn.copy_records_to_table(
                "consents",
                records=(
                    (
                        f"cns_bench{n:09d}",
                        tenant,
                        number,
                        "express_written_consent" if n % 3 == 0 else "ebr_transaction",
                        obtained,
                        None if n % 3 == 0 else expires,
                    )
                    for n, number in enumerate(picked)
                ),
                columns=["id", "tenant_id", "number", "basis", "obtained_at", "expires_at"],
            )
            await conn.execute("VACUUM ANALYZE consents")
            size = await conn.fetchval(
                "SELECT pg_total_relation_size('consents')::float8 / count(*) FROM consents"
            )
            print(f"{count:,} consents of the bench tenant loaded: {size:.0f} bytes each")
        print(f"the global list is of kind {kind}")
    finally:
        await conn.close()


async def load_attempts(dsn: str, numbers: list[int], count: int, policy_caps: bool) -> None:
    """`count` attempts of the bench tenant (a month of a large dialer: at random instants of
    the 30 days before the bench's instant, at numbers of the list and off it), written straight
    into the table by COPY; with `policy_caps`, a calling policy whose caps apply to every
    number (Regulation F's 7 in 7 days and a week's quiet after a conversation)."""
    conn = await asyncpg.connect(dsn)
    try:
        tenant = await conn.fetchval("SELECT id FROM tenants LIMIT 1")
        if policy_caps:
            await conn.execute(
                "INSERT INTO calling_policies (tenant_id, windows, banned_dates, frequency_caps, "
                "after_conversation_hours) VALUES ($1, $2::jsonb, '{}', $3::jsonb, 168)",
                tenant,
                json.dumps(
                    {
                        key: ["08:00", "21:00"]
                        for key in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                    }
                ),
                json.dumps([{"max_calls": 7, "within_hours": 168, "per": "number"}]),
            )
            print("the bench tenant's policy caps every number: 7 in 168 hours, 168 h quiet")
        if not count:
            return
        rng = random.Random(9)
        end = datetime.fromisoformat(BODY["at"].replace("Z", "+00:00"))
        span = 30 * 86400
        dispositions = ["no_answer", "busy", "voicemail", "connected", "failed"]
        started = time.monotonic()
        chunk = 1_000_000
        for first in range(0, count, chunk):
            await conn.copy_records_to_table(
                "call_attempts",
                records=(
                    (
                        f"att_bench{n:010d}",
                        end - timedelta(seconds=rng.randrange(span)),
                        tenant,
                        numbers[rng.randrange(len(numbers))],
                        "default",
                        "voice",
                        dispositions[n % 5] if n % 50 else "connected",
                    )
                    for n in range(first, min(count, first + chunk))
                ),
                columns=["id", "at", "tenant_id", "number", "purpose", "channel", "disposition"],
            )
        await conn.execute("VACUUM ANALYZE call_attempts")
        size = await conn.fetchval(
            "SELECT sum(pg_total_relation_size(c.oid))::float8 FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'call_attempts'::regclass"
        )
        print(
            f"{count:,} attempts loaded in {time.monotonic() - started:.0f}s: "
            f"{size / count:.0f} bytes each (table and indexes)"
        )
    finally:
        await conn.close()


def batch_bodies(on_list: list[int], off_list: list[int], times: int) -> list[list[int]]:
    """The numbers of each batch: 5,000 on the list and 5,000 not, shuffled."""
    rng = random.Random(7)
    batches = []
    for _ in range(times):
        picked = rng.sample(on_list, 5000) + rng.sample(off_list, 5000)
        rng.shuffle(picked)
        batches.append(picked)
    return batches


def _batch_client(token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return httpx.Client(base_url=f"http://127.0.0.1:{PORT}", timeout=60, headers=headers)


def _time_batch(client: httpx.Client, picked: list[int], reserve: bool) -> float:
    """One batch of these numbers, the seconds to its answer; its answers checked."""
    items = [{"to": f"+1{n}"} for n in picked]
    fields: dict[str, object] = {"items": items, "at": BODY["at"]}
    if reserve:
        fields["reserve"] = True
    body = json.dumps(fields).encode()  # not timed
    started = time.perf_counter()
    response = client.post("/v1/checks/batch", content=body)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    answer = response.json()
    summary = answer["summary"]
    # every listed number is blocked by its list (first, or after an opt-out), or waived
    # by a consent (then allowed, or blocked by its caps or hours with the exemption in
    # the details)
    listed = sum(
        1
        for item in answer["results"]
        if "exemption" in item
        or "exemption" in item.get("details", {})
        or "dnc_blocked" in item.get("details", {}).get("violations", ())
    )
    assert listed == 5000, (summary, listed)
    return seconds


def time_batches(token: str, batches: list[list[int]], reserve: bool = False) -> list[float]:
    with _batch_client(token) as client:
        return [_time_batch(client, picked, reserve) for picked in batches]


class Lookups:
    """The baseline for a batch: its one lookup statement alone (the one the service runs,
    prepared the same way), from a plain asyncpg connection, with no audit write. `capped`:
    whose attempts it reads, as the service would ("none", "states": the numbers of the states
    with caps, "all": every number, for a tenant with caps of its own)."""

    def __init__(self, conn: asyncpg.Connection, tenant: str, capped: str) -> None:
        self.conn, self.tenant, self.capped = conn, tenant, capped
        self.capped_npas = {
            int(npa)
            for npa, code in load_area_codes().items()
            if f"{code.country}-{code.region}" in load_frequency_caps()
        }
        at = datetime.fromisoformat(BODY["at"].replace("Z", "+00:00"))
        self.span = (at - timedelta(hours=168 if capped == "all" else 24), at + LOOKAHEAD)

    @classmethod
    async def open(cls, dsn: str, capped: str) -> Lookups:
        conn = await asyncpg.connect(dsn)
        try:
            await repository.prefer_generic_plans(conn)  # as the writer's slots do
            return cls(conn, await conn.fetchval("SELECT id FROM tenants LIMIT 1"), capped)
        except BaseException:
            await conn.close()
            raise

    async def time(self, picked: list[int]) -> float:
        numbers = sorted(picked)
        attempts = (
            numbers
            if self.capped == "all"
            else [n for n in numbers if n // 10_000_000 in self.capped_npas]
            if self.capped == "states"
            else []
        )
        started = time.perf_counter()
        now = datetime.now(UTC)
        scope = (attempts, *self.span)  # the service's own choice of statement and arguments
        rows = await repository.look_up(self.conn, numbers, [self.tenant], now, now, scope)
        seconds = time.perf_counter() - started
        listed = [row for row in rows if row[KIND] in LIST_KINDS]
        assert len(listed) == len(numbers) // 2  # half of each batch is on the list
        return seconds


async def time_lookups(dsn: str, batches: list[list[int]], capped: str) -> list[float]:
    """The lookup alone for each of these batches' numbers, one after another (Lookups)."""
    lookups = await Lookups.open(dsn, capped)
    try:
        return [await lookups.time(picked) for picked in batches]
    finally:
        await lookups.conn.close()


def time_in_turn(
    token: str,
    dsn: str,
    batches: list[list[int]],
    others: list[list[int]],
    capped: str,
    reserve: bool,
) -> tuple[list[float], list[float]]:
    """Each batch through the server, then the lookup alone of another batch's numbers, in
    turn: the two halves of the ratio measured at the same warmth of PostgreSQL's and the
    kernel's caches (timed one after the other, the lookups found the caches the batches had
    warmed: on a slow VM the batches were still getting faster at their twentieth)."""
    with asyncio.Runner() as runner:  # its loop runs only for each lookup, between batches
        lookups = runner.run(Lookups.open(dsn, capped))
        try:
            with _batch_client(token) as client:
                timed = []
                for picked, other in zip(batches, others, strict=True):
                    batch = _time_batch(client, picked, reserve)
                    timed.append((batch, runner.run(lookups.time(other))))
        finally:
            runner.run(lookups.conn.close())
    return [batch for batch, _ in timed], [lookup for _, lookup in timed]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--list-rows", type=int, default=10_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batches", type=int, default=10, help="timed batches")
    parser.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="batches sent before the timed ones (timed and reported apart: the first ones read "
        "the list's pages from the kernel or the disk)",
    )
    parser.add_argument(
        "--batch-only", action="store_true", help="skip the single-check runs (no wrk)"
    )
    parser.add_argument(
        "--kind",
        choices=LIST_KINDS,
        default="internal",
        help="the global list's kind (registry: consents are looked up for its numbers)",
    )
    parser.add_argument(
        "--attempts",
        type=int,
        default=0,
        help="attempts of the bench tenant in the 30 days before the checks (issue 17: 10000000)",
    )
    parser.add_argument(
        "--policy-caps",
        action="store_true",
        help="a tenant policy with caps on every number (every number's attempts are read)",
    )
    parser.add_argument(
        "--reserve",
        action="store_true",
        help="checks and batches reserve their attempts (single checks: 5,000 numbers at random)",
    )
    parser.add_argument(
        "--consents",
        type=int,
        default=0,
        help="consents the bench tenant holds, for numbers of the list (issue 16: 1000000)",
    )
    parser.add_argument(
        "--optouts",
        type=int,
        default=1_000_000,
        help="voice opt-outs of the bench tenant, 3%% of the mixed traffic's numbers among them",
    )
    parser.add_argument(
        "--without",
        action="append",
        choices=sorted(DROPPABLE),
        default=[],
        help="drop this from the scratch database before measuring, to see what it costs "
        "(counts: the trigger that keeps the hourly counts; phone-index: the history's index)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callguard-bench-checks-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "state") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            asyncio.run(drop(dsn, args.without))
            bench(args, dsn, work)


# what a run may go without (in its scratch database only), to measure what each costs a batch
DROPPABLE = {
    "counts": "DROP TRIGGER check_records_counted ON check_records",
    "phone-index": "DROP INDEX ix_check_records_tenant_phone",
}


async def drop(dsn: str, names: list[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for name in names:
            await conn.execute(DROPPABLE[name])
            print(f"without {name}: {DROPPABLE[name]}")
    finally:
        await conn.close()


MIX_SIZE = 200_000  # numbers of the mixed traffic: more than a run of wrk asks


class Stoppable(Protocol):
    def stop(self) -> None: ...


@dataclass(frozen=True)
class BenchData:
    """What load_bench_data loaded, and the bench tenant's checking key."""

    numbers: list[int]  # on_list, then the numbers on no list
    on_list: list[int]
    off_list: list[int]
    picked: dict[str, list[int]]  # the mixed traffic's numbers by share (mix.pick)
    token: str


def load_bench_data(
    dsn: str, args: argparse.Namespace, serve: Callable[[], Stoppable]
) -> BenchData:
    """The global list (`args.list_rows` numbers of `args.kind`), the bench tenant (made
    through a server `serve` starts) with its consents, attempts and opt-outs."""
    numbers = random_numbers(args.list_rows + 2 * MIX_SIZE, seed=11)
    on_list, off_list = numbers[: args.list_rows], numbers[args.list_rows :]
    started = time.monotonic()
    asyncio.run(load_bench_list(dsn, on_list, args.kind))
    print(
        f"loaded {len(on_list):,} numbers into a global list in {time.monotonic() - started:.0f}s"
    )
    admin = asyncio.run(admin_secret(dsn))
    server = serve()
    try:
        token = tenant_token(admin)
    finally:
        server.stop()
    asyncio.run(load_consents(dsn, on_list, args.kind, args.consents))
    asyncio.run(load_attempts(dsn, numbers, args.attempts, args.policy_caps))
    picked = mix.pick(on_list, off_list, MIX_SIZE)
    asyncio.run(mix.load_optouts(dsn, picked["opted_out"], args.optouts))
    return BenchData(numbers, on_list, off_list, picked, token)


def bench(args: argparse.Namespace, dsn: str, work: Path) -> None:
    data = load_bench_data(dsn, args, lambda: callguard_server(2, dsn, work / "state"))
    on_list, off_list, picked, token = data.on_list, data.off_list, data.picked, data.token
    numbers_file = mix.write_numbers(work / "numbers.txt", picked)
    server = callguard_server(1, dsn, work / "state")
    try:
        seen = mix.answers_as_designed(f"http://127.0.0.1:{PORT}", token, picked)
    finally:
        server.stop()
    print(
        "mixed traffic, answers of 200 numbers of each share:",
        {k: dict(v) for k, v in seen.items()},
    )
    scripts = {
        "mix": mix.wrk_script(work, token, numbers_file, args.reserve),
        "one": wrk_script(work, token, off_list[:5000] if args.reserve else None),
    }

    results: dict[tuple[str, int, int, str], list[dict[str, float]]] = {}
    for workers in () if args.batch_only else (1, 2):
        for _ in range(args.repeat):
            for name in ("constant", "callguard"):
                server = (
                    constant_server(workers)
                    if name == "constant"
                    else callguard_server(workers, dsn, work / "state")
                )
                try:
                    run_wrk(scripts["one"], 4, 2, True)  # warm up
                    for traffic, script in scripts.items():
                        answers = traffic == "mix" or args.reserve
                        for connections in (16, 4):
                            result = run_wrk(script, connections, args.duration, answers)
                            key = (name, workers, connections, traffic)
                            results.setdefault(key, []).append(result)
                            print(name, workers, connections, traffic, result, flush=True)
                finally:
                    server.stop()

    # the warm-up batches are timed too (reported apart: they read the list's pages from the
    # kernel or the disk); after each batch, the lookup alone over other numbers (the database's
    # own floor), so that both see the caches alike
    sent = args.warmup + args.batches
    bodies = batch_bodies(on_list, off_list, 2 * sent)
    capped = "all" if args.policy_caps else "states"
    server = callguard_server(2, dsn, work / "state")
    try:
        batches, lookups = time_in_turn(
            token, dsn, bodies[:sent], bodies[sent:], capped, args.reserve
        )
    finally:
        server.stop()
    report(args, dsn, results, batches, lookups)


def report(
    args: argparse.Namespace,
    dsn: str,
    results: dict[tuple[str, int, int, str], list[dict[str, float]]],
    batches: list[float],
    lookups: list[float],
) -> None:
    def med(name: str, workers: int, connections: int, field: str, traffic: str) -> float:
        return statistics.median(r[field] for r in results[(name, workers, connections, traffic)])

    async def version() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    print()
    server_version = asyncio.run(version())
    print(
        f"Machine: {machine()}, PostgreSQL {server_version}, "
        f"global {args.kind} list of {args.list_rows:,} numbers, {args.consents:,} consents, "
        f"{args.attempts:,} attempts, {args.optouts:,} opt-outs"
        + (", tenant caps on every number" if args.policy_caps else "")
        + (", reserving checks" if args.reserve else "")
        + (f", without {' and '.join(args.without)}" if args.without else "")
    )
    if results:
        single_checks(args, med)
    warmup, timed = batches[: args.warmup], batches[args.warmup :]
    print(
        f"Batch of 10,000 (5,000 listed) against the global list: median "
        f"{statistics.median(timed) * 1000:.0f} ms, runs "
        + ", ".join(f"{s * 1000:.0f}" for s in timed)
        + f" ms (after {args.warmup} warm-up batches: "
        + ", ".join(f"{s * 1000:.0f}" for s in warmup)
        + " ms)"
    )
    warmup, timed = lookups[: args.warmup], lookups[args.warmup :]
    print(
        f"Baseline, the lookup statement alone for 10,000 other numbers (no audit write), "
        f"after each batch: median {statistics.median(timed) * 1000:.0f} ms, runs "
        + ", ".join(f"{s * 1000:.0f}" for s in timed)
        + " ms (after the warm-up batches: "
        + ", ".join(f"{s * 1000:.0f}" for s in warmup)
        + " ms)"
    )


def single_checks(
    args: argparse.Namespace, med: Callable[[str, int, int, str, str], float]
) -> None:
    print(f"wrk -t2 for {args.duration}s, median of {args.repeat}")
    print()
    print(
        "| traffic | workers | constant req/s (16 conn) | callguard req/s (16 conn) | ratio | "
        "callguard p50 / p99 ms (4 conn) | constant p99 ms (4 conn) | answers not 200 (16 conn) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for traffic, words in (("mix", "mixed, distinct numbers"), ("one", "one number")):
        for workers in (1, 2):
            constant = med("constant", workers, 16, "rps", traffic)
            ours = med("callguard", workers, 16, "rps", traffic)
            answered = ours * args.duration  # about as many answers as a run got
            refused = (
                f"{med('callguard', workers, 16, 'non_2xx', traffic) / answered:.1%}"
                if traffic == "mix" or args.reserve
                else "0"
            )
            print(
                f"| {words} | {workers} | {constant:,.0f} | {ours:,.0f} | {ours / constant:.2f} | "
                f"{med('callguard', workers, 4, 'p50_ms', traffic):.2f} / "
                f"{med('callguard', workers, 4, 'p99_ms', traffic):.2f} | "
                f"{med('constant', workers, 4, 'p99_ms', traffic):.2f} | {refused} |"
            )
    for traffic in ("mix", "one"):
        scaling = med("callguard", 2, 16, "rps", traffic) / med("callguard", 1, 16, "rps", traffic)
        print(f"\ncallguard throughput ({traffic}), 2 workers vs 1: {scaling:.2f}x")


if __name__ == "__main__":
    main()
