"""What the reliability drills share (bench/crash_drill.py, bench/outage_drill.py, bench/soak.py):
a real `callguard serve` process pointed with DATABASE_URL at an embedded PostgreSQL that the
drill itself owns (so callguard never starts or stops the database), keys made through the API,
the process tree's memory, and the lines that say where and on what a result was measured.

Not a benchmark itself: run as a script (`make bench` runs every file here) it does nothing.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil

from app.areacodes.data import load_area_codes
from app.auth import service as auth_service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.config import Settings
from app.core.db import Database
from app.core.embedded import EmbeddedPostgres
from app.dnc.models import compact_layout
from app.reference.snapshot import AreaCode

ROOT = Path(__file__).resolve().parent.parent
# a fixed instant inside calling hours in every contiguous US zone (Monday 10:30-13:30 local)
IN_HOURS = "2026-11-23T18:30:00Z"
# the same Monday at 03:30-06:30 local in the contiguous US: outside calling hours
AT_NIGHT = "2026-11-23T11:30:00Z"
CONTIGUOUS_ZONES = frozenset(
    {
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Phoenix",
        "America/Detroit",
        "America/Boise",
        "America/Indiana/Indianapolis",
        "America/Kentucky/Louisville",
    }
)


def log(message: str) -> None:
    """Progress goes to standard error; the Markdown summary alone to standard output."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def us_npas(zones: Collection[str]) -> dict[str, AreaCode]:
    """The US geographic area codes in service whose every time zone is one of these."""
    return {
        npa: code
        for npa, code in load_area_codes().items()
        if code.in_service
        and code.geographic
        and code.country == "US"
        and code.time_zones
        and set(code.time_zones) <= set(zones)
    }


def day_npas() -> list[str]:
    """Area codes of the contiguous US whose every zone is in calling hours at IN_HOURS."""
    return sorted(us_npas(CONTIGUOUS_ZONES))


def numbers_in(
    npas: list[str], count: int, rng: random.Random, avoid: set[int] | None = None
) -> list[int]:
    """`count` distinct valid numbers (ten digits as integers) in these area codes."""
    avoid = avoid or set()
    seen: set[int] = set()
    out: list[int] = []
    while len(out) < count:
        nxx = rng.randint(200, 999)
        if nxx % 100 == 11 or nxx == 555:
            continue
        number = int(f"{rng.choice(npas)}{nxx}{rng.randint(0, 9999):04d}")
        if number not in seen and number not in avoid:
            seen.add(number)
            out.append(number)
    return out


async def load_global_list(
    dsn: str, numbers: list[int], list_id: str, name: str, kind: str = "internal"
) -> None:
    """A global DNC list of these numbers and `kind` (a registry: 31 days' maximum age and the
    compact layout, as the service makes one), written straight into the tables by COPY (in
    number order) and analyzed: the fastest way to a registry-sized list for a benchmark."""
    conn = await asyncpg.connect(dsn)
    try:
        key = await conn.fetchval(
            "INSERT INTO dnc_lists (id, scope, name, entry_count, kind, max_age_days, compact) "
            "VALUES ($1, 'global', $2, $3, $4, $5, $6) RETURNING entry_key",
            list_id,
            name,
            len(numbers),
            kind,
            31 if kind == "registry" else None,
            compact_layout("global", kind),
        )
        await conn.copy_records_to_table(
            "dnc_entries",
            records=((n, key) for n in sorted(numbers)),
            columns=["number", "list_key"],
        )
        await conn.execute("VACUUM ANALYZE dnc_entries")
    finally:
        await conn.close()


def cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """The CPU seconds (user and system) these processes have used, those gone meanwhile
    left out."""
    total = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_tree(embedded: EmbeddedPostgres) -> list[psutil.Process]:
    """The postmaster of this data directory and every process under it."""
    (postmaster,) = embedded.processes()
    return [postmaster, *postmaster.children(recursive=True)]


def postgres_cpu(embedded: EmbeddedPostgres) -> float:
    """CPU seconds of the embedded PostgreSQL: its postmaster, the children it has reaped
    (autovacuum workers come and go) and those running now; no other on the machine. A child
    that exits between the two readings is in neither (a short autovacuum worker, now and then)."""
    tree = postgres_tree(embedded)
    reaped = tree[0].cpu_times()
    return cpu_seconds(tree) + reaped.children_user + reaped.children_system


def serve_env(
    dsn: str, state: Path, env: dict[str, str] | None = None, tree: Path | None = None
) -> dict[str, str]:
    """The environment of `callguard serve` on `dsn` with its data in `state`, `env` (more
    CALLGUARD_ variables) on top; `tree`: another checkout's code (a worktree, for A/B)."""
    served = {
        **os.environ,
        "DATABASE_URL": dsn,
        "CALLGUARD_DATA_DIR": str(state),
        # the drills call with one key: its request budget must not be what they measure
        "CALLGUARD_KEY_RATE_PER_S": "1000000000",
        "CALLGUARD_KEY_BURST": "1000000000",
        **(env or {}),
    }
    if tree is not None:
        served["PYTHONPATH"] = str(tree)
    return served


def serve_command(port: int, workers: int) -> list[str]:
    """`callguard serve` on this port with this many workers, as every bench starts it (the
    environment from `serve_env`, the working directory the tree to serve)."""
    serve = [sys.executable, "-m", "app.cli", "serve"]
    return [*serve, "--port", str(port), "--workers", str(workers)]


