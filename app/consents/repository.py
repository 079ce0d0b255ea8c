"""All SQL of consents. Rows are appended and, once, revoked; a trigger refuses anything else
(migration 0015), so the table is its own history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.consents.models import Consent

Row = Consent  # what the service gets (other features do not import the model)


async def add_consent(session: AsyncSession, **columns: Any) -> Consent:
    """A new consent in the request's transaction, as stored. Its `created_at` is the moment
    it is written (`clock_timestamp()`, not the transaction's start), read back."""
    row = Consent(**columns, created_at=func.clock_timestamp())
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row


async def get_consent(
    session: AsyncSession, *, tenant_id: str, consent_id: str, for_update: bool = False
) -> Consent | None:
    """The tenant's consent (another tenant's is not found)."""
    stmt = select(Consent).where(Consent.id == consent_id, Consent.tenant_id == tenant_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt, execution_options={"populate_existing": True})).first()


_REVOKE = text(
    "UPDATE consents SET revoked_at = clock_timestamp(), revoked_by = :actor "
    "WHERE id = :id AND revoked_at IS NULL"
)


async def revoke(session: AsyncSession, *, consent_id: str, actor: str | None) -> None:
    """Revoke a consent not revoked yet (the trigger lets exactly this change through)."""
    await session.execute(_REVOKE, {"id": consent_id, "actor": actor})


def in_force_at(at: datetime) -> ColumnElement[bool]:
    """Obtained, not expired and not revoked at `at`: `obtained_at <= at < expires_at`."""
    return and_(
        Consent.revoked_at.is_(None) | (Consent.revoked_at > at),
        Consent.obtained_at <= at,
        Consent.expires_at.is_(None) | (Consent.expires_at > at),
    )


async def page(
    session: AsyncSession,
    *,
    tenant_id: str,
    number: int | None,
    basis: str | None,
    active: bool | None,
    now: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> Sequence[Consent]:
    """Up to `limit` of the tenant's consents, newest first by `created_at` (then id), after
    the cursor; `active`: in force at `now` (True) or not (False)."""
    stmt = (
        select(Consent)
        .where(Consent.tenant_id == tenant_id)
        .order_by(Consent.created_at.desc(), Consent.id.desc())
        .limit(limit)
    )
    if number is not None:
        stmt = stmt.where(Consent.number == number)
    if basis is not None:
        stmt = stmt.where(Consent.basis == basis)
    if active is not None:
        stmt = stmt.where(in_force_at(now) if active else not_(in_force_at(now)))
    if after is not None:
        stmt = stmt.where(tuple_(Consent.created_at, Consent.id) < tuple_(*after))
    return (await session.scalars(stmt)).all()


async def in_force(
    session: AsyncSession, *, tenant_id: str, number: int, at: datetime
) -> Sequence[Consent]:
    """The tenant's consents for a number in force at `at`, newest obtained first."""
    stmt = (
        select(Consent)
        .where(Consent.tenant_id == tenant_id, Consent.number == number, in_force_at(at))
        .order_by(Consent.obtained_at.desc(), Consent.id.desc())
    )
    return (await session.scalars(stmt)).all()


# A number's consents as a timeline: each consent once as granted (at its `obtained_at`) and,
# if revoked, once more (at its `revoked_at`); `key` orders equal instants (ids byte by byte,
# a revocation's key is its consent's id and a suffix)
_CHANGES = """
SELECT * FROM (
  SELECT c.id, 'granted' AS change, c.obtained_at AS at, c.id AS key
  FROM consents c WHERE c.tenant_id = :tenant_id AND c.number = :number
  UNION ALL
  SELECT c.id, 'revoked', c.revoked_at, c.id || '.revoked'
  FROM consents c
  WHERE c.tenant_id = :tenant_id AND c.number = :number AND c.revoked_at IS NOT NULL
) changes
"""


async def changes_page(
    session: AsyncSession,
    *,
    tenant_id: str,
    number: int,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[str, datetime, str, Consent]]:
    """Up to `limit` of a number's consent changes, newest first, before `before` (at, key):
    (change: `granted` | `revoked`, at, key, the consent)."""
    params: dict[str, Any] = {"tenant_id": tenant_id, "number": number, "limit": limit}
    where = ""
    if before is not None:
        params["at"], params["key"] = before
        where = 'WHERE at <= :at AND (at < :at OR key COLLATE "C" < :key COLLATE "C")'
    rows = (
        await session.execute(
            text(f'{_CHANGES} {where} ORDER BY at DESC, key COLLATE "C" DESC LIMIT :limit'),
            params,
        )
    ).all()
    if not rows:
        return []
    consents = {
        row.id: row
        for row in await session.scalars(
            select(Consent).where(Consent.id.in_({r.id for r in rows}))
        )
    }
    return [(r.change, r.at, r.key, consents[r.id]) for r in rows]


# an upload's merge, on the upload's own connection inside its transaction (app/consents/uploads.py)

# the staging table's columns, in the order each accepted row's COPY text gives them
UPLOAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("number", "bigint"),
    ("basis", "text"),
    ("obtained_at", "timestamptz"),
    ("expires_at", "timestamptz"),
    ("channel", "text"),
    ("evidence", "text"),
)
# a consent per unique row of the upload (`upload_rows`, deduped), but none for a row the tenant
# holds already, revoked or not: an old file sent again never brings back a revoked consent
# (ids made in SQL: 'cns_' and 128 random bits)
_INSERT_UPLOADED = """
WITH ins AS (
  INSERT INTO consents (id, tenant_id, number, basis, obtained_at, expires_at, channel, source,
    evidence, created_at, created_by, upload_id)
  SELECT 'cns_' || replace(gen_random_uuid()::text, '-', ''), $1::text, u.number, u.basis,
    u.obtained_at, u.expires_at, u.channel, $2::text, u.evidence, clock_timestamp(), $3::text,
    $4::text
  FROM upload_rows u
  WHERE NOT EXISTS (
    SELECT FROM consents c
    WHERE c.tenant_id = $1::text AND c.number = u.number AND c.basis = u.basis
      AND c.obtained_at = u.obtained_at AND c.expires_at IS NOT DISTINCT FROM u.expires_at
      AND c.channel = u.channel AND c.evidence = u.evidence)
  ORDER BY u.number, u.obtained_at
  RETURNING 1)
SELECT count(*) FROM ins
"""


async def add_uploaded(
    raw: Any, *, tenant_id: str, source: str, actor: str | None, upload_id: str
) -> int:
    """A consent for each of the upload's rows the tenant does not hold yet; how many."""
    return int(await raw.fetchval(_INSERT_UPLOADED, tenant_id, source, actor, upload_id))


# The check's batch lookup, this feature's half (app/checks/repository.py joins the halves into
# one statement): the consents the tenants $2 hold for the numbers that `numbers` (an SQL
# expression for a bigint array) names — the numbers found on a registry list, the only matches
# a consent can waive — revoked or not, in force or not: each check keeps those in force at its
# own instant and channel (app/checks/matching.py). Columns: number, tenant_id, id, basis,
# channel, obtained_at, expires_at, revoked_at.
def check_lookup_consented(numbers: str) -> str:
    return f"""
SELECT c.number, c.tenant_id, c.id, c.basis, c.channel, c.obtained_at, c.expires_at, c.revoked_at
FROM consents c
WHERE c.tenant_id = ANY($2::text[]) AND c.number = ANY({numbers})
"""
