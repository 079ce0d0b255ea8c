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
from app.callingrules.schemas import (
    DAYS,
    BanIn,
    BanOut,
    JurisdictionOut,
    LawCapOut,
    PolicyCap,
    PolicyIn,
    PolicyOut,
)
from app.core.errors import ValidationFailed
from app.core.ids import new_id
from app.core.pagination import PageRequest, cut_page
from app.reference.service import reference_changed
from app.reference.snapshot import ReferenceData, Snapshot, build_snapshot
from app.rules.caps import FrequencyCap
from app.rules.model import Ban, Jurisdiction, Policy, Window

TenantCaps = tuple[tuple[FrequencyCap, ...], int | None]


def _window(pair: list[str] | tuple[str, str] | None) -> Window | None:
    if pair is None:
        return None
    return Window(time.fromisoformat(pair[0]), time.fromisoformat(pair[1]))


def to_policy(row: CallingPolicy) -> Policy:
    return Policy(
        windows=tuple(_window(row.windows.get(day)) for day in DAYS),
        banned_dates=frozenset(row.banned_dates),
    )


def to_caps(row: CallingPolicy) -> TenantCaps:
    """A policy's own frequency caps (id "policy", in the order given) and its quiet after a
    conversation in hours (None: none)."""
    caps = tuple(
        FrequencyCap(
            id="policy",
            max_calls=int(cap["max_calls"]),
            within_hours=int(cap["within_hours"]),
            per=str(cap.get("per", "number")),
        )
        for cap in row.frequency_caps or ()
    )
    return caps, row.after_conversation_hours


def to_ban(row: CallingBan) -> Ban:
    return Ban(row.id, row.jurisdiction, row.starts_at, row.ends_at, row.reason)


async def load_snapshot(session: AsyncSession) -> Snapshot:
    codes, overridden = await areacodes.effective_area_codes(session)
    bans = tuple(to_ban(row) for row in await repository.current_bans(session))
    rows = await repository.all_policies(session)
    policies = {row.tenant_id: to_policy(row) for row in rows}
    allow_stale = frozenset(row.tenant_id for row in rows if row.on_stale_registry == "allow")
    caps = {row.tenant_id: to_caps(row) for row in rows}
    return build_snapshot(
        codes,
        {
            "overridden": frozenset(overridden),
            "bans": bans,
            "policies": policies,
            "allow_stale_registry": allow_stale,
            "caps": caps,
        },
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


def allows_stale_registry(snapshot: Snapshot, tenant_id: str | None) -> bool:
    """True when the tenant's policy says `on_stale_registry: allow` (never without a tenant or a
    policy: a stale registry copy is refused by default, fail closed)."""
    if tenant_id is None:
        return False
    allowed = snapshot.extras.get("allow_stale_registry", frozenset())
    return isinstance(allowed, frozenset) and tenant_id in allowed


def tenant_caps(
    snapshot: Snapshot, tenant_id: str | None
) -> tuple[tuple[FrequencyCap, ...], int | None]:
    """The tenant's own frequency caps (id "policy") and its `after_conversation_hours` from its
    calling policy in the snapshot; ((), None) without a tenant or a policy."""
    if tenant_id is None:
        return (), None
    caps = snapshot.extras.get("caps", {})
    if not isinstance(caps, dict):
        return (), None
    found = caps.get(tenant_id)
    return found if isinstance(found, tuple) else ((), None)


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
        on_stale_registry="allow" if row.on_stale_registry == "allow" else "refuse",
        frequency_caps=[PolicyCap.model_validate(cap) for cap in row.frequency_caps or ()],
        after_conversation_hours=row.after_conversation_hours,
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
        session,
        tenant_id=tenant_id,
        windows=windows,
        banned_dates=sorted(set(data.banned_dates)),
        on_stale_registry=data.on_stale_registry,
        frequency_caps=[cap.model_dump() for cap in data.frequency_caps],
        after_conversation_hours=data.after_conversation_hours,
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


def law_caps_view(caps: Mapping[str, FrequencyCap]) -> list[LawCapOut]:
    """The laws' frequency caps as the rules view shows them, in jurisdiction order."""
    return [
        LawCapOut(
            id=cap.id,
            max_calls=cap.max_calls,
            within_hours=cap.within_hours,
            per="number" if cap.per == "number" else "number_and_purpose",
            since=cap.since,
            source=cap.source,
            confidence=cap.confidence,
        )
        for _, cap in sorted(caps.items())
    ]


async def tenant_policy_or_none(
    *, session: AsyncSession, tenant_id: str | None
) -> PolicyOut | None:
    if tenant_id is None:
        return None
    row = await repository.get_policy(session, tenant_id)
    return _policy_out(row) if row is not None else None
