"""Outage drill (issue 8, item 5): stop PostgreSQL under a steady load of checks, keep it down,
start it again. While it is down every check must answer `503 service_unavailable`, never `200`,
and callguard must recover by itself, without a restart.

    .venv/bin/python bench/outage_drill.py [--rounds 2] [--down 10] [--workers 2] [--clients 16]
        [--rate 200] [--modes fast,immediate] [--recovery-limit 15] [--settle 5]

It starts an embedded PostgreSQL of its own in a temporary directory and a real `callguard serve`
pointed at it with DATABASE_URL, so callguard does not own the database's life. `--clients`
asyncio clients (one httpx client and connection each) send single checks (allowed numbers, at an
instant inside calling hours) at `--rate` requests a second in all. Each round:

1. `--warmup` seconds of load (every answer must be 200);
2. PostgreSQL is stopped, in turn per round with each of `--modes`: `fast` is EmbeddedPostgres'
   own `stop()` (`pg_ctl stop -m fast`: sessions are ended, a clean shutdown), `immediate` is
   `pg_ctl stop -m immediate` (every server process quits at once, crash recovery at the next
   start); not by default, `freeze` sends SIGSTOP to every server process (a database that
   hangs with its sockets open) and SIGCONT at the end;
3. it stays down `--down` seconds, then is started again with `EmbeddedPostgres.start()` on the
   same data directory and socket (the URL must not change);
4. the load goes on until the first 200, then `--settle` + `--tail` seconds more.

Asserted, per round:
- no `200` for a request sent after the stop completed and answered before the start began,
  and every answer in that window is the `503 service_unavailable` envelope (any other status,
  or a connection error, is a failure);
- anywhere in the round, an answer is a 200 or the 503 envelope, nothing else;
- a 200 comes within `--recovery-limit` seconds after PostgreSQL is back, and every request sent
  `--settle` seconds after that first 200 is answered 200;
- /readyz answers 503 while the database is down and 200 after recovery.
At the end: the callguard processes are the ones started (no worker was restarted), every check
answered 200 has its audit record, and GET /v1/audit/verify answers `ok`.

Reported: answers by status, time from the stop to the first 503, time from the start to the
first 200. Progress goes to standard error; a Markdown summary to standard output. Exit status 1
if any assertion failed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from harness import (
    IN_HOURS,
    Callguard,
    admin_secret,
    day_npas,
    free_port,
    log,
    numbers_in,
    postgres_tree,
    provenance,
    tenant_key,
)

ENVELOPE_KEYS = {"error", "message", "details", "request_id"}


@dataclass(slots=True)
class Rec:
    sent: float
    answered: float
    status: int | None  # None: no HTTP answer (a connection error)
    error: str | None = None  # the envelope's code, or the exception's name
    check_id: str | None = None
    envelope_ok: bool = False


@dataclass
class Timeline:
    stop_begin: float = 0.0
    stop_end: float = 0.0
    start_begin: float = 0.0
    start_end: float = 0.0
    readyz_down: int | None = None
    readyz_after: int | None = None


@dataclass
class Round:
    number: int
    mode: str
    recs: list[Rec]
    t: Timeline
    problems: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def stop_postgres(embedded: EmbeddedPostgres, mode: str) -> list[psutil.Process]:
    """Take the database away; the processes frozen (mode `freeze`), to thaw later."""
    if mode == "fast":
        embedded.stop()  # EmbeddedPostgres' own API: pg_ctl -w -m fast stop
        return []
    if mode == "freeze":
        frozen = postgres_tree(embedded)
        for proc in frozen:
            proc.suspend()  # SIGSTOP: a server that hangs, sockets open, never answering
        return frozen
    # EmbeddedPostgres' own runner of the wheel's pg_ctl, as the user the server runs as
    embedded._pg_ctl(["-w", "-m", mode, "stop"])
    return []


def start_postgres(embedded: EmbeddedPostgres, frozen: list[psutil.Process]) -> str:
    """Bring the database back: thaw it, or start it on the same data directory and socket."""
    if frozen:
        for proc in frozen:
            proc.resume()
    return embedded.start()  # a thawed server is adopted as it runs


def is_envelope(response: httpx.Response, data: Any, code: str) -> bool:
    return (
        response.headers.get("content-type", "").startswith("application/json")
        and isinstance(data, dict)
        and set(data) <= ENVELOPE_KEYS
        and data.get("error") == code
        and isinstance(data.get("message"), str)
        and bool(data["message"])
        and data.get("request_id") == response.headers.get("x-request-id")
    )


async def load(
    base: str,
    headers: dict[str, str],
    bodies: list[dict[str, str]],
    clients: int,
    rate: float,
    recs: list[Rec],
    stop: asyncio.Event,
) -> None:
    """`clients` paced clients, `rate` requests a second in all, until `stop`."""
    loop = asyncio.get_running_loop()
    interval = clients / rate

    async def one(n: int) -> None:
        rng = random.Random(n)
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=base, headers=headers, timeout=30, limits=limits
        ) as client:
            next_at = loop.time() + interval * n / clients
            while not stop.is_set():
                delay = next_at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at = max(next_at + interval, loop.time())  # late: no catch-up burst
                sent = loop.time()
                try:
                    response = await client.post("/v1/checks", json=rng.choice(bodies))
                except httpx.TransportError as exc:
                    recs.append(Rec(sent, loop.time(), None, type(exc).__name__))
                    continue
                answered = loop.time()
                try:
                    data = response.json()
                except ValueError:
                    data = None
                if response.status_code == 200 and isinstance(data, dict):
                    recs.append(Rec(sent, answered, 200, None, data.get("check_id"), True))
                else:
                    error = data.get("error") if isinstance(data, dict) else None
                    ok = is_envelope(response, data, "service_unavailable")
                    recs.append(Rec(sent, answered, response.status_code, error, None, ok))

    await asyncio.gather(*(one(n) for n in range(clients)))


async def readyz(base: str) -> int | None:
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            return (await client.get("/readyz")).status_code
    except httpx.HTTPError:
        return None


async def one_round(
    args: argparse.Namespace,
    number: int,
    mode: str,
    embedded: EmbeddedPostgres,
    dsn: str,
    server: Callguard,
    headers: dict[str, str],
    bodies: list[dict[str, str]],
) -> Round:
    loop = asyncio.get_running_loop()
    recs: list[Rec] = []
    t = Timeline()
    stop = asyncio.Event()
    task = asyncio.create_task(
        load(server.base, headers, bodies, args.clients, args.rate, recs, stop)
    )
    try:
        await asyncio.sleep(args.warmup)
        t.stop_begin = loop.time()
        frozen = await asyncio.to_thread(stop_postgres, embedded, mode)
        t.stop_end = loop.time()
        log(f"round {number}: PostgreSQL stopped ({mode}) in {t.stop_end - t.stop_begin:.2f} s")
        await asyncio.sleep(min(1.0, args.down / 2))
        t.readyz_down = await readyz(server.base)
        await asyncio.sleep(max(0.0, t.stop_end + args.down - loop.time()))
        t.start_begin = loop.time()
        again = await asyncio.to_thread(start_postgres, embedded, frozen)
        t.start_end = loop.time()
        log(f"round {number}: PostgreSQL started in {t.start_end - t.start_begin:.2f} s")
        if again != dsn:
            raise RuntimeError(f"the database URL changed on restart: {again} != {dsn}")
        deadline = t.start_end + args.recovery_limit + args.settle
        while loop.time() < deadline:
            if any(r.status == 200 and r.answered > t.start_begin for r in recs):
                break
            await asyncio.sleep(0.05)
        first = min(
            (r.answered for r in recs if r.status == 200 and r.answered > t.start_begin),
            default=loop.time(),
        )
        await asyncio.sleep(max(0.0, first + args.settle + args.tail - loop.time()))
        t.readyz_after = await readyz(server.base)
    finally:
        stop.set()
        await task
    return analyse(args, Round(number, mode, recs, t))


def analyse(args: argparse.Namespace, r: Round) -> Round:
    t, recs = r.t, r.recs
    p = r.problems
    allowed = [x for x in recs if x.status == 200 or (x.status == 503 and x.envelope_ok)]
    if len(allowed) != len(recs):
        other = Counter(
            f"{x.status} {x.error}" if x.status else f"no answer ({x.error})"
            for x in recs
            if x not in allowed
        )
        p.append(f"answers other than 200 or the 503 envelope: {dict(other)}")
    warm = [x for x in recs if x.answered < t.stop_begin]
    if any(x.status != 200 for x in warm):
        p.append(f"non-200 before the stop: {Counter(x.status for x in warm)}")
    down = [x for x in recs if x.sent >= t.stop_end and x.answered <= t.start_begin]
    down_200 = [x for x in down if x.status == 200]
    if down_200:
        p.append(f"{len(down_200)} checks answered 200 while PostgreSQL was down")
    late_200 = [
        x for x in recs if x.status == 200 and t.stop_end < x.answered <= t.start_begin
    ]  # answered while down but sent before the stop completed: their records are checked
    first_503 = min((x.answered for x in recs if x.status == 503), default=None)
    first_200 = min(
        (x.answered for x in recs if x.status == 200 and x.answered > t.start_begin),
        default=None,
    )
    if first_200 is None:
        p.append("no 200 after PostgreSQL was back: the service did not recover")
    elif first_200 - t.start_end > args.recovery_limit:
        p.append(f"first 200 only {first_200 - t.start_end:.1f} s after PostgreSQL was back")
    after = [] if first_200 is None else [x for x in recs if x.sent > first_200]
    settled = [] if first_200 is None else [x for x in after if x.sent > first_200 + args.settle]
    if any(x.status != 200 for x in settled):
        p.append(
            f"not settled {args.settle} s after recovery: {Counter(x.status for x in settled)}"
        )
    if t.readyz_down != 503:
        p.append(f"/readyz answered {t.readyz_down} while the database was down")
    if t.readyz_after != 200:
        p.append(f"/readyz answered {t.readyz_after} after recovery")
    statuses = Counter(x.status for x in recs)
    span = max(x.answered for x in recs) - min(x.sent for x in recs)
    r.summary = {
        "requests": len(recs),
        "rate": len(recs) / span,
        "statuses": statuses,
        "down": len(down),
        "down_503": sum(1 for x in down if x.status == 503 and x.envelope_ok),
        "down_200": len(down_200),
        "late_200": len(late_200),
        "stop_s": t.stop_end - t.stop_begin,
        "start_s": t.start_end - t.start_begin,
        "first_503_s": None if first_503 is None else first_503 - t.stop_begin,
        "recovery_s": None if first_200 is None else first_200 - t.start_end,
        "after_503": sum(1 for x in after if x.status == 503),
        "p99_503_ms": percentile([x.answered - x.sent for x in down], 0.99) * 1000,
    }
    return r


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def records_found(dsn: str, ids: list[str]) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        found = await conn.fetchval(
            "SELECT count(*) FROM check_records WHERE id = ANY($1::text[])", ids
        )
        return int(found)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--down", type=float, default=10.0, help="seconds PostgreSQL stays down")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=float, default=200.0, help="checks a second, in all")
    parser.add_argument("--modes", default="fast,immediate", help="pg_ctl stop modes, in turn")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--recovery-limit", type=float, default=15.0)
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--tail", type=float, default=5.0)
    parser.add_argument(
        "--db-timeout", type=float, help="CALLGUARD_DB_TIMEOUT_S for the server (default: its own)"
    )
    args = parser.parse_args()
    modes = args.modes.split(",")
    if not set(modes) <= {"fast", "immediate", "smart", "freeze"}:
        parser.error("--modes takes fast, immediate, smart or freeze")
    with tempfile.TemporaryDirectory(prefix="callguard-outage-drill-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "pg") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            ok = run(args, modes, embedded, dsn, work)
    sys.exit(0 if ok else 1)


def run(
    args: argparse.Namespace, modes: list[str], embedded: EmbeddedPostgres, dsn: str, work: Path
) -> bool:
    admin = asyncio.run(admin_secret(dsn))
    env = {} if args.db_timeout is None else {"CALLGUARD_DB_TIMEOUT_S": str(args.db_timeout)}
    server = Callguard(
        dsn=dsn,
        state=work / "state",
        port=free_port(),
        workers=args.workers,
        log_path=work / "serve.log",
        env=env,
    )
    server.start()
    rounds: list[Round] = []
    final: list[str] = []
    try:
        _, key = tenant_key(server.base, admin, "outage-drill", ["checks:write", "audit:read"])
        headers = {"Authorization": f"Bearer {key}"}
        rng = random.Random(3)
        bodies = [{"to": f"+1{n}", "at": IN_HOURS} for n in numbers_in(day_npas(), 500, rng)]
        pids = server.pids()
        for number in range(1, args.rounds + 1):
            mode = modes[(number - 1) % len(modes)]
            result = asyncio.run(
                one_round(args, number, mode, embedded, dsn, server, headers, bodies)
            )
            rounds.append(result)
            log(f"round {number}: {result.summary}; problems {result.problems or 'none'}")
        if server.pids() != pids:
            final.append(f"callguard processes changed: {sorted(pids)} -> {sorted(server.pids())}")
        ids = [x.check_id for r in rounds for x in r.recs if x.status == 200 and x.check_id]
        found = asyncio.run(records_found(dsn, ids))
        if found != len(ids):
            final.append(f"{len(ids) - found} of {len(ids)} checks answered 200 have no record")
        with httpx.Client(base_url=server.base, headers=headers, timeout=120) as client:
            verdict = client.get("/v1/audit/verify").json()
        if verdict.get("ok") is not True:
            final.append(f"audit verify failed: {verdict}")
        log(f"records of 200 answers found: {found} of {len(ids)}; verify {verdict}")
    except BaseException:
        log(f"the drill stopped on an error; the server log was {server.log_path}")
        print("\n".join(server.log_path.read_text().splitlines()[-30:]), file=sys.stderr)
        raise
    finally:
        server.stop()
    report(args, dsn, rounds, final, found, len(ids), verdict)
    return not final and not any(r.problems for r in rounds)


def report(
    args: argparse.Namespace,
    dsn: str,
    rounds: list[Round],
    final: list[str],
    found: int,
    answered: int,
    verdict: dict[str, Any],
) -> None:
    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    print("## Outage drill\n")
    print(
        f"`.venv/bin/python bench/outage_drill.py --rounds {args.rounds} --down {args.down:g} "
        f"--workers {args.workers} --clients {args.clients} --rate {args.rate:g} "
        f"--modes {args.modes}`"
        + (f" (CALLGUARD_DB_TIMEOUT_S={args.db_timeout:g})" if args.db_timeout else "")
        + "\n"
    )
    print("\n".join(provenance(dsn)))
    print()
    print(
        "| round | stop mode | requests (req/s) | 200 / 503 / other | while down: 503 envelope "
        "/ all (200) | first 503 after stop began s | PG stop / start s | first 200 after PG "
        "back s | 503s after the first 200 | result |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rounds:
        s = r.summary
        st = s["statuses"]
        other = s["requests"] - st[200] - st[503]
        print(
            f"| {r.number} | {r.mode} | {s['requests']:,} ({s['rate']:.0f}) | {st[200]:,} / "
            f"{st[503]:,} / {other} | {s['down_503']:,} / {s['down']:,} ({s['down_200']}) | "
            f"{seconds(s['first_503_s'])} | {s['stop_s']:.2f} / {s['start_s']:.2f} | "
            f"{seconds(s['recovery_s'])} | {s['after_503']} | "
            f"{'FAIL' if r.problems else 'pass'} |"
        )
    print()
    print(
        f"Every check answered 200 has its audit record: {found:,} of {answered:,}. "
        f"GET /v1/audit/verify: ok={verdict.get('ok')} over {verdict.get('records'):,} records."
    )
    late = sum(r.summary["late_200"] for r in rounds)
    if late:
        print(
            f"{late} checks sent before a stop completed were answered 200 just after it "
            "(their records are among those found)."
        )
    print()
    problems = final + [f"round {r.number}: {p}" for r in rounds for p in r.problems]
    if problems:
        print("**FAILED:**\n")
        for problem in problems:
            print(f"- {problem}")
    else:
        print("**Every round passed.**")


if __name__ == "__main__":
    main()
