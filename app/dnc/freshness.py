"""Registry freshness (API-2.md section 12), pure: when a list turns stale, and how old a live
registry list is at an instant. A list's staleness is never stored; it is computed where read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, cast

from app.dnc.models import LIST_KINDS, REGISTRY_MAX_AGE_DAYS, DncList
from app.dnc.schemas import ListKind, RegistryAge

# API-2.md section 12: answers warn from this long before a registry list turns stale
AGING_WARNING = timedelta(days=7)


def stale_at(refreshed_at: datetime, max_age_days: int | None) -> datetime | None:
    """When a registry copy refreshed at `refreshed_at` turns stale: it is stale at any instant
    after this one (None: a list of another kind never is)."""
    return None if max_age_days is None else refreshed_at + timedelta(days=max_age_days)


def list_kind(kind: str) -> ListKind:
    """A stored kind as the API's type (the table's CHECK allows no other)."""
    if kind not in LIST_KINDS:
        raise ValueError(f"unknown list kind {kind!r}")
    return cast(ListKind, kind)


def registry_age(row: DncList, now: datetime) -> RegistryAge:
    until = stale_at(row.refreshed_at, row.max_age_days)
    assert until is not None, "a registry list has a maximum age (the table's CHECK)"
    state: Literal["fresh", "aging", "stale"] = (
        "stale" if now > until else "aging" if now > until - AGING_WARNING else "fresh"
    )
    return RegistryAge(
        list_id=row.id,
        tenant_id=row.tenant_id,
        scope=row.scope,
        refreshed_at=row.refreshed_at,
        max_age_days=row.max_age_days or REGISTRY_MAX_AGE_DAYS,
        stale_at=until,
        age_seconds=(now - row.refreshed_at).total_seconds(),
        state=state,
    )
