"""Webhook drill (issue 19): opt-outs recorded while the server is killed with `kill -9` twice
and the receiver is down for a minute; every event must reach the receiver at least once.

    .venv/bin/python bench/webhook_drill.py [--optouts 10000] [--workers 2] [--clients 16]
        [--receiver-down 60] [--drain-limit 900]

It starts an embedded PostgreSQL of its own in a temporary directory and a real `callguard serve`
pointed at it with DATABASE_URL (bench/harness.py), with `CALLGUARD_WEBHOOK_ALLOW_HTTP` and
`CALLGUARD_WEBHOOK_ALLOW_PRIVATE` on (the receiver is plain HTTP on 127.0.0.1) and every other
webhook setting at its default (10 s timeout, retries from 5 s doubling up to 1 h). A tenant
hooks `optout.recorded` to a receiver in this process (a threaded HTTP server that verifies each
signature as the Standard Webhooks reference does and keeps every `webhook-id`).

`--clients` asyncio clients record `--optouts` opt-outs of distinct numbers (`POST /v1/opt-outs`),
each retried until it is answered 201 (a request whose answer the kill took may have committed:
its retry records a second opt-out of that number, a second event, which is fine: each event
must be delivered). On the way:
- after a quarter of them are answered, the server group is killed with SIGKILL and restarted;
- after half, the receiver stops listening (connections refused) for `--receiver-down` seconds;
- after three quarters, the server is killed and restarted again (while the receiver is down,
  unless the opt-outs outran it).
Then the drill waits (at most `--drain-limit` seconds) until every `optout.opted_out` event of the
tenant in the database has reached the receiver.

Asserted: every committed event was received at least once (none lost), every signature
verified, nothing was received that no committed event stands for, and every delivery in the
database ended `succeeded`. Reported: the events, the receipts, the duplicates (an event
received more than once: an attempt in flight when the server was killed), the attempts, the
time to drain. Progress goes to standard error; a Markdown summary to standard output. Exit
status 1 if an assertion failed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.core.embedded import EmbeddedPostgres
from app.core.migrations import upgrade

sys.path.insert(0, str(Path(__file__).parent))
from harness import (
    Callguard,
    admin_secret,
    day_npas,
    free_port,
    log,
    numbers_in,
    provenance,
    tenant_key,
)

SCOPES = ["optouts:read", "optouts:write", "webhooks:write"]


class Receiver:
    """A receiver that can go away (its socket closed: connections refused) and come back on
    the same port. Verifies every signature; keeps every webhook-id it was sent."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.key = b""
        self.ids: Counter[str] = Counter()
        self.bad_signatures = 0
        self.first_at: dict[str, float] = {}
        self.last_at = 0.0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def verify(self, headers: dict[str, str], body: bytes) -> bool:
        signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
        expected = hmac.new(self.key, signed, hashlib.sha256).digest()
        for versioned in headers.get("webhook-signature", "").split(" "):
            version, _, signature = versioned.partition(",")
            if version == "v1" and hmac.compare_digest(expected, base64.b64decode(signature)):
                return True
        return False

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                good = receiver.verify(headers, body)
                with receiver._lock:
                    message = headers.get("webhook-id", "")
                    receiver.ids[message] += 1
                    receiver.first_at.setdefault(message, time.monotonic())
                    receiver.last_at = time.monotonic()
                    receiver.bad_signatures += 0 if good else 1
                self.send_response(204 if good else 400)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)

    def seen(self) -> set[str]:
        with self._lock:
            return set(self.ids)


@dataclass
class Run:
    answered: int = 0
    retried: int = 0  # requests sent again after a connection error or a 5xx
    kills: list[dict[str, Any]] = field(default_factory=list)
    receiver_down_at: float | None = None
    receiver_up_at: float | None = None
    sent_s: float = 0.0
    failures: list[str] = field(default_factory=list)


