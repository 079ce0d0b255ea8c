"""All SQL of DNC lists and entries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import delete, func, literal_column, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from app.core.db import rows_in
from app.core.pagination import PageRequest
from app.dnc.models import DncEntry, DncList, compact_layout

_REFRESH = {"populate_existing": True}


def live() -> ColumnElement[bool]:
    return DncList.deleted_at.is_(None)


async def insert_list(session: AsyncSession, **values: object) -> DncList | None:
    """The new list, or None when a live list of that name exists in the same scope. Its
    layout is fixed now: compact for a global registry list (models.compact_layout)."""
    compact = compact_layout(str(values["scope"]), str(values["kind"]))
    stmt = (
        insert(DncList)
        .values(**values, compact=compact)
        .on_conflict_do_nothing(
            # the index's own expression, spelled as in the index (a bound '' would not match)
            index_elements=[literal_column("coalesce(tenant_id, '')"), DncList.name],
            index_where=live(),
        )
        .returning(DncList)
    )
    return (await session.scalars(stmt, execution_options=_REFRESH)).one_or_none()


async def get_list(
    session: AsyncSession, list_id: str, visible: ColumnElement[bool], *, for_update: bool = False
) -> DncList | None:
    stmt = select(DncList).where(DncList.id == list_id, live(), visible)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt, execution_options=_REFRESH)).one_or_none()


async def live_global_list(session: AsyncSession, name: str) -> DncList | None:
    stmt = select(DncList).where(DncList.tenant_id.is_(None), DncList.name == name, live())
    return (await session.scalars(stmt)).one_or_none()


async def list_lists(
    session: AsyncSession, visible: ColumnElement[bool], page: PageRequest
) -> Sequence[DncList]:
    stmt = select(DncList).where(live(), visible).order_by(DncList.created_at, DncList.id)
    if page.after:
        stmt = stmt.where(tuple_(DncList.created_at, DncList.id) > tuple_(*page.after))
    return (await session.scalars(stmt.limit(page.limit + 1))).all()


async def update_list(session: AsyncSession, list_id: str, **values: object) -> DncList:
    stmt = (
        update(DncList)
        .where(DncList.id == list_id)
        .values(**values, updated_at=func.now())
        .returning(DncList)
    )
    return (await session.scalars(stmt, execution_options=_REFRESH)).one()


async def live_registry_lists(session: AsyncSession) -> Sequence[DncList]:
    """Every live registry list (a few rows, read through their partial index)."""
    stmt = select(DncList).where(DncList.kind == "registry", live())
    return (await session.scalars(stmt, execution_options=_REFRESH)).all()


async def soft_delete_list(session: AsyncSession, list_id: str) -> None:
    await session.execute(
        update(DncList).where(DncList.id == list_id).values(deleted_at=func.now())
    )


async def upsert_entry(
    session: AsyncSession,
    *,
    list_key: int,
    number: int,
    reason: str | None,
    expires_at: datetime | None,
) -> tuple[DncEntry, bool]:
    """The entry and whether it is new (an existing one gets the new reason and expiry)."""
    stmt = insert(DncEntry).values(
        number=number, list_key=list_key, reason=reason, expires_at=expires_at
    )
    upsert = stmt.on_conflict_do_update(
        index_elements=[DncEntry.number, DncEntry.list_key],
        set_={"reason": stmt.excluded.reason, "expires_at": stmt.excluded.expires_at},
    ).returning(DncEntry, (literal_column("xmax") == 0).label("inserted"))
    row = (await session.execute(upsert, execution_options=_REFRESH)).one()
    return row[0], bool(row[1])


async def delete_entry(session: AsyncSession, *, list_key: int, number: int) -> bool:
    result = await session.execute(
        delete(DncEntry).where(DncEntry.list_key == list_key, DncEntry.number == number)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def get_entry(session: AsyncSession, *, list_key: int, number: int) -> DncEntry | None:
    return await session.get(DncEntry, (number, list_key), populate_existing=True)


def _of_list(key: int, alias: str = "") -> str:
    """SQL text: the entries of the list whose entry key is `key` (an int, spelled in).
    The list-order index holds positive keys only: its predicate is spelled out so that any
    plan, generic ones too, may use it; a compact list's (negative) key reads the primary
    key, where its numbers are most of the entries."""
    column = f"{alias}.list_key" if alias else "list_key"
    key = int(key)
    return f"{column} = {key}" + (f" AND {column} > 0" if key > 0 else "")


async def list_entries(
    session: AsyncSession, *, list_key: int, after: int | None, limit: int
) -> Sequence[DncEntry]:
    stmt = select(DncEntry).where(text(_of_list(list_key))).order_by(DncEntry.number)
    if after is not None:
        stmt = stmt.where(DncEntry.number > after)
    return (await session.scalars(stmt.limit(limit + 1))).all()


async def adjust_count(session: AsyncSession, list_id: str, delta: int) -> None:
    await session.execute(
        update(DncList)
        .where(DncList.id == list_id)
        .values(entry_count=DncList.entry_count + delta, updated_at=func.now())
    )


async def lists_holding(
    session: AsyncSession, *, number: int, tenant_id: str | None, every_tenant: bool, at: datetime
) -> Sequence[tuple[DncList, DncEntry]]:
    """Every live list visible to the caller that holds the number unexpired: one index probe."""
    conditions = [
        DncEntry.number == number,
        live(),
        or_(DncEntry.expires_at.is_(None), DncEntry.expires_at > at),
    ]
    if not every_tenant:
        conditions.append(or_(DncList.tenant_id.is_(None), DncList.tenant_id == tenant_id))
    stmt = (
        select(DncList, DncEntry)
        .join(DncList, DncList.entry_key == DncEntry.list_key)
        .where(*conditions)
        .order_by(DncList.scope.desc(), DncEntry.listed_at, DncList.id)  # tenant lists first
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def entries_of_number(
    session: AsyncSession, *, number: int, tenant_id: str | None
) -> Sequence[tuple[DncList, DncEntry]]:
    """The number's entries, expired ones included, on every live list that is global or the
    tenant's (None: global only), tenant lists first: one index probe."""
    owner: ColumnElement[bool] = DncList.tenant_id.is_(None)
    if tenant_id is not None:
        owner = or_(owner, DncList.tenant_id == tenant_id)
    stmt = (
        select(DncList, DncEntry)
        .join(DncList, DncList.entry_key == DncEntry.list_key)
        .where(DncEntry.number == number, live(), owner)
        .order_by(DncList.scope.desc(), DncEntry.listed_at, DncList.id)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def list_names(session: AsyncSession, list_ids: Sequence[str]) -> dict[str, str]:
    """The names of these lists, deleted ones included."""
    if not list_ids:
        return {}
    stmt = select(DncList.id, DncList.name).where(DncList.id.in_(list_ids))
    return {row[0]: row[1] for row in (await session.execute(stmt)).all()}


# an upload's merge, on the upload's own connection inside its transaction (app/dnc/uploads.py)


async def lock_live_list(raw: Any, list_id: str) -> tuple[str, int, int] | None:
    """The live list's (id, entry key, entry count), its row locked until the upload's
    transaction ends."""
    row = await raw.fetchrow(
        "SELECT id, entry_key, entry_count FROM dnc_lists "
        "WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
        list_id,
    )
    if row is None:
        return None
    return str(row["id"]), int(row["entry_key"]), int(row["entry_count"])


async def merge_upload(raw: Any, mode: str, key: int, count: int) -> tuple[int, int]:
    """The upload's `upload_numbers` into the list of entry key `key` holding `count`
    entries (its row locked), set-based: (rows added, rows removed). Sorted input keeps
    index inserts in order."""
    removed = 0
    if mode == "remove":
        status = await raw.execute(
            "DELETE FROM dnc_entries e USING upload_numbers s "
            "WHERE e.list_key = $1 AND e.number = s.number",
            key,
        )
        return 0, rows_in(status)
    if mode == "replace":
        # Stale statistics right after a bulk load (the list's rows not yet analyzed) make
        # the planner believe the list holds one row and pick a nested loop that rescans the
        # set of gone numbers once per entry: seen twice at 10M rows, a DELETE still running
        # after 7 minutes where 70-90 s is normal. A replace reads the whole list anyway, so
        # hash or merge joins are never worse: nested loops are off for this statement.
        await raw.execute("SET LOCAL enable_nestloop = off")
        status = await raw.execute(
            "DELETE FROM dnc_entries e USING ("
            f"  SELECT number FROM dnc_entries WHERE {_of_list(key)}"
            "  EXCEPT SELECT number FROM upload_numbers"
            f") gone WHERE {_of_list(key, 'e')} AND e.number = gone.number"
        )
        removed = rows_in(status)
        await raw.execute("SET LOCAL enable_nestloop = on")
    if count - removed == 0:
        # an empty list (its row is locked, its count kept by every change in the same
        # transaction as the change; a scan would read a compact list's whole index): nothing
        # can conflict, so a plain insert skips the speculative insertion ON CONFLICT pays per
        # row. Should the count ever be behind, the insert fails on the primary key and is
        # undone to its savepoint, and the insert below merges
        try:
            async with raw.transaction():
                status = await raw.execute(
                    "INSERT INTO dnc_entries (number, list_key) "
                    "SELECT number, $1::int FROM upload_numbers",
                    key,
                )
            return rows_in(status), removed
        except asyncpg.UniqueViolationError:
            pass
    status = await raw.execute(
        "INSERT INTO dnc_entries (number, list_key) "
        "SELECT number, $1::int FROM upload_numbers ON CONFLICT DO NOTHING",
        key,
    )
    return rows_in(status), removed


async def adjust_count_on(raw: Any, list_id: str, delta: int, *, refreshed: bool) -> None:
    """The merge's change of the list's count; `refreshed` (an append or replace) also makes
    the list fresh as of now, the merge's finish (its transaction's clock, not its start)."""
    await raw.execute(
        "UPDATE dnc_lists l SET entry_count = l.entry_count + $2, updated_at = t.at, "
        "refreshed_at = CASE WHEN $3 THEN t.at ELSE l.refreshed_at END "
        "FROM (SELECT clock_timestamp() AS at) t WHERE l.id = $1",
        list_id,
        delta,
        refreshed,
    )


# The check's batch lookup, this feature's half (app/checks/repository.py joins the halves into
# one statement): the live, unexpired entries of the numbers $1 (sorted, distinct) on a global
# list or one of the tenants $2, at $3. The numbers go in sorted and distinct, so the primary key
# of dnc_entries is read in one ordered pass (PostgreSQL walks the array's keys in index order,
# skipping the descent where the next key is on the same page) and only the numbers found come
# back. Columns: number, tenant_id, list id, name, scope, listed_at, kind.
CHECK_LOOKUP_LISTED = """
SELECT e.number, l.tenant_id, l.id, l.name, l.scope, e.listed_at, l.kind
FROM dnc_entries e JOIN dnc_lists l ON l.entry_key = e.list_key AND l.deleted_at IS NULL
WHERE e.number = ANY($1::bigint[]) AND (l.tenant_id IS NULL OR l.tenant_id = ANY($2::text[]))
  AND (e.expires_at IS NULL OR e.expires_at > $3)
"""

# The same lookup's freshness half: the live registry lists that apply to the tenants $2 (global
# ones and theirs) and are at $4 (the batch's furthest instant: now, or a later `at`) within a
# week of their maximum age or past it (API-2.md section 12): usually none. Columns: tenant_id,
# list id, name, scope, refreshed_at, max_age_days.
CHECK_LOOKUP_REGISTRY_AGING = """
SELECT l.tenant_id, l.id, l.name, l.scope, l.refreshed_at, l.max_age_days
FROM dnc_lists l
WHERE l.kind = 'registry' AND l.deleted_at IS NULL
  AND (l.tenant_id IS NULL OR l.tenant_id = ANY($2::text[]))
  AND $4 - l.refreshed_at > (l.max_age_days - 7) * interval '1 day'
"""
