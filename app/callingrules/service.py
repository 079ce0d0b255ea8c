"""Calling rules: declared bans, tenant policies, the rules view, and the snapshot loader."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from app.areacodes import repository as areacodes
from app.auth.principal import Principal
from app.callingrules import repository
from app.callingrules.errors import BanNotFound, NoPolicy
from app.callingrules.models import CallingBan, CallingPolicy
from app.callingrules.schemas import DAYS, BanIn, BanOut, JurisdictionOut, PolicyIn, PolicyOut
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page
from app.reference.service import reference_changed
from app.reference.snapshot import ReferenceData, Snapshot, build_snapshot
from app.rules.model import Ban, Jurisdiction, Policy, Window


def _window(pair: list[str] | tuple[str, str] | None) -> Window | None:
    if pair is None:
        return None
    return Window(time.fromisoformat(pair[0]), time.fromisoformat(pair[1]))


def to_policy(row: CallingPolicy) -> Policy:
    return Policy(
        windows=tuple(_window(row.windows.get(day)) for day in DAYS),
        banned_dates=frozenset(row.banned_dates),
    )


def to_ban(row: CallingBan) -> Ban:
    return Ban(row.id, row.jurisdiction, row.starts_at, row.ends_at, row.reason)


async def load_snapshot(session: AsyncSession) -> Snapshot:
    codes, overridden = await areacodes.effective_area_codes(session)
    bans = tuple(to_ban(row) for row in await repository.current_bans(session))
    policies = {row.tenant_id: to_policy(row) for row in await repository.all_policies(session)}
    return build_snapshot(
        codes, {"overridden": frozenset(overridden), "bans": bans, "policies": policies}
    )


def snapshot_bans(snapshot: Snapshot) -> tuple[Ban, ...]:
    bans = snapshot.extras.get("bans", ())
    return bans if isinstance(bans, tuple) else ()


def snapshot_policy(snapshot: Snapshot, tenant_id: str | None) -> Policy | None:
    policies = snapshot.extras.get("policies", {})
    if tenant_id is None or not isinstance(policies, dict):
        return None
    policy = policies.get(tenant_id)
    return policy if isinstance(policy, Policy) else None


def known_jurisdictions(snapshot: Snapshot) -> set[str]:
    """Every country that uses a NANP code, and every state, province or territory."""
    return set(snapshot.country_zones) | set(snapshot.region_zones)


async def declare_ban(
    *,
    session: AsyncSession,
    reference: ReferenceData,
    snapshot: Snapshot,
    principal: Principal,
    data: BanIn,
) -> BanOut:
    if data.ends_at <= datetime.now(UTC):
        raise ValidationFailed.field(
            "ends_at", "must be in the future", "The ban has already ended."
        )
    if data.jurisdiction not in known_jurisdictions(snapshot):
        raise ValidationFailed.field(
            "jurisdiction",
            "unknown jurisdiction",
            f"{data.jurisdiction} is not a NANP country, state, province or territory.",
        )
    row = await repository.insert_ban(
        session,
        id=new_id("ban"),
        jurisdiction=data.jurisdiction,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
        created_by=principal.key_id,
    )
    await reference_changed(
        session,
        reference,
        kind="ban.declared",
        target=row.id,
        tenant_id=None,
        actor_key_id=principal.key_id,
        details=data.model_dump(mode="json"),
    )
    return BanOut.model_validate(row, from_attributes=True)


async def list_bans(
    *, session: AsyncSession, page: PageRequest, include_past: bool
) -> tuple[list[BanOut], str | None]:
    rows, cursor = cut_page(
        await repository.list_bans(session, page, include_past=include_past), page
    )
    return [BanOut.model_validate(row, from_attributes=True) for row in rows], cursor


async def lift_ban(
    *, session: AsyncSession, reference: ReferenceData, principal: Principal, ban_id: str
) -> BanOut:
    already = await repository.get_ban(session, ban_id)
    if already is None:
        raise BanNotFound()
    if already.lifted_at is not None:
        return BanOut.model_validate(already, from_attributes=True)
    row = await repository.lift_ban(session, ban_id)
    assert row is not None
    await reference_changed(
        session,
        reference,
        kind="ban.lifted",
        target=ban_id,
        tenant_id=None,
        actor_key_id=principal.key_id,
        details={},
    )
    return BanOut.model_validate(row, from_attributes=True)


async def current_bans(*, session: AsyncSession) -> list[BanOut]:
    return [
        BanOut.model_validate(r, from_attributes=True)
        for r in await repository.current_bans(session)
    ]


def _policy_out(row: CallingPolicy) -> PolicyOut:
    return PolicyOut(
        tenant_id=row.tenant_id,
        windows={day: row.windows.get(day) for day in DAYS},
        banned_dates=sorted(row.banned_dates),
        updated_at=row.updated_at,
    )


async def set_policy(
    *,
    session: AsyncSession,
    reference: ReferenceData,
    principal: Principal,
    tenant_id: str,
    data: PolicyIn,
) -> PolicyOut:
    given: dict[str, list[str] | None] = {str(k): v for k, v in data.windows.items()}
    windows = {day: list(pair) if (pair := given.get(day)) else None for day in DAYS}
    row = await repository.upsert_policy(
        session, tenant_id=tenant_id, windows=windows, banned_dates=sorted(set(data.banned_dates))
    )
    await reference_changed(
        session,
        reference,
        kind="policy.updated",
        target=tenant_id,
        tenant_id=tenant_id,
        actor_key_id=principal.key_id,
        details=data.model_dump(mode="json"),
    )
    return _policy_out(row)


async def get_policy(*, session: AsyncSession, tenant_id: str) -> PolicyOut:
    row = await repository.get_policy(session, tenant_id)
    if row is None:
        raise NoPolicy()
    return _policy_out(row)


def _day_windows(windows: tuple[Window | None, ...]) -> dict[str, list[str] | None]:
    return {
        day: [w.start.strftime("%H:%M"), w.end.strftime("%H:%M")] if w else None
        for day, w in zip(DAYS, windows, strict=True)
    }


def jurisdictions_view(laws: Mapping[str, Jurisdiction]) -> list[JurisdictionOut]:
    return [
        JurisdictionOut(
            id=law.id,
            windows=_day_windows(law.windows),
            banned_days=list(law.holiday_calendars),
            source=law.source,
            confidence=law.confidence,
        )
        for law in laws.values()
    ]


async def tenant_policy_or_none(
    *, session: AsyncSession, tenant_id: str | None
) -> PolicyOut | None:
    if tenant_id is None:
        return None
    row = await repository.get_policy(session, tenant_id)
    return _policy_out(row) if row is not None else None
