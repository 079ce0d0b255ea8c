"""Crash drill (issue 8, item 4): `kill -9` the server mid-upload and mid-burst of checks, restart
it, and check that nothing half-done was left behind.

    .venv/bin/python bench/crash_drill.py [--rounds 6] [--workers 2] [--list-rows 300000]
        [--file-rows 1500000] [--clients 64] [--only upload|checks]

It starts an embedded PostgreSQL of its own in a temporary directory and a real `callguard serve`
pointed at it with DATABASE_URL (so killing callguard never touches the database), in a process
group of its own, and kills that whole group with SIGKILL.

(a) Upload killed mid-way, `--rounds` times. A tenant list is first filled with `--list-rows`
    numbers by an ordinary append upload. Each round uploads a `replace` file of `--file-rows`
    numbers (half of the list's current numbers and new ones, in three spellings, shuffled) and
    kills the server at one of these points, in turn:
      copy    while the upload's connection runs its COPY into the staging table,
      delete  while it runs the replace's DELETE of the gone numbers,
      insert  while it runs the INSERT of the new numbers,
      spool   while the request body is still arriving (sent slowly),
      dedupe  while it builds the deduplicated table,
      random  a random time after the 202, up to about the upload's full duration;
    (the statements are seen in pg_stat_activity). Then it restarts the server and asserts:
    - the list is exactly as before or exactly as after: its entry count, sum and MD5 of its
      numbers in order (computed by SQL) equal those of the list before the upload or of the
      file's numbers, and `dnc_lists.entry_count` agrees with the entries;
    - the upload reads `failed` (list as before) or `succeeded` (list as after) through
      GET /v1/dnc/uploads/{id} within 60 s of the restart, and no upload of the list is left
      `queued` or `running`.
    It also reports how long the killed upload's database session kept running after the kill,
    and how many spool files the dead process left in $CALLGUARD_DATA_DIR/uploads.

(b) Checks killed mid-burst, `--rounds` times: `--clients` concurrent clients (asyncio, one httpx
    client and connection each) send single checks as fast as they are answered: 70% allowed,
    15% on the DNC list, 10% outside calling hours, 5% invalid numbers. Once every client has had
    two answers on average, the server is killed at a random moment 1 to 3 s later. Every answer
    that carried a check id (200 `check_id`, 422 and 400 `details.check_id`) is kept, and a 5xx
    or a connection error before the kill is a failure. After the restart, every kept answer
    must be readable with
    GET /v1/audit/checks/{id}, with the outcome and error it was answered with, and
    GET /v1/audit/verify must answer `ok` for the tenant.

Progress goes to standard error; a Markdown summary for docs/RELIABILITY.md to standard output.
Exit status 1 if any round failed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from harness import (
    AT_NIGHT,
    IN_HOURS,
    Callguard,
    admin_secret,
    day_npas,
    free_port,
    log,
    numbers_in,
    provenance,
    tenant_key,
)

PHASES = ("copy", "delete", "insert", "spool", "dedupe", "random")
# what the upload's own connection (application_name callguard-upload) runs in each phase
STATEMENTS = {
    "copy": "copy ",
    "dedupe": "create temp table upload_numbers",
    "delete": "delete from dnc_entries",
    "insert": "insert into dnc_entries",
}
SCOPES = ["checks:write", "dnc:read", "dnc:write", "audit:read"]
LIST_STATE = """
SELECT count(*) AS n, coalesce(sum(number), 0)::text AS total,
       md5(coalesce(string_agg(number::text, ',' ORDER BY number), '')) AS digest
