"""Failover with no lost answer (issue 20): a real `callguard serve` on the multi-host URL of a
primary and its synchronous standby, checks under load, `kill -9` of the primary's postmaster,
`pg_ctl promote` on the standby. Every check answered `ok` has its record on the new primary;
while no server takes writes every answer is the 503 envelope; checks succeed again within
seconds, with no restart of callguard."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
from harness import IN_HOURS, Callguard, admin_secret, day_npas, free_port

from tests.replication.conftest import Pair

CLIENTS = 8
RECOVERY_LIMIT_S = 10.0  # from the promotion to the first ok
SETTLE_S = 1.0  # after the first ok, every answer is ok
KILL_TO_PROMOTE_S = 1.0  # no server takes writes for this long


@dataclass(slots=True)
class Answer:
    sent: float
    answered: float
    status: int | None  # None: no HTTP answer
    code: str | None
    check_id: str | None
    envelope: bool


async def load(
    base: str, headers: dict[str, str], answers: list[Answer], stop: asyncio.Event
) -> None:
    """CLIENTS clients, each sending single checks as fast as it gets answers."""
    npas = day_npas()

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
            i = 0
            while not stop.is_set():
                i += 1
                phone = f"+1{npas[(n * 7 + i) % len(npas)]}{200 + n}{i % 10000:04d}"
                sent = time.monotonic()
                try:
                    response = await http.post("/v1/checks", json={"to": phone, "at": IN_HOURS})
                except httpx.TransportError as exc:
                    answers.append(
                        Answer(sent, time.monotonic(), None, type(exc).__name__, None, False)
                    )
                    continue
                data = response.json()
                envelope = set(data) <= {"error", "message", "details", "request_id"} and data.get(
                    "request_id"
                ) == response.headers.get("x-request-id")
                answers.append(
                    Answer(
                        sent,
                        time.monotonic(),
                        response.status_code,
                        data.get("error"),
                        data.get("check_id"),
                        envelope,
                    )
                )

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))


async def wait_for(condition: object, timeout: float) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def wait_ended(procs: list[psutil.Process], timeout: float) -> None:
    """Until every process has exited (a zombie nobody reaps counts as ended)."""
    deadline = time.monotonic() + timeout
    for proc in procs:
        while True:
            try:
                if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            assert time.monotonic() < deadline, f"{proc.pid} still runs"
            time.sleep(0.01)


async def records_on(url: str, ids: list[str]) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT id FROM check_records WHERE id = ANY($1::text[])", ids)
        return {row["id"] for row in rows}
    finally:
        await conn.close()


async def upload_after_failover(http: httpx.AsyncClient) -> dict[str, object]:
    """A small DNC upload, waited for: its run opens its own connection, not the pool's."""
    created = await http.post("/v1/dnc/lists", json={"name": "after failover", "scope": "global"})
    assert created.status_code == 201, created.text
    accepted = await http.post(
        f"/v1/dnc/lists/{created.json()['id']}/uploads",
        content=b"+14155552671\n+12125550147\n",
        headers={"content-type": "text/csv"},
    )
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 30
    while True:
        upload: dict[str, object] = (
            await http.get(f"/v1/dnc/uploads/{accepted.json()['id']}")
        ).json()
        if upload["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return upload
        await asyncio.sleep(0.1)


async def test_a_failover_loses_no_answered_check(pair: Pair) -> None:
    url = pair.url("comma")
    headers = {"Authorization": f"Bearer {await admin_secret(url)}"}
    with tempfile.TemporaryDirectory(prefix="cg-failover-") as tmp:
        server = Callguard(
            dsn=url,
            state=Path(tmp) / "state",
            port=free_port(),
            workers=1,
            log_path=Path(tmp) / "serve.log",
            env={"CALLGUARD_DB_TIMEOUT_S": "2"},
        )
        await asyncio.to_thread(server.start)
        pids = server.pids()
        answers: list[Answer] = []
        stop = asyncio.Event()
        loader = asyncio.create_task(load(server.base, headers, answers, stop))
        try:
            await wait_for(lambda: sum(a.status == 200 for a in answers) >= 100, 30)
            postmaster = pair.primary.postmaster()
            assert postmaster is not None
            postmaster.suspend()  # forks no backend between taking its processes and the kill
            old_primary = pair.primary.tree()
            killed = time.monotonic()
            await asyncio.to_thread(pair.primary.kill_postmaster)
            # the killed postmaster's backends and walsender live on until they notice: a
            # commit may still complete (and reach the standby) in that moment, so no server
            # takes writes only once the last of them has ended
            await asyncio.to_thread(wait_ended, old_primary, 10)
            gone = time.monotonic()
            await asyncio.sleep(KILL_TO_PROMOTE_S)
            promote_began = time.monotonic()
            await asyncio.to_thread(pair.standby.promote)
            promoted = time.monotonic()
            await wait_for(
                lambda: any(a.status == 200 and a.sent > promote_began for a in answers),
                RECOVERY_LIMIT_S + 10,
            )
            first_ok = min(
                a.answered for a in answers if a.status == 200 and a.sent > promote_began
            )
            await asyncio.sleep(SETTLE_S + 1.5)
            stop.set()
            await loader
            async with httpx.AsyncClient(base_url=server.base, headers=headers) as http:
                verify = await http.get("/v1/audit/verify", timeout=60)
                upload = await upload_after_failover(http)
            pids_after = server.pids()
        finally:
            stop.set()
            await loader
            server.stop()
        log = (Path(tmp) / "serve.log").read_text(errors="replace")

        statuses = Counter((a.status, a.code) for a in answers)
        print(  # shown with -s: the figures of this run
            f"answers {dict(statuses)}; promote took {promoted - promote_began:.2f} s; first ok "
            f"{first_ok - promoted:.2f} s after it, {first_ok - killed:.2f} s after the kill; "
            f"the old primary's processes ended {gone - killed:.2f} s after the kill"
        )
        # every answer is an ok or the 503 envelope; the server never went away
        assert all(a.status == 200 or (a.status == 503 and a.envelope) for a in answers), statuses
        assert all(a.code == "service_unavailable" for a in answers if a.status == 503), statuses
        # while no server took writes, nothing was ok
        between = [a for a in answers if a.sent > gone and a.answered < promote_began]
        assert between, "no check was sent while no primary took writes"
        assert all(a.status == 503 for a in between), Counter(a.status for a in between)
        # every ok has its record on the new primary (the standby had it before the answer)
        oks = [a.check_id for a in answers if a.status == 200]
        assert all(oks)
        found = await records_on(pair.node_url(pair.standby), [str(i) for i in oks])
        missing = set(map(str, oks)) - found
        assert not missing, f"{len(missing)} answered checks have no record on the new primary"
        # back within seconds of the promotion, without a restart, and settled
        assert first_ok - promoted < RECOVERY_LIMIT_S, first_ok - promoted
        settled = [a for a in answers if a.sent > first_ok + SETTLE_S]
        assert settled, "no check after the recovery"
        assert all(a.status == 200 for a in settled), Counter(a.status for a in settled)
        # the same processes all along, and the chains verify on the new primary
        assert pids_after == pids, log[-3000:]
        assert verify.status_code == 200, verify.text
        assert verify.json()["ok"] is True, verify.text
        # an upload (its own asyncpg connection, from the same URL) runs on the new primary
        assert upload["status"] == "succeeded", upload
