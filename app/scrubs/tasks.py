"""Running scrubs in the background of a process: read the spooled file in chunks, decide each
chunk as checks would (app/scrubs/deciding.py), write the result file in input order, and only
then mark the scrub `succeeded` with its `scrub.finished` event, in one transaction. A heartbeat
carries live `rows_read`; the sweeper fails a scrub whose heartbeat stopped (its process died),
deletes result files past their retention and files no scrub will read.

The result is written to `<id>.partial` and renamed to `<id>.csv` before the scrub is marked
succeeded; a result is served only for a succeeded scrub, so a crash never serves a partial
result as complete."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.checks import repository as checks_repository
from app.checks.service import Context
from app.core.db import Database, is_unavailable, plain_url
from app.events.repository import record_event_on
from app.scrubs import repository
from app.scrubs.deciding import RESULT_COLUMNS, Chunk, Decider
from app.scrubs.errors import ScrubFailed
from app.scrubs.reading import RowReader
from app.uploads.errors import UploadFailed
from app.uploads.fileformat import FileFormatError
from app.uploads.spools import open_spool, private_dir

CHUNK_ROWS = 50_000  # the lookup reads the index in one ordered pass: denser keys, fewer pages
HEARTBEAT_S = 3.0
STALE_S = 15  # a scrub whose heartbeat is older than this lost its process
ORPHAN_AFTER_S = 60
ORPHAN_UNRECORDED_S = 3600
PURGE_EVERY_S = 600.0
INTERRUPTED = {"error": "interrupted", "message": "The scrub was interrupted; it has no result."}
SCRUB_SESSION = {
    "application_name": "callguard-scrub",
    "statement_timeout": "0",
    "client_connection_check_interval": "1000",
}
log = logging.getLogger("callguard.scrubs")

# the scrub's row -> the check context its rows are decided in (the current reference snapshot)
ContextOf = Callable[[Mapping[str, Any]], Awaitable[Context]]
Progress = Callable[[int], None]
Lookup = tuple["asyncio.Future[Any]", datetime]  # a chunk's lookup in flight, and its instant


def input_path(folder: Path, scrub_id: str) -> Path:
    return folder / f"{scrub_id}.input"


def result_path(folder: Path, scrub_id: str) -> Path:
    return folder / f"{scrub_id}.csv"


def is_stale(heartbeat_at: datetime) -> bool:
    return heartbeat_at < datetime.now(UTC) - timedelta(seconds=STALE_S)


async def sweep_stale(engine: AsyncEngine) -> int:
    return await repository.fail_stale(engine, STALE_S, INTERRUPTED)


class _Counter:
    def __init__(self) -> None:
        self.rows = 0


@contextlib.asynccontextmanager
async def _heartbeat(engine: AsyncEngine, scrub_id: str, counter: _Counter) -> AsyncIterator[None]:
    async def tick() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            with contextlib.suppress(Exception):  # a missed beat only delays progress
                await repository.beat(engine, scrub_id, counter.rows)

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_scrub(
    *,
    engine: AsyncEngine,
    scrub_id: str,
    folder: Path,
    context_of: ContextOf,
    max_bytes: int | None,
    retention_days: int,
    on_progress: Progress | None = None,
) -> None:
    """Runs a queued scrub to `succeeded` or `failed`; never raises for the scrub's own faults."""
    spool = input_path(folder, scrub_id)
    partial = folder / f"{scrub_id}.partial"
    counter = _Counter()
    try:
        row = await repository.scrub_row(engine, scrub_id)
        if row is None or not await repository.mark_running(engine, scrub_id):
            return
        async with _heartbeat(engine, scrub_id, counter):
            ctx = await context_of(row)
            await _run(
                engine,
                row,
                ctx,
                spool,
                partial,
                folder,
                counter,
                max_bytes,
                retention_days,
                on_progress,
            )
    except (ScrubFailed, UploadFailed) as exc:
        await _fail(engine, scrub_id, counter.rows, exc.failure)
    except FileFormatError as exc:
        await _fail(
            engine, scrub_id, counter.rows, {"error": "unreadable_file", "message": str(exc)}
        )
    except Exception:
        log.exception("scrub failed", extra={"scrub_id": scrub_id})
        await _fail(
            engine,
            scrub_id,
            counter.rows,
            {"error": "internal_error", "message": "The scrub failed; it has no result."},
        )
    finally:
        spool.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)