FROM dnc_entries WHERE list_key = $1
"""
UPLOAD_BACKENDS = (
    "SELECT pid, state, query FROM pg_stat_activity WHERE application_name = 'callguard-upload'"
)


@dataclass(frozen=True)
class ListState:
    count: int
    total: int
    digest: str

    @classmethod
    def of(cls, numbers: set[int]) -> ListState:
        text = ",".join(str(n) for n in sorted(numbers))
        return cls(len(numbers), sum(numbers), hashlib.md5(text.encode()).hexdigest())


@dataclass
class Drill:
    dsn: str
    server: Callguard
    state: Path
    work: Path
    headers: dict[str, str]
    list_id: str = ""
    key: int = 0  # the list's entry key
    rows_per_s: float = 100_000.0
    records: int = 0  # the tenant's check records after the last checks round
    failures: list[str] = field(default_factory=list)


async def _query(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


def query(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    return asyncio.run(_query(dsn, sql, *args))


def list_state(drill: Drill) -> ListState:
    row = query(drill.dsn, LIST_STATE, drill.key)[0]
    return ListState(int(row["n"]), int(row["total"]), str(row["digest"]))


def spell(number: int, i: int) -> str:
    digits = str(number)
    if i % 3 == 0:
        return f"+1{digits}"
    if i % 3 == 1:
        return digits
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


def write_file(path: Path, numbers: list[int]) -> None:
    with path.open("w") as out:
        out.writelines(f"{spell(n, i)}\n" for i, n in enumerate(numbers))


def wait_upload(client: httpx.Client, upload_id: str, timeout_s: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        response = client.get(f"/v1/dnc/uploads/{upload_id}")
        response.raise_for_status()
        upload: dict[str, Any] = response.json()
        if upload["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return upload
        time.sleep(0.2)


def setup_list(drill: Drill, rows: int) -> None:
    """A tenant list filled by an ordinary append upload; its speed calibrates `random`."""
    rng = random.Random(1)
    numbers = numbers_in(day_npas(), rows, rng)
    path = drill.work / "initial.txt"
    write_file(path, numbers)
    with httpx.Client(base_url=drill.server.base, headers=drill.headers, timeout=120) as client:
        created = client.post("/v1/dnc/lists", json={"name": "crash-drill", "scope": "tenant"})
        created.raise_for_status()
        drill.list_id = created.json()["id"]
        started = time.monotonic()
        with path.open("rb") as body:
            accepted = client.post(
                f"/v1/dnc/lists/{drill.list_id}/uploads?mode=append",
                content=body,
                headers={"content-type": "text/plain"},
            )
        accepted.raise_for_status()
        upload = wait_upload(client, accepted.json()["id"], 600)
        assert upload["status"] == "succeeded", upload
        drill.rows_per_s = rows / (time.monotonic() - started)
    drill.key = int(
        query(drill.dsn, "SELECT entry_key FROM dnc_lists WHERE id = $1", drill.list_id)[0][0]
    )
    # the SQL checksum and the Python one agree on a known list (else every round would fail)
    assert list_state(drill) == ListState.of(set(numbers)), "checksum methods disagree"
    log(f"list {drill.list_id}: {rows:,} numbers by append at {drill.rows_per_s:,.0f} rows/s")


async def _watch_statement(dsn: str, prefix: str, timeout_s: float) -> str | None:
    """Wait until the upload's connection runs a statement starting with `prefix`."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for row in await conn.fetch(UPLOAD_BACKENDS):
                text = " ".join(str(row["query"] or "").lower().split())
                if row["state"] == "active" and text.startswith(prefix):
                    return text[:60]
            await asyncio.sleep(0.02)
        return None
    finally:
        await conn.close()


def slow_body(path: Path, half_sent: threading.Event) -> Iterator[bytes]:
    """The file in 64 KiB chunks, 20 ms apart (a slow client); flags when half is out."""
    size = path.stat().st_size
    sent = 0
    with path.open("rb") as source:
        while chunk := source.read(1 << 16):
            yield chunk
            sent += len(chunk)
            if sent >= size // 2:
                half_sent.set()
            time.sleep(0.02)


class OrphanWatch(threading.Thread):
    """How long the killed upload's database session ran on after the kill. Connected before
    the kill (a busy machine can take a second to connect), polling every 50 ms after it."""

    def __init__(self, dsn: str, timeout_s: float = 600) -> None:
        super().__init__(daemon=True)
        self.dsn, self.timeout_s = dsn, timeout_s
        self.connected = threading.Event()
        self.killed = threading.Event()
        self.killed_at = 0.0
        self.seconds: float | None = None

    def kill(self, server: Callguard) -> float:
        """Kill the server now; the moment it was killed."""
        self.connected.wait(30)
        self.killed_at = time.monotonic()
        server.kill9(on_signalled=self.killed.set)
        return self.killed_at

    def run(self) -> None:
        self.seconds = asyncio.run(self._watch())

    async def _watch(self) -> float | None:
        conn = await asyncpg.connect(self.dsn)
        try:
            self.connected.set()
            await asyncio.to_thread(self.killed.wait)
            while time.monotonic() < self.killed_at + self.timeout_s:
                if not await conn.fetch(UPLOAD_BACKENDS):
                    return max(0.0, time.monotonic() - self.killed_at)
                await asyncio.sleep(0.05)
            return None
        finally:
            await conn.close()


