"""Accepting an upload of either kind (spool the body, record it, start it after commit) and
reading it back."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import Request, Response
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.datastructures import UploadFile as StarletteUploadFile

from app.auth import idempotency
from app.auth.errors import IdempotencyInProgress, IdempotencyKeyReused
from app.auth.principal import Principal
from app.auth.routing import replayed
from app.callingrules.reference import ReferenceData
from app.core.config import Settings
from app.core.db import Database, after_commit, is_unavailable
from app.core.errors import NotFound, UnsupportedMediaType, ValidationFailed
from app.core.ids import new_id
from app.core.routing import STREAMING_BODY
from app.uploads.importer import STALE_S, run_upload, sweep_stale
from app.uploads.models import Upload
from app.uploads.queue import UploadQueue
from app.uploads.schemas import UploadBase
from app.uploads.spools import open_spool, private_dir

TEXT_TYPES = ("text/csv", "text/plain", "application/octet-stream")
ORPHAN_AFTER_S = 60  # a spooled file of an upload that has ended, untouched this long, goes
ORPHAN_UNRECORDED_S = 3600  # a spooled body with no upload recorded, untouched this long, goes
# the route's request body as documented: the body is streamed, not parsed by FastAPI
UPLOAD_OPENAPI: dict[str, object] = {
    STREAMING_BODY: True,
    "requestBody": {
        "required": True,
        "content": {
            **{
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("text/csv", "text/plain")
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            },
        },
    },
}
log = logging.getLogger("callguard.uploads")


class UploadRunner:
    """Runs uploads in the background of this process and fails the orphans of dead ones."""

    def __init__(
        self,
        database: Database | None,
        reference: ReferenceData,
        spool_dir: Path,
        max_bytes: int | None = None,
        slots: int = 4,
        per_tenant: int = 1,
    ) -> None:
        """`max_bytes`: the most a file may hold once decompressed (gzip), as the upload
        limit holds its body. `slots` uploads run at once, `per_tenant` of one tenant."""
        self._database = database
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
            max_bytes=self.max_bytes,
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
            rows = await session.execute(
                text("SELECT id, status FROM uploads WHERE id = ANY(:ids)"),
                {"ids": list(files)},
            )
            status = {row.id: row.status for row in rows}
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


async def _spool(chunks: AsyncIterator[bytes], path: Path) -> bytes:
    """Write the body to disk as it arrives; its SHA-256 (for Idempotency-Key)."""
    digest = hashlib.sha256()
    with open_spool(path) as out:
        async for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
    return digest.digest()


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """An Idempotency-Key to claim once the body is spooled and hashed."""

    engine: AsyncEngine
    settings: Settings
    scope: str
    key: str
    request: Request


async def _claim(claim: KeyClaim, body_digest: bytes) -> Response | None:
    """A replay of the first response, None when this request holds the key now."""
    fingerprint = idempotency.fingerprint(claim.request, body_digest)
    result = await idempotency.claim(
        claim.engine, claim.settings, scope=claim.scope, key=claim.key, fingerprint=fingerprint
    )
    if result.reused:
        raise IdempotencyKeyReused()
    if result.in_progress:
        raise IdempotencyInProgress()
    return replayed(result.replay) if result.replay is not None else None


async def file_of(request: Request) -> tuple[AsyncIterator[bytes], str | None]:
    """The uploaded file as a stream of bytes, and its media type: the raw body, or the
    `file` field of a multipart form (which Starlette has spooled to disk past 1 MB)."""
    content_type = request.headers.get("content-type")
    if _media(content_type) != "multipart/form-data":
        return request.stream(), content_type
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, StarletteUploadFile):
        raise ValidationFailed.field(
            "file", "missing", "A multipart upload carries the file in a field named `file`."
        )

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(1 << 20):
            yield chunk

    return chunks(), "text/plain"


def runner_of(request: Request) -> UploadRunner:
    runner: UploadRunner = request.app.state.uploads
    return runner


def key_claim_of(request: Request, principal: Principal) -> KeyClaim | None:
    """The request's Idempotency-Key, claimed once the body is spooled (streaming routes)."""
    key = getattr(request.state, "idempotency_key", None)
    if key is None:
        return None
    return KeyClaim(
        request.app.state.db.engine,
        request.app.state.settings,
        principal.idempotency_scope,
        key,
        request,
    )


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