async def record_optouts(
    args: argparse.Namespace,
    server: Callguard,
    receiver: Receiver,
    headers: dict[str, str],
    numbers: list[int],
    run: Run,
) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in numbers:
        queue.put_nowait(number)
    total = len(numbers)
    up = asyncio.Event()
    up.set()
    marks = {"kill1": total // 4, "receiver": total // 2, "kill2": 3 * total // 4}
    started = time.monotonic()

    async def client() -> None:
        async with httpx.AsyncClient(base_url=server.base, headers=headers, timeout=30) as http:
            while True:
                try:
                    number = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                while True:
                    await up.wait()
                    try:
                        response = await http.post("/v1/opt-outs", json={"phone": f"+1{number}"})
                        if response.status_code == 201:
                            run.answered += 1
                            break
                        if response.status_code < 500:
                            run.failures.append(f"+1{number}: {response.status_code}")
                            break
                    except httpx.HTTPError:
                        pass
                    run.retried += 1
                    await asyncio.sleep(0.2)

    async def kill(name: str) -> None:
        up.clear()
        at = time.monotonic() - started
        await asyncio.to_thread(server.kill9)
        log(f"{name}: server killed at {run.answered:,} opt-outs answered ({at:.1f} s)")
        restart_s = await asyncio.to_thread(server.start)
        log(f"{name}: server restarted in {restart_s:.1f} s")
        run.kills.append(
            {"name": name, "at_s": at, "answered": run.answered, "restart_s": restart_s}
        )
        up.set()

    async def receiver_outage() -> None:
        await asyncio.to_thread(receiver.stop)
        run.receiver_down_at = time.monotonic()
        log(f"receiver down at {run.answered:,} opt-outs answered, for {args.receiver_down} s")
        await asyncio.sleep(args.receiver_down)
        await asyncio.to_thread(receiver.start)
        run.receiver_up_at = time.monotonic()
        log("receiver up again")

    async def controller() -> asyncio.Task[None] | None:
        outage: asyncio.Task[None] | None = None
        for name in ("kill1", "receiver", "kill2"):
            while run.answered < marks[name]:
                await asyncio.sleep(0.01)
            if name == "receiver":
                outage = asyncio.create_task(receiver_outage())
            else:
                await kill(name)
        return outage

    control = asyncio.create_task(controller())
    await asyncio.gather(*(client() for _ in range(args.clients)))
    run.sent_s = time.monotonic() - started
    log(f"{run.answered:,} opt-outs answered in {run.sent_s:.1f} s ({run.retried} retried)")
    outage = await control
    if outage is not None:
        await outage


async def committed_events(dsn: str, tenant: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT id FROM change_events WHERE tenant_id = $1 AND type = 'optout.opted_out'",
            tenant,
        )
        return {str(row["id"]) for row in rows}
    finally:
        await conn.close()


async def delivery_figures(dsn: str, hook_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        statuses = {
            str(row["status"]): int(row["n"])
            for row in await conn.fetch(
                "SELECT status, count(*) AS n FROM webhook_deliveries WHERE webhook_id = $1 "
                "GROUP BY status",
                hook_id,
            )
        }
        attempts = {
            int(row["attempts"]): int(row["n"])
            for row in await conn.fetch(
                "SELECT attempts, count(*) AS n FROM webhook_deliveries WHERE webhook_id = $1 "
                "GROUP BY attempts ORDER BY attempts",
                hook_id,
            )
        }
        return {"statuses": statuses, "attempts": attempts}
    finally:
        await conn.close()


def drill(args: argparse.Namespace, dsn: str, work: Path) -> tuple[Run, dict[str, Any]]:
    admin = asyncio.run(admin_secret(dsn))
    receiver = Receiver(free_port())
    receiver.start()
    server = Callguard(
        dsn=dsn,
        state=work / "state",
        port=free_port(),
        workers=args.workers,
        log_path=work / "serve.log",
        env={"CALLGUARD_WEBHOOK_ALLOW_HTTP": "true", "CALLGUARD_WEBHOOK_ALLOW_PRIVATE": "true"},
    )
    server.start()
    run = Run()
    figures: dict[str, Any] = {}
    try:
        tenant, key = tenant_key(server.base, admin, "webhook-drill", SCOPES)
        headers = {"Authorization": f"Bearer {key}"}
        hook = httpx.post(
            f"{server.base}/v1/webhooks",
            json={
                "url": f"http://127.0.0.1:{receiver.port}/callguard",
                "events": ["optout.recorded"],
            },
            headers=headers,
            timeout=30,
        )
        hook.raise_for_status()
        receiver.key = base64.b64decode(hook.json()["secret"].removeprefix("whsec_"))
        numbers = numbers_in(day_npas(), args.optouts, random.Random(19))
        asyncio.run(record_optouts(args, server, receiver, headers, numbers, run))

        events = asyncio.run(committed_events(dsn, tenant))
        log(f"{len(events):,} events committed; waiting for every one to be received")
        deadline = time.monotonic() + args.drain_limit
        while not events <= receiver.seen() and time.monotonic() < deadline:
            time.sleep(1)
        time.sleep(5)  # a few seconds more, so duplicates still on their way are counted
        seen = receiver.seen()
        figures = {
            "tenant": tenant,
            "events": len(events),
            "received_unique": len(seen & events),
            "lost": len(events - seen),
            "phantom": len(seen - events),
            "receipts": sum(receiver.ids.values()),
            "duplicated_events": sum(1 for n in receiver.ids.values() if n > 1),
            "extra_receipts": sum(n - 1 for n in receiver.ids.values() if n > 1),
            "bad_signatures": receiver.bad_signatures,
            "drain_after_receiver_up_s": (
                max(receiver.first_at[e] for e in events & seen) - run.receiver_up_at
                if run.receiver_up_at is not None and events & seen
                else None
            ),
            **asyncio.run(delivery_figures(dsn, hook.json()["id"])),
        }
    except BaseException:
        log(f"the drill stopped on an error; the server log was {server.log_path}")
        raise
    finally:
        server.stop()
        receiver.stop()
    if figures["lost"]:
        run.failures.append(f"{figures['lost']} committed events never received")
    if figures["phantom"]:
        run.failures.append(f"{figures['phantom']} received events not committed")
    if figures["bad_signatures"]:
        run.failures.append(f"{figures['bad_signatures']} receipts with a bad signature")
    if set(figures["statuses"]) != {"succeeded"}:
        run.failures.append(f"deliveries not all succeeded: {figures['statuses']}")
    if run.answered != args.optouts:
        run.failures.append(f"{run.answered} opt-outs answered 201 of {args.optouts}")
    return run, figures


def report(args: argparse.Namespace, dsn: str, run: Run, figures: dict[str, Any]) -> None:
    print("## Webhook drill\n")
    print(
        f"`.venv/bin/python bench/webhook_drill.py --optouts {args.optouts} --workers "
        f"{args.workers} --clients {args.clients} --receiver-down {args.receiver_down}`\n"
    )
    print("\n".join(provenance(dsn)))
    print("\n| what | figure |\n|---|---|")
    rows = [
        ("opt-outs answered 201", f"{run.answered:,} in {run.sent_s:.1f} s"),
        ("requests sent again (connection lost to a kill)", f"{run.retried:,}"),
        *(
            (
                f"{k['name']}: `kill -9` of the server group",
                f"after {k['answered']:,} answered ({k['at_s']:.1f} s in), "
                f"back in {k['restart_s']:.1f} s",
            )
            for k in run.kills
        ),
        ("receiver down", f"{args.receiver_down} s, from half the opt-outs answered"),
        ("`optout.opted_out` events committed", f"{figures['events']:,}"),
        ("events received at least once", f"{figures['received_unique']:,}"),
        ("events lost (committed, never received)", f"{figures['lost']}"),
        ("received but never committed", f"{figures['phantom']}"),
        ("receipts in all", f"{figures['receipts']:,}"),
        (
            "duplicates (events received more than once; extra receipts)",
            f"{figures['duplicated_events']} ({figures['extra_receipts']})",
        ),
        ("bad signatures", f"{figures['bad_signatures']}"),
        ("deliveries by status", ", ".join(f"{k} {v:,}" for k, v in figures["statuses"].items())),
        (
            "deliveries by attempts",
            ", ".join(f"{k}: {v:,}" for k, v in figures["attempts"].items()),
        ),
        (
            "last first receipt, after the receiver came back",
            "-"
            if figures["drain_after_receiver_up_s"] is None
            else f"{figures['drain_after_receiver_up_s']:.1f} s",
        ),
    ]
    for what, value in rows:
        print(f"| {what} | {value} |")
    print()
    if run.failures:
        print("**FAILED:**\n")
        for failure in run.failures:
            print(f"- {failure}")
    else:
        print("**Every event was delivered at least once.**")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--optouts", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--receiver-down", type=float, default=60.0)
    parser.add_argument("--drain-limit", type=float, default=900.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="callguard-webhook-drill-") as tmp:
        work = Path(tmp)
        with EmbeddedPostgres(work / "pg") as embedded:
            dsn = embedded.start()
            upgrade(dsn)
            run, figures = drill(args, dsn, work)
            report(args, dsn, run, figures)
    sys.exit(1 if run.failures else 0)


if __name__ == "__main__":
    main()