def upload_round(drill: Drill, number: int, phase: str, file_rows: int) -> dict[str, Any]:
    rng = random.Random(1000 + number)
    current = [
        int(r[0])
        for r in query(drill.dsn, "SELECT number FROM dnc_entries WHERE list_key = $1", drill.key)
    ]
    keep = rng.sample(current, len(current) // 2)
    fresh = numbers_in(day_npas(), file_rows - len(keep), rng, avoid=set(current))
    numbers = keep + fresh
    rng.shuffle(numbers)
    path = drill.work / f"replace-{number}.txt"
    write_file(path, numbers)
    before, after = list_state(drill), ListState.of(set(numbers))
    assert before != after
    round_started = time.monotonic()
    created_since = query(drill.dsn, "SELECT now()")[0][0]
    url = f"/v1/dnc/lists/{drill.list_id}/uploads?mode=replace"
    upload_id: str | None = None
    seen = ""
    result: dict[str, Any] = {"round": number, "phase": phase}
    client = httpx.Client(base_url=drill.server.base, headers=drill.headers, timeout=120)
    orphan = OrphanWatch(drill.dsn)
    orphan.start()
    try:
        if phase == "spool":
            half_sent = threading.Event()

            def send() -> None:
                try:
                    client.post(
                        url,
                        content=slow_body(path, half_sent),
                        headers={"content-type": "text/plain"},
                    )
                except httpx.HTTPError:
                    pass  # killed mid-body, as intended

            sender = threading.Thread(target=send)
            sender.start()
            half_sent.wait(120)
            seen = "request body half sent"
            killed_at = orphan.kill(drill.server)
            sender.join(60)
        else:
            with path.open("rb") as body:
                accepted = client.post(url, content=body, headers={"content-type": "text/plain"})
            accepted.raise_for_status()
            upload_id = accepted.json()["id"]
            if phase == "random":
                delay = rng.uniform(0.2, 1.2 * file_rows / drill.rows_per_s)
                time.sleep(delay)
                seen = f"{delay:.1f} s after the 202"
            else:
                watched = asyncio.run(_watch_statement(drill.dsn, STATEMENTS[phase], 300))
                time.sleep(rng.uniform(0, 0.3))
                seen = f"`{watched}…`" if watched else "statement not seen (finished first?)"
            status = client.get(f"/v1/dnc/uploads/{upload_id}").json()
            seen += f"; upload {status['status']}, rows_read {status['rows_read']:,}"
            killed_at = orphan.kill(drill.server)
    finally:
        client.close()
    result["seen"] = seen
    result["kill_s"] = killed_at - round_started
    log(f"upload round {number} ({phase}): killed; {seen}")

    result["restart_s"] = drill.server.start()
    with httpx.Client(base_url=drill.server.base, headers=drill.headers, timeout=60) as client:
        final: dict[str, Any] | None = None
        if upload_id is not None:
            final = wait_upload(client, upload_id, 60)
        # from the kill (the restart included) to the upload reading failed or succeeded
        result["settled_s"] = time.monotonic() - killed_at if final is not None else None
        rows = query(
            drill.dsn,
            "SELECT id, status, failure->>'error' AS error FROM uploads "
            "WHERE list_id = $1 AND created_at >= $2",
            drill.list_id,
            created_since,
        )
        listed = client.get(f"/v1/dnc/lists/{drill.list_id}").json()
    orphan.join()  # compare only once the dead upload's session is gone
    result["orphan_s"] = orphan.seconds
    state = list_state(drill)
    entry_count = int(
        query(drill.dsn, "SELECT entry_count FROM dnc_lists WHERE id = $1", drill.list_id)[0][0]
    )
    spools = sorted(p.name for p in (drill.state / "uploads").glob("*.upload"))

    problems = []
    unfinished = [r["id"] for r in rows if r["status"] in ("queued", "running")]
    if unfinished:
        problems.append(f"uploads still unfinished after the restart: {unfinished}")
    statuses = {r["id"]: (r["status"], r["error"]) for r in rows}
    if final is not None:
        result["upload"] = f"{final['status']}" + (
            f" ({final['failure']['error']})" if final.get("failure") else ""
        )
    else:
        result["upload"] = "never recorded" if not rows else ", ".join(map(str, statuses.values()))
    if state == before:
        result["list"] = "as before"
        bad = [i for i, (s, _) in statuses.items() if s != "failed"]
        if bad:
            problems.append(f"list unchanged but upload(s) {bad} did not fail")
    elif state == after:
        result["list"] = "as after"
        if final is None or final["status"] != "succeeded":
            problems.append("list replaced but the upload did not read succeeded")
    else:
        result["list"] = f"NEITHER ({state.count:,} entries)"
        problems.append(f"list is neither before ({before}) nor after ({after}): {state}")
    if entry_count != state.count or listed.get("entry_count") != state.count:
        problems.append(
            f"entry_count {entry_count} (API {listed.get('entry_count')}) but {state.count} entries"
        )
    result["spools_left"] = len(spools)
    result["own_spool_left"] = upload_id is not None and f"{upload_id}.upload" in spools
    result["problems"] = problems
    for problem in problems:
        drill.failures.append(f"upload round {number} ({phase}): {problem}")
    log(
        f"upload round {number}: {result['upload']}, list {result['list']}, "
        f"settled {result['settled_s']} s after the kill, orphan {result['orphan_s']} s, "
        f"spool files left {len(spools)}, problems {problems or 'none'}"
    )
    path.unlink()
    return result


def check_bodies(drill: Drill, count: int) -> list[tuple[str, dict[str, Any]]]:
    """(kind, body): 70% allowed, 15% listed, 10% outside hours, 5% invalid."""
    rng = random.Random(5)
    listed = [
        int(r[0])
        for r in query(
            drill.dsn,
            "SELECT number FROM dnc_entries WHERE list_key = $1 ORDER BY random() LIMIT 500",
            drill.key,
        )
    ]
    free = numbers_in(day_npas(), count, rng, avoid=set(listed))
    invalid = ["+1415555012", "+12125550150", "+11235551234", "+19115551234", "4155551234"]
    bodies: list[tuple[str, dict[str, Any]]] = []
    for i in range(count):
        pick = rng.random()
        if pick < 0.70:
            bodies.append(("allowed", {"to": f"+1{free[i]}", "at": IN_HOURS}))
        elif pick < 0.85:
            bodies.append(("listed", {"to": f"+1{rng.choice(listed)}", "at": IN_HOURS}))
        elif pick < 0.95:
            bodies.append(("night", {"to": f"+1{free[i]}", "at": AT_NIGHT}))
        else:
            bodies.append(("invalid", {"to": rng.choice(invalid), "at": IN_HOURS}))
    return bodies


@dataclass
class Answer:
    status: int
    check_id: str | None
    error: str | None


async def burst(
    drill: Drill, bodies: list[tuple[str, dict[str, Any]]], clients: int, kill_after: float
) -> tuple[list[Answer], int, list[str]]:
    """Checks from `clients` clients until the server is killed under them: (answers,
    requests cut off by the kill, unexpected errors before it)."""
    answers: list[Answer] = []
    unexpected: list[str] = []
    unanswered = 0
    killing = asyncio.Event()  # set just before SIGKILL: a transport error is the kill's
    killed = asyncio.Event()  # set once every process is gone: no more requests

    async def one_client(n: int) -> None:
        nonlocal unanswered
        rng = random.Random(n)
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=drill.server.base, headers=drill.headers, timeout=30, limits=limits
        ) as client:
            while not killed.is_set():
                _, body = rng.choice(bodies)
                try:
                    response = await client.post("/v1/checks", json=body)
                except httpx.TransportError as exc:
                    if killing.is_set():
                        unanswered += 1
                        return
                    unexpected.append(f"{type(exc).__name__} before the kill")
                    continue
                data = response.json()
                if response.status_code == 200:
                    answers.append(Answer(200, data["check_id"], None))
                elif response.status_code in (400, 422):
                    check_id = (data.get("details") or {}).get("check_id")
                    answers.append(Answer(response.status_code, check_id, data["error"]))
                else:
                    answers.append(Answer(response.status_code, None, data.get("error")))

    async def killer() -> None:
        # every client under way first (the first answers after a start are slow), then a
        # random moment of full load
        deadline = time.monotonic() + 60
        while len(answers) < 2 * clients and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(kill_after)
        killing.set()
        await asyncio.to_thread(drill.server.kill9)
        killed.set()

    await asyncio.gather(killer(), *(one_client(n) for n in range(clients)))
    return answers, unanswered, unexpected


