"""Accepting a scrub (spool the body as uploads do, record it, start it after commit), reading
scrubs back, and streaming a result."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.auth.routing import streamed_claim
from app.core.db import after_commit
from app.core.errors import UnsupportedMediaType, ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page
from app.core.schemas import EARLIEST_YEAR, LATEST_YEAR
from app.scrubs import repository
from app.scrubs.deciding import RESULT_COLUMNS, keep
from app.scrubs.errors import ScrubNotFound, ScrubResultGone, ScrubResultNotReady
from app.scrubs.models import Scrub
from app.scrubs.schemas import ScrubOut
from app.scrubs.tasks import ScrubRunner, input_path, is_stale, result_path, sweep_stale
from app.uploads.service import TEXT_TYPES, file_of
from app.uploads.spools import open_spool

READ_BYTES = 1 << 20
FILTER_ROWS = 5000


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def instant(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    if not EARLIEST_YEAR <= at.year <= LATEST_YEAR:
        raise ValidationFailed.field(
            "at", "out of range", f"at must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
        )
    return at.astimezone(UTC)


async def _spool(chunks: AsyncIterator[bytes], path: Path) -> bytes:
    digest = hashlib.sha256()
    with open_spool(path) as out:
        async for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
    return digest.digest()


async def accept_scrub(
    request: Request,
    *,
    runner: ScrubRunner,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str | None,
    at: datetime | None,
    channel: str,
    purpose: str,
    column: str | None,
) -> Response:
    when = instant(at)
    body, content_type = await file_of(request)
    key_claim = streamed_claim(request, principal)
    if _media(content_type) not in TEXT_TYPES:
        raise UnsupportedMediaType(
            "Send the file as the raw body, text/csv or text/plain "
            "(Content-Encoding: gzip allowed)."
        )
    encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip"):
        raise UnsupportedMediaType("Only gzip is accepted as a Content-Encoding.")
    scrub_id = new_id("scr")
    runner.prepare_folder()
    spool = input_path(runner.folder, scrub_id)
    claimed = False
    await session.commit()  # the connection goes back to the pool while the body arrives
    try:
        digest = await _spool(body, spool)
        if key_claim is not None:
            replay = await key_claim.take(request, digest)
            if replay is not None:
                spool.unlink(missing_ok=True)
                return replay
            claimed = True
        row = await repository.add_scrub(
            session,
            id=scrub_id,
            tenant_id=tenant_id,
            created_by=principal.key_id,
            at=when,
            channel=channel,
            purpose=purpose,
            column_name=column,
            gzip=encoding == "gzip",
            input_sha256=digest.hex(),
        )
    except BaseException:
        spool.unlink(missing_ok=True)
        if claimed and key_claim is not None:
            await key_claim.release()
        raise
    body_bytes = ScrubOut.model_validate(row).model_dump_json().encode()
    after_commit(session, lambda: runner.start(scrub_id))
    if key_claim is not None:
        claim = key_claim
        after_commit(session, lambda: claim.complete(202, "application/json", body_bytes))
    return Response(body_bytes, status_code=202, media_type="application/json")


async def _visible(
    session: AsyncSession, runner: ScrubRunner, principal: Principal, scrub_id: str
) -> Scrub:
    row = await repository.visible_scrub(
        session, scrub_id, principal.tenant_id, every_tenant=principal.is_admin
    )
    if row is None:
        raise ScrubNotFound()
    if row.status in ("queued", "running") and is_stale(row.heartbeat_at):
        if await sweep_stale(runner.database.engine):  # its process died: it reads as failed
            await session.refresh(row)
    return row


async def get_scrub(
    *, runner: ScrubRunner, session: AsyncSession, principal: Principal, scrub_id: str
) -> ScrubOut:
    return ScrubOut.model_validate(await _visible(session, runner, principal, scrub_id))


async def list_scrubs(
    *, runner: ScrubRunner, session: AsyncSession, principal: Principal, page: PageRequest
) -> tuple[list[ScrubOut], str | None]:
    async def read() -> list[Scrub]:
        return list(
            await repository.list_scrubs(
                session, tenant_id=principal.tenant_id, every_tenant=principal.is_admin, page=page
            )
        )

    rows = await read()
    if any(r.status in ("queued", "running") and is_stale(r.heartbeat_at) for r in rows):
        if await sweep_stale(runner.database.engine):
            rows = await read()
    kept, cursor = cut_page(rows, page)
    return [ScrubOut.model_validate(row) for row in kept], cursor


async def open_result(
    *, runner: ScrubRunner, session: AsyncSession, principal: Principal, scrub_id: str
) -> tuple[BinaryIO, str]:
    """The succeeded scrub's result file, opened (it may be purged while it is sent), and the
    file name to offer."""
    row = await _visible(session, runner, principal, scrub_id)
    if row.status != "succeeded":
        raise ScrubResultNotReady()
    if row.result_deleted_at is not None or (
        row.expires_at is not None and row.expires_at <= datetime.now(UTC)
    ):
        raise ScrubResultGone()
    try:
        handle = result_path(runner.folder, scrub_id).open("rb")
    except FileNotFoundError:
        raise ScrubResultGone() from None
    return handle, f"{scrub_id}.csv"


async def result_chunks(handle: BinaryIO, only: str) -> AsyncIterator[bytes]:
    """The result as stored (`all`), or its header and the rows whose result is in `only`."""
    try:
        if only == "all":
            while data := await asyncio.to_thread(handle.read, READ_BYTES):
                yield data
            return
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        rows = csv.reader(text)
        header = next(rows, None)
        if header is None:
            return
        at = -len(RESULT_COLUMNS)  # the result's own columns are every row's last
        yield _lines([header])

        def some() -> list[list[str]]:
            out = []
            for row in rows:
                if len(row) >= -at and keep(row[at], only):
                    out.append(row)
                    if len(out) >= FILTER_ROWS:
                        break
            return out

        while True:
            picked = await asyncio.to_thread(some)
            if not picked:
                # `some` stops early only when it has rows; none means the end
                return
            yield _lines(picked)
    finally:
        handle.close()


def _lines(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()
