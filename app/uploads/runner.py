"""The upload runner of a process: runs accepted uploads in the background (in the queue's
order), sweeps the orphans of dead processes and the spooled files no upload will read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

from app.core.db import Database, is_unavailable
from app.reference.snapshot import ReferenceData
from app.uploads import repository
from app.uploads.importer import STALE_S, RowKinds, Targets, run_upload, sweep_stale
from app.uploads.queue import UploadQueue

ORPHAN_AFTER_S = 60  # a spooled file of an upload that has ended, untouched this long, goes
ORPHAN_UNRECORDED_S = 3600  # a spooled body with no upload recorded, untouched this long, goes
log = logging.getLogger("callguard.uploads")


class UploadRunner:
    """Runs uploads in the background of this process and fails the orphans of dead ones."""

    def __init__(
        self,
        database: Database | None,
        reference: ReferenceData,
        spool_dir: Path,
        targets: Targets,
        max_bytes: int | None = None,
        slots: int = 4,
        per_tenant: int = 1,
        row_kinds: RowKinds | None = None,
    ) -> None:
        """`targets`: what each kind of upload merges into (given by the features that own
        those tables). `max_bytes`: the most a file may hold once decompressed (gzip), as the
        upload limit holds its body. `slots` uploads run at once, `per_tenant` of one tenant.
        `row_kinds`: the parsers of the kinds whose rows have several columns (consents)."""
        self._database = database
        self.targets = targets
        self.row_kinds = row_kinds or {}
        self.reference = reference
        self.spool_dir = spool_dir
        self.max_bytes = max_bytes
        self.queue = UploadQueue(slots, per_tenant)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def database(self) -> Database:
        assert self._database is not None, "the app's lifespan sets the database"
        return self._database

    @database.setter
    def database(self, value: Database) -> None:
        self._database = value

    def start(self, upload_id: str, spool: Path, tenant: str | None = None) -> None:
        task = asyncio.create_task(self._run(upload_id, spool, tenant), name=f"upload-{upload_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, upload_id: str, spool: Path, tenant: str | None) -> None:
        async with self.queue.turn(self.database.engine, upload_id, tenant):
            await self._import(upload_id, spool)

    async def _import(self, upload_id: str, spool: Path) -> None:
        snapshot = await self.reference.current(self.database.sessionmaker)
        await run_upload(
            engine=self.database.engine,
            upload_id=upload_id,
            spool=spool,
            in_service=snapshot.in_service,
            targets=self.targets,
            max_bytes=self.max_bytes,
            row_kinds=self.row_kinds,
            snapshot=snapshot,
        )

    async def sweep_forever(self) -> None:
        while True:
            try:
                await sweep_stale(self.database.engine)
                await self.remove_orphan_spools()
            except Exception as exc:
                if not is_unavailable(exc):  # it sweeps again next round whatever went wrong
                    log.exception("upload sweep failed")
            await asyncio.sleep(STALE_S / 3)

    async def remove_orphan_spools(self, now: float | None = None) -> int:
        """Delete spooled files no upload will read: those of uploads that ended (a process
        killed mid-upload leaves its file behind) once untouched for ORPHAN_AFTER_S, and
        bodies whose request died before its upload was recorded once untouched for
        ORPHAN_UNRECORDED_S (a slow client may still be sending one). Workers and
        `callguard dnc import` share the folder, so the database says which are live."""
        if not self.spool_dir.is_dir():
            return 0
        now = time.time() if now is None else now
        files = {
            path.name.removesuffix(".upload"): path for path in self.spool_dir.glob("*.upload")
        }
        if not files:
            return 0
        async with self.database.sessionmaker() as session:
            status = await repository.statuses(session, list(files))
        removed = 0
        for upload_id, path in files.items():
            state = status.get(upload_id)
            if state in ("queued", "running"):
                continue
            idle = ORPHAN_UNRECORDED_S if state is None else ORPHAN_AFTER_S
            try:
                if now - path.stat().st_mtime > idle:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
            except OSError as exc:  # a file it may not touch must not stop the sweeper
                log.warning("could not remove spooled file: %s", type(exc).__name__)
        return removed

    async def wait(self) -> None:
        """Let running uploads finish (tests and a graceful stop)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


@contextlib.asynccontextmanager
async def running(runner: UploadRunner) -> AsyncIterator[None]:
    """The runner's sweeper for the life of the app."""
    sweeper = asyncio.create_task(runner.sweep_forever(), name="upload-sweeper")
    try:
        yield
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