async def read_records(drill: Drill, answers: list[Answer]) -> tuple[list[str], dict[str, Any]]:
    """Every answered check's audit record, compared with its answer; then verify."""
    expected = {200: "allowed", 422: "blocked", 400: "invalid"}
    problems: list[str] = []
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(
        base_url=drill.server.base, headers=drill.headers, timeout=60
    ) as client:

        async def one(answer: Answer) -> None:
            async with gate:
                response = await client.get(f"/v1/audit/checks/{answer.check_id}")
            if response.status_code != 200:
                problems.append(f"{answer.check_id} answered {answer.status}: no record")
                return
            record = response.json()
            if record["outcome"] != expected[answer.status] or record["error"] != answer.error:
                problems.append(
                    f"{answer.check_id} answered {answer.status} {answer.error} but recorded "
                    f"{record['outcome']} {record['error']}"
                )

        await asyncio.gather(*(one(a) for a in answers if a.check_id is not None))
        verdict = (await client.get("/v1/audit/verify")).json()
    return problems, verdict


def checks_round(drill: Drill, number: int, clients: int, bodies: list[Any]) -> dict[str, Any]:
    rng = random.Random(2000 + number)
    kill_after = rng.uniform(1.0, 3.0)
    answers, unanswered, unexpected = asyncio.run(burst(drill, bodies, clients, kill_after))
    statuses = Counter(a.status for a in answers)
    log(
        f"checks round {number}: killed {kill_after:.1f} s into full load; answers "
        f"{dict(statuses)}, unanswered {unanswered}"
    )
    ready_s = drill.server.start()
    problems = list(unexpected)
    missing_id = [a for a in answers if a.status in (200, 400, 422) and a.check_id is None]
    if missing_id:
        problems.append(f"{len(missing_id)} answers without a check id")
    others = {s: n for s, n in statuses.items() if s not in (200, 400, 422)}
    if others:
        problems.append(f"answers other than 200/400/422 before the kill: {others}")
    ids = [a.check_id for a in answers if a.check_id is not None]
    if len(set(ids)) != len(ids):
        problems.append("a check id was answered twice")
    record_problems, verdict = asyncio.run(read_records(drill, answers))
    problems += record_problems[:20]
    if record_problems[20:]:
        problems.append(f"... and {len(record_problems) - 20} more")
    if verdict.get("ok") is not True:
        problems.append(f"audit verify failed: {verdict}")
    for problem in problems:
        drill.failures.append(f"checks round {number}: {problem}")
    records_before, drill.records = drill.records, verdict.get("records") or 0
    result = {
        "round": number,
        "kill_after": kill_after,
        "answered": len(answers),
        "statuses": statuses,
        "unanswered": unanswered,
        "found": len(ids) - len(record_problems),
        "ids": len(ids),
        "records": verdict.get("records"),
        # recorded but never answered: the batch committed, the kill took its answers
        "unanswered_records": drill.records - records_before - len(ids),
        "verify": verdict.get("ok"),
        "restart_s": ready_s,
        "problems": problems,
    }
    log(
        f"checks round {number}: {result['found']}/{len(ids)} records found, verify "
        f"{verdict.get('ok')} over {verdict.get('records')} records, problems {problems or 'none'}"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each drill")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--list-rows", type=int, default=300_000)
    parser.add_argument("--file-rows", type=int, default=1_500_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--only", choices=("upload", "checks"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callguard-crash-drill-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "pg") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            ok = run(args, dsn, work)
    sys.exit(0 if ok else 1)


def run(args: argparse.Namespace, dsn: str, work: Path) -> bool:
    admin = asyncio.run(admin_secret(dsn))
    state = work / "state"
    server = Callguard(
        dsn=dsn, state=state, port=free_port(), workers=args.workers, log_path=work / "serve.log"
    )
    server.start()
    uploads: list[dict[str, Any]] = []
    checks: list[dict[str, Any]] = []
    try:
        _, key = tenant_key(server.base, admin, "crash-drill", SCOPES)
        drill = Drill(dsn, server, state, work, {"Authorization": f"Bearer {key}"})
        setup_list(drill, args.list_rows)
        if args.only in (None, "upload"):
            for number in range(1, args.rounds + 1):
                phase = PHASES[(number - 1) % len(PHASES)]
                uploads.append(upload_round(drill, number, phase, args.file_rows))
        if args.only in (None, "checks"):
            bodies = check_bodies(drill, 20_000)
            for number in range(1, args.rounds + 1):
                checks.append(checks_round(drill, number, args.clients, bodies))
    except BaseException:
        log(f"the drill stopped on an error; the server log was {server.log_path}")
        tail = server.log_path.read_text(errors="replace").splitlines()[-30:]
        print("\n".join(tail), file=sys.stderr)
        raise
    finally:
        server.stop()
    report(args, dsn, drill, uploads, checks)
    return not drill.failures


def report(
    args: argparse.Namespace,
    dsn: str,
    drill: Drill,
    uploads: list[dict[str, Any]],
    checks: list[dict[str, Any]],
) -> None:
    print("## Crash drill\n")
    print(
        f"`.venv/bin/python bench/crash_drill.py --rounds {args.rounds} --workers {args.workers} "
        f"--list-rows {args.list_rows} --file-rows {args.file_rows} --clients {args.clients}"
        + (f" --only {args.only}" if args.only else "")
        + "`\n"
    )
    print("\n".join(provenance(dsn)))
    if uploads:
        print(
            f"\n### Upload killed mid-way (replace of a {args.list_rows:,}-number list by "
            f"{args.file_rows:,} rows)\n"
        )
        print(
            "| round | killed at | kill after s | upload after restart | list | "
            "final state s after kill (restart s) | killed session ran on s | spool files left | "
            "result |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in uploads:
            orphan = "-" if r["orphan_s"] is None else f"{r['orphan_s']:.1f}"
            settled = "-" if r["settled_s"] is None else f"{r['settled_s']:.1f}"
            print(
                f"| {r['round']} | {r['phase']}: {r['seen']} | {r['kill_s']:.1f} | {r['upload']} | "
                f"{r['list']} | {settled} ({r['restart_s']:.1f}) | {orphan} | {r['spools_left']}"
                f"{' (its own)' if r['own_spool_left'] else ''} | "
                f"{'FAIL' if r['problems'] else 'pass'} |"
            )
    if checks:
        print(f"\n### Checks killed mid-burst ({args.clients} clients)\n")
        print(
            "| round | killed s into full load | answered (200 / 422 / 400 / other) | unanswered | "
            "records found | records of unanswered checks | verify (records) | restart s | "
            "result |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in checks:
            s = r["statuses"]
            other = r["answered"] - s[200] - s[422] - s[400]
            print(
                f"| {r['round']} | {r['kill_after']:.1f} | {r['answered']:,} ({s[200]:,} / "
                f"{s[422]:,} / {s[400]:,} / {other}) | {r['unanswered']} | "
                f"{r['found']:,} of {r['ids']:,} | {r['unanswered_records']} | "
                f"{r['verify']} ({r['records']:,}) | "
                f"{r['restart_s']:.1f} | {'FAIL' if r['problems'] else 'pass'} |"
            )
    print()
    if drill.failures:
        print("**FAILED:**\n")
        for failure in drill.failures:
            print(f"- {failure}")
    else:
        print("**Every round passed.**")


if __name__ == "__main__":
    main()