async def accept_upload(
    *,
    session: AsyncSession,
    runner: UploadRunner,
    principal: Principal,
    target: dict[str, object],
    out: type[UploadBase],
    body: AsyncIterator[bytes],
    content_type: str | None,
    content_encoding: str | None,
    mode: str,
    force: bool,
    column: str | None,
    key_claim: KeyClaim | None,
) -> Response:
    """`target`: the kind-specific columns (kind, list_id or channel and source, tenant_id),
    resolved by the caller first, so an unknown target is a 404 before anything else."""
    if _media(content_type) not in TEXT_TYPES:
        raise UnsupportedMediaType(
            "Send the file as the raw body, text/csv or text/plain "
            "(Content-Encoding: gzip allowed)."
        )
    encoding = (content_encoding or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaType("Only gzip is accepted as a Content-Encoding.")
    upload_id = new_id("upl")
    private_dir(runner.spool_dir)
    spool = runner.spool_dir / f"{upload_id}.upload"
    claimed = False
    # the target was read already: the request's connection goes back to the pool while the
    # body arrives (a slow client must not hold one for minutes)
    await session.commit()
    try:
        digest = await _spool(body, spool)
        if key_claim is not None:
            replay = await _claim(key_claim, digest)
            if replay is not None:
                spool.unlink(missing_ok=True)
                return replay
            claimed = True
        row = Upload(
            id=upload_id,
            **target,
            mode=mode,
            force=force,
            column_name=column,
            gzip=encoding == "gzip",
            status="queued",
            errors=[],
            created_by=principal.key_id,
        )
        session.add(row)
        await session.flush()
        await session.refresh(row)
    except BaseException:
        spool.unlink(missing_ok=True)
        if claimed and key_claim is not None:
            await asyncio.shield(
                idempotency.release(key_claim.engine, scope=key_claim.scope, key=key_claim.key)
            )
        raise
    body_bytes = out.model_validate(row, from_attributes=True).model_dump_json().encode()
    response = Response(body_bytes, status_code=202, media_type="application/json")
    tenant = target.get("tenant_id")
    after_commit(
        session, lambda: runner.start(upload_id, spool, tenant if isinstance(tenant, str) else None)
    )
    if key_claim is not None:
        stored = idempotency.Stored(202, "application/json", body_bytes)
        claim = key_claim
        after_commit(
            session,
            lambda: idempotency.complete(
                claim.engine, scope=claim.scope, key=claim.key, stored=stored
            ),
        )
    return response


async def get_upload(
    *,
    session: AsyncSession,
    runner: UploadRunner,
    principal: Principal,
    upload_id: str,
    kind: str,
    out: type[UploadBase],
) -> UploadBase:
    stmt = select(Upload).where(Upload.id == upload_id, Upload.kind == kind)
    if not principal.is_admin:
        mine = Upload.tenant_id == principal.tenant_id
        stmt = stmt.where(Upload.tenant_id.is_(None) | mine)
    row = (await session.scalars(stmt)).one_or_none()
    if row is None:
        raise NotFound("No such upload.")
    if row.status in ("queued", "running") and await sweep_stale(runner.database.engine):
        await session.refresh(row)  # its process died: it reads as failed, never stuck running
    upload = out.model_validate(row, from_attributes=True)
    if row.tenant_id is None and not principal.is_admin:
        # a global upload's rows are the platform's: a tenant sees where and why, not what
        upload.errors = [{k: v for k, v in e.items() if k != "value"} for e in upload.errors]
    return upload


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