class Callguard:
    """`callguard serve` in a process group of its own, logging to a file (appended across
    restarts). Stopped with SIGTERM, or killed with SIGKILL to the whole group."""

    def __init__(
        self,
        *,
        dsn: str,
        state: Path,
        port: int,
        workers: int,
        log_path: Path,
        env: dict[str, str] | None = None,
        tree: Path | None = None,
        prefix: list[str] | None = None,
    ) -> None:
        """`tree`: the checkout whose code to serve (default this one; another commit's
        worktree, for A/B comparisons); `prefix`: a command to run the server under (valgrind)."""
        self.source = tree or ROOT
        self.port = port
        self.workers = workers
        self.log_path = log_path
        self.base = f"http://127.0.0.1:{port}"
        self.env = serve_env(dsn, state, env, tree)
        self.prefix = prefix or []
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout_s: float = 90) -> float:
        """Start and wait until /readyz answers 200; the seconds that took."""
        assert self.process is None or self.process.poll() is not None, "already running"
        command = [*self.prefix, *serve_command(self.port, self.workers)]
        started = time.monotonic()
        with self.log_path.open("ab") as out:
            out.write(f"\n==== start {self.starts + 1} at {datetime.now(UTC)} ====\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                command,
                cwd=self.source,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches it all
            )
        self.starts += 1
        deadline = started + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"callguard serve exited ({self.process.returncode}); see log")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"callguard serve was not ready within {timeout_s} s")

    def tree(self) -> list[psutil.Process]:
        """The serve process and every process under it (uvicorn's workers)."""
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def pids(self) -> set[int]:
        return {proc.pid for proc in self.tree()}

    def rss_bytes(self) -> int:
        total = 0
        for proc in self.tree():
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.tree())

    def kill9(self, on_signalled: Callable[[], None] | None = None) -> None:
        """SIGKILL to the whole process group, then wait until every member is gone (the
        workers, orphaned, may take a moment to be reaped)."""
        assert self.process is not None
        members = self.tree()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if on_signalled is not None:
            on_signalled()
        self.process.wait(timeout=30)
        _, alive = psutil.wait_procs(members, timeout=30)
        if alive:
            raise RuntimeError(f"processes survived SIGKILL: {[p.pid for p in alive]}")

    def stop(self) -> None:
        """SIGTERM to the group (a graceful stop), SIGKILL if it has not ended within 30 s."""
        if self.process is None or self.process.poll() is not None:
            return
        members = self.tree()
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        except ProcessLookupError:
            pass
        psutil.wait_procs(members, timeout=10)


async def admin_secret(dsn: str) -> str:
    """A platform admin key, made in the database directly (the server need not be up)."""
    settings = Settings(database_url=dsn)
    database = Database.from_url(dsn, settings)
    try:
        async with database.sessionmaker() as session, session.begin():
            _, secret = await auth_service.create_key(
                session=session, principal=None, data=ApiKeyIn(name="drill", scopes=[Scope.ADMIN])
            )
    finally:
        await database.dispose()
    return secret


def tenant_key(base: str, admin: str, name: str, scopes: list[str]) -> tuple[str, str]:
    """A new tenant and a key of it: (tenant id, key secret)."""
    headers = {"Authorization": f"Bearer {admin}"}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        tenant = client.post("/v1/tenants", json={"name": name})
        tenant.raise_for_status()
        tenant_id = str(tenant.json()["id"])
        key = client.post(
            "/v1/api-keys", json={"name": name, "scopes": scopes, "tenant_id": tenant_id}
        )
        key.raise_for_status()
        return tenant_id, str(key.json()["key"])


async def fetchval(dsn: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def provenance(dsn: str | None) -> list[str]:
    """Where and on what this ran: date, machine, software, commit (and whether app/ differs
    from it: another engineer may be editing the working tree)."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "log", "--oneline", "-1"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "app", "migrations"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    version = "?"
    if dsn is not None:
        try:
            version = str(asyncio.run(fetchval(dsn, "SHOW server_version")))
        except Exception:  # the drill may end with the database down
            version = "?"
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    memory = psutil.virtual_memory().total / 2**30
    return [
        f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}, {memory:.0f} GiB RAM, load average {load} at the end",
        f"- Python {platform.python_version()}, PostgreSQL {version} (embedded, owned by the "
        "drill, reached with DATABASE_URL)",
        f"- Commit: `{commit.split(' ', 1)[0]}`"
        + (" with uncommitted changes under app/ or migrations/" if dirty else ""),
    ]


def cpu_model() -> str:
    """The processor as the kernel reports it, with its family and model (a VM may show only
    the vendor's line name; an ARM kernel gives its implementer and part instead): ratios
    differ from one CPU to another (docs/BENCHMARKS.md, issue 22, ninth round), so every
    result names it. "?" when the kernel does not say."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                key, _, value = line.partition(":")
                if not key.strip():
                    break  # the first processor's block is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        return platform.processor() or "?"
    name = fields.get("model name") or platform.processor() or platform.machine() or "?"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    elif "CPU implementer" in fields and "CPU part" in fields:
        name += f" (implementer {fields['CPU implementer']}, part {fields['CPU part']})"
    return name


def machine() -> str:
    """The results' machine line: host, processor and cores."""
    return f"{platform.node()} ({cpu_model()}, {os.cpu_count()} cores)"
