"""Every statement on the `uploads` table and the upload's staging tables.

Statements that run on the upload's own driver connection (inside the merge's transaction)
take `raw`, an asyncpg connection; the rest run on the pool, each in a short transaction.
Instants the upload reports are `clock_timestamp()`: when it happened, never when the
transaction began.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import defer

from app.core.db import rows_in
from app.core.pagination import PageRequest
from app.uploads.models import Upload

SORT_MEMORY = "256MB"


async def _run(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
    return int(getattr(result, "rowcount", 0) or 0)


async def add_upload(session: AsyncSession, **columns: Any) -> Upload:
    """A new upload row, `queued`, in the request's transaction."""
    row = Upload(status="queued", errors=[], **columns)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def visible_upload(
    session: AsyncSession, upload_id: str, kind: str, tenant_id: str | None, every_tenant: bool
) -> Upload | None:
    """The upload, if it is of this kind and the caller may see it: its tenant's or a global
    one (every one for the platform)."""
    stmt = select(Upload).where(Upload.id == upload_id, Upload.kind == kind)
    if not every_tenant:
        stmt = stmt.where(Upload.tenant_id.is_(None) | (Upload.tenant_id == tenant_id))
    return (await session.scalars(stmt)).one_or_none()


async def statuses(session: AsyncSession, upload_ids: Sequence[str]) -> dict[str, str]:
    rows = await session.execute(
        text("SELECT id, status FROM uploads WHERE id = ANY(:ids)"), {"ids": list(upload_ids)}
    )
    return {row.id: row.status for row in rows}


async def mark_running(engine: AsyncEngine, upload_id: str) -> None:
    await _run(
        engine,
        "UPDATE uploads SET status = 'running', phase = 'reading', "
        "heartbeat_at = clock_timestamp() WHERE id = :id",
        id=upload_id,
    )


async def mark_failed(engine: AsyncEngine, upload_id: str, failure: Mapping[str, object]) -> None:
    await _run(
        engine,
        "UPDATE uploads SET status = 'failed', phase = NULL, finished_at = clock_timestamp(), "
        "failure = CAST(:failure AS jsonb) WHERE id = :id",
        id=upload_id,
        failure=json.dumps(failure),
    )


async def record_rows(
    engine: AsyncEngine, upload_id: str, read: int, rejected: int, errors: list[dict[str, object]]
) -> None:
    await _run(
        engine,
        "UPDATE uploads SET rows_read = :read, rows_rejected = :rejected, "
        "errors = CAST(:errors AS jsonb) WHERE id = :id",
        id=upload_id,
        read=read,
        rejected=rejected,
        errors=json.dumps(errors),
    )


async def beat_running(
    engine: AsyncEngine, upload_id: str, read: int, rejected: int, phase: str
) -> None:
    """The running upload's heartbeat, with its progress and phase."""
    await _run(
        engine,
        "UPDATE uploads SET heartbeat_at = clock_timestamp(), rows_read = :read, "
        "rows_rejected = :rejected, phase = :phase WHERE id = :id AND status = 'running'",
        id=upload_id,
        read=read,
        rejected=rejected,
        phase=phase,
    )


async def beat_queued(engine: AsyncEngine, upload_ids: Sequence[str]) -> None:
    """The heartbeat of uploads waiting in this process's queue."""
    await _run(
        engine,
        "UPDATE uploads SET heartbeat_at = clock_timestamp() "
        "WHERE id = ANY(:ids) AND status = 'queued'",
        ids=list(upload_ids),
    )


async def fail_stale(engine: AsyncEngine, stale_s: float, failure: Mapping[str, object]) -> int:
    """Fail the uploads whose heartbeat is older than `stale_s` (their process died)."""
    return await _run(
        engine,
        "UPDATE uploads SET status = 'failed', phase = NULL, finished_at = clock_timestamp(), "
        "failure = "
        "CAST(:failure AS jsonb) WHERE status IN ('queued', 'running') "
        "AND heartbeat_at < clock_timestamp() - make_interval(secs => :stale)",
        stale=stale_s,
        failure=json.dumps(failure),
    )


# on the upload's own connection, inside its transaction


async def upload_row(raw: Any, upload_id: str) -> Mapping[str, Any] | None:
    row: Mapping[str, Any] | None = await raw.fetchrow(
        "SELECT * FROM uploads WHERE id = $1", upload_id
    )
    return row


