"""Consents and established business relationships of a tenant (API-2.md section 13): record,
read, list, revoke; what is in force for a number; a number's consent timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.principal import Principal
from app.consents import repository
from app.consents.errors import ConsentNotFound
from app.consents.expiry import default_expiry
from app.consents.schemas import ConsentIn, ConsentOut
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page
from app.core.schemas import rfc3339_utc
from app.events.repository import record_event
from app.numbers.parsing import PhoneNumber
from app.reference.snapshot import AreaCode

CREATED, REVOKED = "consent.created", "consent.revoked"  # change events
# a client clock a little ahead is tolerated; a consent obtained later than that is a mistake
MAX_CLOCK_SKEW = timedelta(minutes=5)


def country_of(npa: str, area_codes: Mapping[str, AreaCode]) -> str | None:
    """The country of a number's area code (`US`, `CA`, …) in the reference snapshot."""
    code = area_codes.get(npa)
    return code.country if code is not None else None


def expiry_of(
    basis: str,
    obtained_at: datetime,
    expires_at: datetime | None,
    npa: str,
    area_codes: Mapping[str, AreaCode],
) -> datetime | None:
    """`expires_at` as given, or the default of the basis for the number's country."""
    if expires_at is not None:
        return expires_at
    return default_expiry(basis, obtained_at, country_of(npa, area_codes))


def is_active(row: repository.Row, now: datetime) -> bool:
    """In force at `now`: obtained, not expired, not revoked."""
    return (
        (row.revoked_at is None or row.revoked_at > now)
        and row.obtained_at <= now
        and (row.expires_at is None or row.expires_at > now)
    )


def consent_out(row: repository.Row, now: datetime | None = None) -> ConsentOut:
    return ConsentOut(
        id=row.id,
        phone=f"+1{row.number:010d}",
        basis=row.basis,
        obtained_at=row.obtained_at,
        expires_at=row.expires_at,
        channel=row.channel,
        source=row.source,
        evidence=row.evidence,
        created_at=row.created_at,
        created_by=row.created_by,
        upload_id=row.upload_id,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
        active=is_active(row, now or datetime.now(UTC)),
    )


def _event_details(row: repository.Row) -> dict[str, object]:
    expires = row.expires_at
    return {
        "consent_id": row.id,
        "phone": f"+1{row.number:010d}",
        "basis": row.basis,
        "channel": row.channel,
        "expires_at": rfc3339_utc(expires) if expires else None,
    }


async def create_consent(
    *,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    number: PhoneNumber,
    data: ConsentIn,
    area_codes: Mapping[str, AreaCode],
) -> ConsentOut:
    """Record a consent; its expiry defaults by basis and the number's country."""
    problems = []
    if data.obtained_at > datetime.now(UTC) + MAX_CLOCK_SKEW:
        problems.append({"field": "obtained_at", "problem": "must not be in the future"})
    if data.expires_at is not None and data.expires_at <= data.obtained_at:
        problems.append({"field": "expires_at", "problem": "must be after obtained_at"})
    if problems:
        raise ValidationFailed.fields(problems)
    row = await repository.add_consent(
        session,
        id=new_id("cns"),
        tenant_id=tenant_id,
        number=number.as_int,
        basis=data.basis,
        obtained_at=data.obtained_at,
        expires_at=expiry_of(data.basis, data.obtained_at, data.expires_at, number.npa, area_codes),
        channel=data.channel,
        source=data.source,
        evidence=data.evidence,
        created_by=principal.key_id,
    )
    await record_event(
        session,
        type=CREATED,
        target=number.e164,
        tenant_id=tenant_id,
        actor_key_id=principal.key_id,
        details=_event_details(row),
    )
    return consent_out(row)


async def get_consent(*, session: AsyncSession, tenant_id: str, consent_id: str) -> ConsentOut:
    row = await repository.get_consent(session, tenant_id=tenant_id, consent_id=consent_id)
    if row is None:
        raise ConsentNotFound()
    return consent_out(row)


async def revoke_consent(
    *, session: AsyncSession, principal: Principal, tenant_id: str, consent_id: str
) -> ConsentOut:
    """Revoke a consent from now on; one already revoked is answered as it is (its first
    revocation stands, nothing is recorded again)."""
    row = await repository.get_consent(
        session, tenant_id=tenant_id, consent_id=consent_id, for_update=True
    )
    if row is None:
        raise ConsentNotFound()
    if row.revoked_at is not None:
        return consent_out(row)
    await repository.revoke(session, consent_id=consent_id, actor=principal.key_id)
    row = await repository.get_consent(session, tenant_id=tenant_id, consent_id=consent_id)
    assert row is not None
    await record_event(
        session,
        type=REVOKED,
        target=f"+1{row.number:010d}",
        tenant_id=tenant_id,
        actor_key_id=principal.key_id,
        details=_event_details(row),
    )
    return consent_out(row)


async def list_consents(
    *,
    session: AsyncSession,
    tenant_id: str,
    number: PhoneNumber | None,
    basis: str | None,
    active: bool | None,
    page: PageRequest,
) -> tuple[list[ConsentOut], str | None]:
    """A page of the tenant's consents, newest recorded first."""
    now = datetime.now(UTC)
    rows = await repository.page(
        session,
        tenant_id=tenant_id,
        number=number.as_int if number is not None else None,
        basis=basis,
        active=active,
        now=now,
        after=page.after,
        limit=page.limit + 1,
    )
    kept, cursor = cut_page(rows, page)
    return [consent_out(row, now) for row in kept], cursor


async def in_force(
    *, session: AsyncSession, tenant_id: str, number: PhoneNumber, at: datetime | None = None
) -> list[ConsentOut]:
    """The tenant's consents for the number in force at `at` (default now), newest obtained
    first."""
    at = at or datetime.now(UTC)
    rows = await repository.in_force(session, tenant_id=tenant_id, number=number.as_int, at=at)
    return [consent_out(row, at) for row in rows]


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """A consent granted (at its `obtained_at`) or revoked (at its `revoked_at`)."""

    change: str  # "granted" | "revoked"
    at: datetime
    key: str  # orders equal instants, byte by byte (the history's cursor)
    consent: ConsentOut


async def history_page(
    *,
    session: AsyncSession,
    tenant_id: str,
    number: PhoneNumber,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[ConsentChange]:
    """Up to `limit` of the number's consent changes, newest first, before `before` (at, key)."""
    now = datetime.now(UTC)
    rows = await repository.changes_page(
        session, tenant_id=tenant_id, number=number.as_int, before=before, limit=limit
    )
    return [
        ConsentChange(change=change, at=at, key=key, consent=consent_out(row, now))
        for change, at, key, row in rows
    ]
