"""Accepting an upload of either kind (spool the body, record it, start it after commit) and
reading it back."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TypeVar

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile as StarletteUploadFile

from app.auth.principal import Principal
from app.auth.routing import streamed_claim
from app.core.db import after_commit
from app.core.errors import UnsupportedMediaType, ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page
from app.core.routing import STREAMING_BODY
from app.uploads import repository
from app.uploads.errors import UploadNotFound
from app.uploads.importer import is_stale, sweep_stale
from app.uploads.models import Upload
from app.uploads.runner import UploadRunner
from app.uploads.schemas import UploadBase, UploadSummary
from app.uploads.spools import open_spool, private_dir

TEXT_TYPES = ("text/csv", "text/plain", "application/octet-stream")
# the route's request body as documented: the body is streamed, not parsed by FastAPI. The
# multipart form first (Swagger UI offers the first, here a file picker); then the raw body as
# application/octet-stream, the one raw form client generators understand (openapi-python-client
# warns "Unsupported content type" at text/csv and text/plain and leaves them out). The text
# types are the same bytes read the same way, so they are named in the description instead.
UPLOAD_OPENAPI: dict[str, object] = {
    STREAMING_BODY: True,
    "requestBody": {
        "required": True,
        "description": (
            "The file: the `file` field of a `multipart/form-data` form, or the raw body sent as "
            "`application/octet-stream`, `text/csv` or `text/plain` (all read the same way; "
            "`Content-Encoding: gzip`, or a gzipped file, is inflated)."
        ),
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The file: one number a line, or CSV.",
                        }
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
}
log = logging.getLogger("callguard.uploads")


async def _spool(chunks: AsyncIterator[bytes], path: Path) -> bytes:
    """Write the body to disk as it arrives; its SHA-256 (for Idempotency-Key)."""
    digest = hashlib.sha256()
    with open_spool(path) as out:
        async for chunk in chunks:
            out.write(chunk)
            digest.update(chunk)
    return digest.digest()


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


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


async def accept_upload(
    request: Request,
    *,
    runner: UploadRunner,
    session: AsyncSession,
    principal: Principal,
    target: dict[str, object],
    out: type[UploadBase],
    mode: str,
    force: bool,
    column: str | None,
) -> Response:
    """`target`: the kind-specific columns (kind, list_id or channel and source, tenant_id),
    resolved by the caller first, so an unknown target is a 404 before anything else. The
    file is the request's body (raw or the `file` field of a form), spooled as it arrives."""
    body, content_type = await file_of(request)
    content_encoding = request.headers.get("content-encoding")
    key_claim = streamed_claim(request, principal)
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
            replay = await key_claim.take(request, digest)
            if replay is not None:
                spool.unlink(missing_ok=True)
                return replay
            claimed = True
        row = await repository.add_upload(
            session,
            id=upload_id,
            **target,
            mode=mode,
            force=force,
            column_name=column,
            gzip=encoding == "gzip",
            created_by=principal.key_id,
        )
    except BaseException:
        spool.unlink(missing_ok=True)
        if claimed and key_claim is not None:
            await key_claim.release()
        raise
    body_bytes = out.model_validate(row, from_attributes=True).model_dump_json().encode()
    response = Response(body_bytes, status_code=202, media_type="application/json")
    tenant = row.tenant_id
    after_commit(session, lambda: runner.start(upload_id, spool, tenant))
    if key_claim is not None:
        claim = key_claim
        after_commit(session, lambda: claim.complete(202, "application/json", body_bytes))
    return response


async def get_upload(
    *,
    runner: UploadRunner,
    session: AsyncSession,
    principal: Principal,
    upload_id: str,
    kind: str,
    out: type[UploadBase],
) -> UploadBase:
    row = await repository.visible_upload(
        session, upload_id, kind, principal.tenant_id, every_tenant=principal.is_admin
    )
    if row is None:
        raise UploadNotFound()
    if row.status in ("queued", "running") and is_stale(row.heartbeat_at):
        # its process died: it reads as failed, never stuck running (a live upload's progress,
        # polled by the console every half second, costs no sweep)
        if await sweep_stale(runner.database.engine):
            await session.refresh(row)
    upload = out.model_validate(row, from_attributes=True)
    if row.tenant_id is None and not principal.is_admin:
        # a global upload's rows are the platform's: a tenant sees where and why, not what
        upload.errors = [{k: v for k, v in e.items() if k != "value"} for e in upload.errors]
    return upload


Summary = TypeVar("Summary", bound=UploadSummary)


async def list_uploads(
    *,
    runner: UploadRunner,
    session: AsyncSession,
    kind: str,
    out: type[Summary],
    statuses: Sequence[str],
    tenant_id: str | None,
    every_tenant: bool,
    with_global: bool,
    page: PageRequest,
    list_id: str | None = None,
) -> tuple[list[Summary], str | None]:
    """A page of the uploads of this kind the caller may see, newest first (`statuses`: any
    of them; empty: every status). An upload whose process died reads as failed, as one read
    alone does."""

    async def read() -> Sequence[Upload]:
        return await repository.list_uploads(
            session,
            kind=kind,
            statuses=statuses,
            tenant_id=tenant_id,
            every_tenant=every_tenant,
            with_global=with_global,
            list_id=list_id,
            page=page,
        )

    rows = await read()
    if any(r.status in ("queued", "running") and is_stale(r.heartbeat_at) for r in rows):
        if await sweep_stale(runner.database.engine):
            rows = await read()
    kept, cursor = cut_page(rows, page)
    return [out.model_validate(row, from_attributes=True) for row in kept], cursor
