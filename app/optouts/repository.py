"""All SQL of opt-outs. Events are appended; the state row of (tenant, number) follows each
event in the same statement, so it can never disagree with the history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import channels
from app.core.channels import CHANNELS
from app.optouts.models import OptOutEvent, OptOutState

RETURNED = "RETURNING id, tenant_id, number, channel, kind, source, occurred_at"


def _picked(channel: str) -> str:
    """The state columns of one channel from an event row `ins` (NULL when it does not apply)."""
    applies = f"ins.channel IN ('{channel}', 'all')"
    return (
        f"{applies} AND ins.kind = 'opt_out', "
        f"CASE WHEN {applies} THEN ins.occurred_at END, "
        f"CASE WHEN {applies} THEN ins.id END, "
        f"CASE WHEN {applies} THEN ins.channel END, "
        f"CASE WHEN {applies} THEN ins.source END"
    )


def _newer(channel: str) -> str:
    """SET clauses: a channel takes the event when it applies and is not older than the
    event deciding it now (equal times: the later-recorded event wins)."""
    cond = (
        f"EXCLUDED.{channel}_at IS NOT NULL AND "
        f"(s.{channel}_at IS NULL OR EXCLUDED.{channel}_at >= s.{channel}_at)"
    )
    return ", ".join(
        f"{channel}_{col} = CASE WHEN {cond} THEN EXCLUDED.{channel}_{col} "
        f"ELSE s.{channel}_{col} END"
        # every SET expression reads the row as it was before the update
        for col in ("out", "event_id", "channel", "source", "at")
    )


def _state_columns() -> str:
    cols = ["tenant_id", "number"]
    for channel in CHANNELS:
        cols += [f"{channel}_{c}" for c in ("out", "at", "event_id", "channel", "source")]
    return ", ".join(cols)


def apply_events(insert_events: str) -> str:
    """One statement: `insert_events` (an INSERT INTO optout_events … without RETURNING) and
    the state rows it moves; it returns the number of events. Its input must hold each
    (tenant, number) at most once."""
    return (
        f"WITH ins AS ({insert_events} {RETURNED}), "
        f"applied AS (INSERT INTO optout_state AS s ({_state_columns()}) "
        f"SELECT ins.tenant_id, ins.number, {_picked('voice')}, {_picked('sms')} FROM ins "
        f"ON CONFLICT (tenant_id, number) DO UPDATE SET "
        f"{_newer('voice')}, {_newer('sms')}, updated_at = now()) "
        "SELECT count(*) FROM ins"
    )


INSERT_ONE = apply_events(
    "INSERT INTO optout_events "
    "(id, tenant_id, number, channel, kind, source, occurred_at, note, actor_key_id) "
    "VALUES (:id, :tenant_id, :number, :channel, :kind, :source, :occurred_at, :note, :actor)"
)


async def insert_event(session: AsyncSession, **values: Any) -> None:
    await session.execute(text(INSERT_ONE), values)


async def state_for_update(
    session: AsyncSession, *, tenant_id: str, number: int
) -> OptOutState | None:
    stmt = (
        select(OptOutState)
        .where(OptOutState.tenant_id == tenant_id, OptOutState.number == number)
        .with_for_update()
    )
    return (await session.scalars(stmt, execution_options={"populate_existing": True})).first()


async def state(session: AsyncSession, *, tenant_id: str, number: int) -> OptOutState | None:
    return await session.get(OptOutState, (tenant_id, number), populate_existing=True)


async def history(session: AsyncSession, *, tenant_id: str, number: int) -> Sequence[OptOutEvent]:
    stmt = (
        select(OptOutEvent)
        .where(OptOutEvent.tenant_id == tenant_id, OptOutEvent.number == number)
        .order_by(OptOutEvent.occurred_at.desc(), OptOutEvent.seq.desc())
    )
    return (await session.scalars(stmt)).all()


async def history_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    number: int,
    before: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[OptOutEvent]:
    """Up to `limit` events of one number, newest first by when they occurred, before `before`
    (occurred_at, id; ids compared byte by byte): a range of ix_optout_events_history."""
    key = OptOutEvent.id.collate("C")
    stmt = (
        select(OptOutEvent)
        .where(OptOutEvent.tenant_id == tenant_id, OptOutEvent.number == number)
        .order_by(OptOutEvent.occurred_at.desc(), key.desc())
        .limit(limit)
    )
    if before is not None:
        at, id_ = before
        stmt = stmt.where(
            OptOutEvent.occurred_at <= at, or_(OptOutEvent.occurred_at < at, key < id_)
        )
    return (await session.scalars(stmt)).all()


async def opted_out(
    session: AsyncSession, *, tenant_id: str, channel: str | None, after: int | None, limit: int
) -> Sequence[OptOutState]:
    """Numbers opted out now (on `channel`, or on any), in number order."""
    stmt = (
        select(OptOutState)
        .where(OptOutState.tenant_id == tenant_id, OptOutState.voice_out | OptOutState.sms_out)
        .order_by(OptOutState.number)
    )
    if channel == "voice":
        stmt = stmt.where(OptOutState.voice_out)
    elif channel == "sms":
        stmt = stmt.where(OptOutState.sms_out)
    if after is not None:
        stmt = stmt.where(OptOutState.number > after)
    return (await session.scalars(stmt.limit(limit + 1))).all()


def latest(row: OptOutState) -> datetime | None:
    times = [t for t in (row.voice_at, row.sms_at) if t is not None]
    return max(times) if times else None


# an upload's merge, on the upload's own connection inside its transaction (app/optouts/uploads.py)

# one opt-out event per number of the upload (ids made in SQL: 'oo_' and 128 random bits)
_INSERT_UPLOADED = apply_events(
    "INSERT INTO optout_events "
    "(id, tenant_id, number, channel, kind, source, occurred_at, actor_key_id, upload_id) "
    "SELECT 'oo_' || replace(gen_random_uuid()::text, '-', ''), $1, number, $2, 'opt_out', "
    "$3, now(), $4, $5 FROM upload_numbers ORDER BY number"
)


def _already_out(channel: str) -> str:
    covered = channels.covered(channel)
    return " AND ".join(f"s.{c}_out" for c in covered)


async def count_uploaded_already_out(raw: Any, tenant_id: str, channel: str) -> int:
    """How many of the upload's numbers are opted out on `channel` already."""
    return int(
        await raw.fetchval(
            "SELECT count(*) FROM upload_numbers u JOIN optout_state s "
            f"ON s.tenant_id = $1 AND s.number = u.number WHERE {_already_out(channel)}",
            tenant_id,
        )
    )


async def opt_out_uploaded(
    raw: Any, *, tenant_id: str, channel: str, source: str, actor: str | None, upload_id: str
) -> int:
    """An opt-out event for each of the upload's numbers, and the state they move; how many."""
    return int(await raw.fetchval(_INSERT_UPLOADED, tenant_id, channel, source, actor, upload_id))


# The check's batch lookup, this feature's half (app/checks/repository.py joins the halves into
# one statement): the opt-out state of the numbers $1 for the tenants $2, where one opts out.
# Columns: number, tenant_id, then (out, at, channel, source) for voice and for sms.
CHECK_LOOKUP_OPTED_OUT = """
SELECT s.number, s.tenant_id,
  s.voice_out, s.voice_at, s.voice_channel, s.voice_source,
  s.sms_out, s.sms_at, s.sms_channel, s.sms_source
FROM optout_state s
WHERE s.tenant_id = ANY($2::text[]) AND s.number = ANY($1::bigint[]) AND (s.voice_out OR s.sms_out)
"""