async def _fail(
    engine: AsyncEngine, scrub_id: str, rows: int, failure: Mapping[str, object]
) -> None:
    with contextlib.suppress(Exception):  # the sweeper fails it later if the database is away
        await repository.mark_failed(engine, scrub_id, rows, failure)


async def _run(
    engine: AsyncEngine,
    row: Mapping[str, Any],
    ctx: Context,
    spool: Path,
    partial: Path,
    folder: Path,
    counter: _Counter,
    max_bytes: int | None,
    retention_days: int,
    on_progress: Progress | None,
) -> None:
    scrub_id = row["id"]
    decider = Decider(ctx, row["at"], row["channel"], row["purpose"])
    raw = await asyncpg.connect(
        plain_url(engine.url), command_timeout=None, server_settings=SCRUB_SESSION
    )
    try:
        await checks_repository.prefer_generic_plans(raw)
        reader = await asyncio.to_thread(
            RowReader, spool, is_gzip=row["gzip"], column=row["column_name"], max_bytes=max_bytes
        )
        digest = hashlib.sha256()
        try:
            with open_spool(partial) as out:
                head = _csv_line([*reader.header, *RESULT_COLUMNS])
                out.write(head)
                digest.update(head)

                def read_and_prepare() -> Chunk | None:
                    rows, values = reader.chunk(CHUNK_ROWS)
                    return decider.prepare(rows, values) if rows else None

                def decide_and_write(chunk: Chunk, found: list[Any], now: datetime) -> None:
                    data = decider.decide(chunk, found, now)
                    out.write(data)
                    digest.update(data)

                def look_up(chunk: Chunk) -> Lookup:
                    """The chunk's lookup, sent now, with the instant it reads entries at."""
                    now = datetime.now(UTC)  # entries expiring by now no longer match
                    if not chunk.numbers:
                        return asyncio.ensure_future(_nothing()), now
                    scope: tuple[list[int], datetime, datetime] = (
                        (chunk.capped, *chunk.span) if chunk.span else ([], now, now)
                    )
                    tenants = [ctx.tenant_id] if ctx.tenant_id else []
                    sent = checks_repository.look_up(
                        raw, chunk.numbers, tenants, now, max(now, decider.at), scope
                    )
                    return asyncio.ensure_future(sent), now

                # three stages overlap: PostgreSQL looks up chunk k+1 while one thread decides
                # and writes chunk k and another reads and prepares chunk k+2
                following = asyncio.ensure_future(asyncio.to_thread(read_and_prepare))
                pending: Lookup | None = None
                try:
                    chunk = await following
                    if chunk is not None:
                        pending = look_up(chunk)
                        following = asyncio.ensure_future(asyncio.to_thread(read_and_prepare))
                    while chunk is not None:
                        assert pending is not None
                        found, now = list(await pending[0]), pending[1]
                        pending = None
                        upcoming = await following
                        if upcoming is not None:
                            pending = look_up(upcoming)
                            following = asyncio.ensure_future(asyncio.to_thread(read_and_prepare))
                        await asyncio.to_thread(decide_and_write, chunk, found, now)
                        counter.rows += len(chunk.rows)
                        if on_progress is not None:
                            on_progress(counter.rows)
                        chunk = upcoming
                finally:  # on a failure, nothing is left reading the file or the connection
                    if pending is not None:
                        pending[0].cancel()
                        with contextlib.suppress(BaseException):
                            await pending[0]
                    with contextlib.suppress(BaseException):
                        await following
                out.flush()
                os.fsync(out.fileno())
        finally:
            await asyncio.to_thread(reader.close)
        final = result_path(folder, scrub_id)
        partial.replace(final)
        try:
            async with raw.transaction():
                summary = dict(decider.summary)
                result_sha256 = digest.hexdigest()
                finished_at = await record_event_on(
                    raw,
                    type="scrub.finished",
                    target=scrub_id,
                    tenant_id=row["tenant_id"],
                    actor_key_id=row["created_by"],
                    details={
                        "rows_read": counter.rows,
                        "summary": summary,
                        "at": row["at"].isoformat(),
                        "input_sha256": row["input_sha256"],
                        "result_sha256": result_sha256,
                    },
                )
                done = await repository.mark_succeeded(
                    raw,
                    scrub_id,
                    finished_at=finished_at,
                    rows_read=counter.rows,
                    summary=summary,
                    result_sha256=result_sha256,
                    retention_days=retention_days,
                )
                if not done:  # the sweeper failed it meanwhile: no result is served
                    raise ScrubFailed(**INTERRUPTED)
        except BaseException:
            final.unlink(missing_ok=True)
            raise
    finally:
        await raw.close()