async def begin_merge(raw: Any) -> None:
    """No statement timeout, and room for the dedupe sort in memory, for this transaction."""
    await raw.execute("SET LOCAL statement_timeout = 0")
    await raw.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")


async def stage_numbers(raw: Any, chunks: AsyncIterator[bytes], *, mode: str) -> int:
    """COPY the file's numbers into a staging table, then one sort into `upload_numbers`:
    unique numbers in number order, read in that order by every merge (so index inserts arrive
    in key order). The count of unique numbers."""
    await raw.execute("CREATE TEMP TABLE upload_staging (number bigint) ON COMMIT DROP")
    await raw.copy_to_table("upload_staging", source=chunks, columns=["number"])
    status = await raw.execute(
        "CREATE TEMP TABLE upload_numbers ON COMMIT DROP AS "
        "SELECT DISTINCT number FROM upload_staging ORDER BY number"
    )
    if mode == "remove":
        # the one join whose plan could probe this table once per list entry
        await raw.execute("CREATE UNIQUE INDEX ON upload_numbers (number)")
    await raw.execute("ANALYZE upload_numbers")
    return rows_in(status)


async def stage_rows(
    raw: Any, chunks: AsyncIterator[bytes], columns: Sequence[tuple[str, str]]
) -> int:
    """COPY the file's rows into a staging table of the kind's `columns` (name, SQL type: its
    owner's fixed words, never a client's), then identical rows once into `upload_rows`, which
    the kind's merge reads. The count of unique rows."""
    names = [name for name, _ in columns]
    declared = ", ".join(f"{name} {kind}" for name, kind in columns)
    await raw.execute(f"CREATE TEMP TABLE upload_row_staging ({declared}) ON COMMIT DROP")
    await raw.copy_to_table("upload_row_staging", source=chunks, columns=names)
    status = await raw.execute(
        "CREATE TEMP TABLE upload_rows ON COMMIT DROP AS SELECT DISTINCT * FROM upload_row_staging"
    )
    await raw.execute("ANALYZE upload_rows")
    return rows_in(status)


async def mark_succeeded(
    raw: Any,
    upload_id: str,
    *,
    finished_at: datetime,
    counts: Mapping[str, int],
    errors: list[dict[str, object]],
) -> None:
    await raw.execute(
        "UPDATE uploads SET status = 'succeeded', phase = NULL, finished_at = $2, "
        "heartbeat_at = $2, rows_read = $3, rows_accepted = $4, rows_rejected = $5, "
        "rows_added = $6, rows_removed = $7, rows_duplicate = $8, errors = $9::jsonb "
        "WHERE id = $1",
        upload_id,
        finished_at,
        counts["rows_read"],
        counts["rows_accepted"],
        counts["rows_rejected"],
        counts["rows_added"],
        counts["rows_removed"],
        counts["rows_duplicate"],
        json.dumps(errors),
    )


_FRESH = {"populate_existing": True}  # read again after a sweep failed some


async def list_uploads(
    session: AsyncSession,
    *,
    kind: str,
    statuses: Sequence[str],
    tenant_id: str | None,
    every_tenant: bool,
    with_global: bool,
    list_id: str | None,
    page: PageRequest,
) -> Sequence[Upload]:
    """Uploads of this kind the caller may see, newest first, without their row errors: its
    tenant's, global ones too when `with_global` (every one for the platform)."""
    stmt = (
        select(Upload)
        .options(defer(Upload.errors, raiseload=True))
        .where(Upload.kind == kind)
        .order_by(Upload.created_at.desc(), Upload.id.desc())
    )
    if not every_tenant:
        own = Upload.tenant_id == tenant_id
        stmt = stmt.where(or_(Upload.tenant_id.is_(None), own) if with_global else own)
    if statuses:
        stmt = stmt.where(Upload.status.in_(statuses))
    if list_id is not None:
        stmt = stmt.where(Upload.list_id == list_id)
    if page.after:
        stmt = stmt.where(tuple_(Upload.created_at, Upload.id) < tuple_(*page.after))
    rows = await session.scalars(stmt.limit(page.limit + 1), execution_options=_FRESH)
    return rows.all()
