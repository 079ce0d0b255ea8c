"""Every statement on the `scrubs` table, and the scrub's lookup (the check's own statement,
app/checks/repository.py LOOKUP, run on the scrub's driver connection).

Statements on the scrub's own connection take `raw` (asyncpg); the rest run on the pool, each
in a short transaction. Instants are `clock_timestamp()`: when it happened."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.pagination import PageRequest
from app.scrubs.models import Scrub


async def _run(engine: AsyncEngine, sql: str, **params: object) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(text(sql), params)
    return int(getattr(result, "rowcount", 0) or 0)


async def add_scrub(session: AsyncSession, **columns: Any) -> Scrub:
    """A new scrub, `queued`, in the request's transaction."""
    row = Scrub(status="queued", **columns)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


def _visible(tenant_id: str | None, every_tenant: bool) -> Any:
    if every_tenant:
        return None
    return Scrub.tenant_id.is_(None) if tenant_id is None else Scrub.tenant_id == tenant_id


async def visible_scrub(
    session: AsyncSession, scrub_id: str, tenant_id: str | None, every_tenant: bool
) -> Scrub | None:
    """The scrub, if the caller may see it: its own tenant's (every one for the platform)."""
    stmt = select(Scrub).where(Scrub.id == scrub_id)
    owner = _visible(tenant_id, every_tenant)
    if owner is not None:
        stmt = stmt.where(owner)
    return (await session.scalars(stmt)).one_or_none()


async def list_scrubs(
    session: AsyncSession, *, tenant_id: str | None, every_tenant: bool, page: PageRequest
) -> Sequence[Scrub]:
    """Up to `page.limit + 1` scrubs, newest first, after the page's cursor."""
    stmt = select(Scrub).order_by(Scrub.created_at.desc(), Scrub.id.desc())
    owner = _visible(tenant_id, every_tenant)
    if owner is not None:
        stmt = stmt.where(owner)
    if page.after is not None:
        stmt = stmt.where(tuple_(Scrub.created_at, Scrub.id) < tuple_(*page.after))
    return (await session.scalars(stmt.limit(page.limit + 1))).all()


async def scrub_row(engine: AsyncEngine, scrub_id: str) -> Mapping[str, Any] | None:
    async with engine.connect() as conn:
        result = await conn.execute(text("SELECT * FROM scrubs WHERE id = :id"), {"id": scrub_id})
        row = result.mappings().first()
    return dict(row) if row is not None else None


async def statuses(session: AsyncSession, scrub_ids: Sequence[str]) -> dict[str, str]:
    rows = await session.execute(
        text("SELECT id, status FROM scrubs WHERE id = ANY(:ids)"), {"ids": list(scrub_ids)}
    )
    return {row.id: row.status for row in rows}


async def mark_running(engine: AsyncEngine, scrub_id: str) -> int:
    return await _run(
        engine,
        "UPDATE scrubs SET status = 'running', heartbeat_at = clock_timestamp() "
        "WHERE id = :id AND status = 'queued'",
        id=scrub_id,
    )


async def beat(engine: AsyncEngine, scrub_id: str, rows_read: int) -> None:
    """A queued or running scrub's heartbeat, with its live progress."""
    await _run(
        engine,
        "UPDATE scrubs SET heartbeat_at = clock_timestamp(), rows_read = :rows "
        "WHERE id = :id AND status IN ('queued', 'running')",
        id=scrub_id,
        rows=rows_read,
    )


async def mark_failed(
    engine: AsyncEngine, scrub_id: str, rows_read: int, failure: Mapping[str, object]
) -> None:
    await _run(
        engine,
        "UPDATE scrubs SET status = 'failed', finished_at = clock_timestamp(), rows_read = :rows, "
        "failure = CAST(:failure AS jsonb) WHERE id = :id AND status IN ('queued', 'running')",
        id=scrub_id,
        rows=rows_read,
        failure=json.dumps(failure),
    )


async def fail_stale(engine: AsyncEngine, stale_s: float, failure: Mapping[str, object]) -> int:
    """Fail the scrubs whose heartbeat is older than `stale_s` (their process died)."""
    return await _run(
        engine,
        "UPDATE scrubs SET status = 'failed', finished_at = clock_timestamp(), "
        "failure = CAST(:failure AS jsonb) WHERE status IN ('queued', 'running') "
        "AND heartbeat_at < clock_timestamp() - make_interval(secs => :stale)",
        stale=stale_s,
        failure=json.dumps(failure),
    )


async def expired_results(engine: AsyncEngine) -> list[str]:
    """The succeeded scrubs whose result is past its retention and not yet deleted."""
    async with engine.connect() as conn:
        result = await conn.execute(
            text(
                "SELECT id FROM scrubs WHERE status = 'succeeded' AND result_deleted_at IS NULL "
                "AND expires_at < clock_timestamp()"
            )
        )
        return [str(r) for r in result.scalars()]


async def mark_results_deleted(engine: AsyncEngine, scrub_ids: Sequence[str]) -> None:
    await _run(
        engine,
        "UPDATE scrubs SET result_deleted_at = clock_timestamp() WHERE id = ANY(:ids)",
        ids=list(scrub_ids),
    )


# on the scrub's own connection


async def mark_succeeded(
    raw: Any,
    scrub_id: str,
    *,
    finished_at: datetime,
    rows_read: int,
    summary: Mapping[str, int],
    result_sha256: str,
    retention_days: int,
) -> int:
    """The scrub's end, in the transaction that records its event; 0 if it was failed meanwhile
    (the sweeper thought its process dead): then nothing is served as complete."""
    status: str = await raw.execute(
        "UPDATE scrubs SET status = 'succeeded', finished_at = $2::timestamptz, rows_read = $3, "
        "summary = $4::jsonb, result_sha256 = $5, "
        "expires_at = $2::timestamptz + make_interval(days => $6::int) "
        "WHERE id = $1 AND status = 'running'",
        scrub_id,
        finished_at,
        rows_read,
        json.dumps(dict(summary)),
        result_sha256,
        retention_days,
    )
    return int(status.rsplit(" ", 1)[-1])