async def _nothing() -> list[Any]:
    return []


def _csv_line(fields: list[str]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    csv.writer(out).writerow(fields)
    return out.getvalue().encode()


class ScrubRunner:
    """Runs this process's scrubs one at a time (each takes a core), keeps the waiting ones'
    heartbeats, and sweeps: dead processes' scrubs failed, expired results and orphan files
    deleted."""

    def __init__(
        self,
        database: Database | None,
        folder: Path,
        context_of: ContextOf,
        *,
        max_bytes: int | None,
        retention_days: int,
        slots: int = 1,
    ) -> None:
        self._database = database
        self.folder = folder
        self.context_of = context_of
        self.max_bytes = max_bytes
        self.retention_days = retention_days
        self._slots = asyncio.Semaphore(slots)
        self._tasks: set[asyncio.Task[None]] = set()
        self._last_purge = 0.0

    @property
    def database(self) -> Database:
        assert self._database is not None, "the app's lifespan sets the database"
        return self._database

    @database.setter
    def database(self, value: Database) -> None:
        self._database = value

    def start(self, scrub_id: str) -> None:
        task = asyncio.create_task(self._run(scrub_id), name=f"scrub-{scrub_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, scrub_id: str) -> None:
        engine = self.database.engine
        waiting = asyncio.create_task(self._keep_queued(engine, scrub_id))
        try:
            async with self._slots:
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting
                await run_scrub(
                    engine=engine,
                    scrub_id=scrub_id,
                    folder=self.folder,
                    context_of=self.context_of,
                    max_bytes=self.max_bytes,
                    retention_days=self.retention_days,
                )
        finally:
            waiting.cancel()

    async def _keep_queued(self, engine: AsyncEngine, scrub_id: str) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            with contextlib.suppress(Exception):
                await repository.beat(engine, scrub_id, 0)

    async def wait(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def sweep(self, now: float | None = None) -> None:
        engine = self.database.engine
        await sweep_stale(engine)
        now = time.time() if now is None else now
        if now - self._last_purge >= PURGE_EVERY_S:
            self._last_purge = now
            await self.purge_expired()
        await self.remove_orphans(now)

    async def purge_expired(self) -> int:
        """Delete result files past their retention; the scrubs and their hashes stay."""
        engine = self.database.engine
        expired = await repository.expired_results(engine)
        for scrub_id in expired:
            result_path(self.folder, scrub_id).unlink(missing_ok=True)
        if expired:
            await repository.mark_results_deleted(engine, expired)
        return len(expired)

    async def remove_orphans(self, now: float) -> int:
        """Files no scrub will read: those of scrubs that failed (killed mid-run), once
        untouched for a minute, and inputs never recorded, once untouched for an hour."""
        if not self.folder.is_dir():
            return 0
        files: dict[str, list[Path]] = {}
        for path in self.folder.iterdir():
            files.setdefault(path.name.split(".", 1)[0], []).append(path)
        if not files:
            return 0
        async with self.database.sessionmaker() as session:
            status = await repository.statuses(session, list(files))
        removed = 0
        for scrub_id, paths in files.items():
            state = status.get(scrub_id)
            for path in paths:
                keep = state in ("queued", "running") or (
                    state == "succeeded" and path.suffix == ".csv"
                )
                if keep:
                    continue
                idle = ORPHAN_UNRECORDED_S if state is None else ORPHAN_AFTER_S
                try:
                    if now - path.stat().st_mtime > idle:
                        path.unlink()
                        removed += 1
                except OSError:
                    pass
        return removed

    async def sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception as exc:
                if not is_unavailable(exc):
                    log.exception("scrub sweep failed")
            await asyncio.sleep(STALE_S / 3)

    def prepare_folder(self) -> Path:
        return private_dir(self.folder)


@contextlib.asynccontextmanager
async def running(runner: ScrubRunner) -> AsyncIterator[None]:
    """The runner's sweeper for the life of the app; running scrubs are let finish."""
    sweeper = asyncio.create_task(runner.sweep_forever(), name="scrub-sweeper")
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
