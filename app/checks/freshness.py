"""Registry freshness in a batch (API-2.md section 12): a request whose tenant's checks a stale
registry list applies to is refused (503, nothing recorded) unless its policy allows it; the
allowed answers of a tenant with registry lists near or past their maximum age carry warnings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.checks.errors import RegistryStale
from app.checks.jobs import Job, fail
from app.checks.matching import Aging, applying
from app.checks.outcome import Found, Prepared
from app.core.schemas import rfc3339_utc


def refusal(stale: list[Aging], now: datetime) -> RegistryStale:
    first = min(stale, key=lambda a: (a.stale_at, a.list_id))
    when = "ago" if first.stale(now) else "before the call's instant"
    return RegistryStale(
        f"The registry list '{first.list_name}' ({first.list_id}) was last refreshed at "
        f"{rfc3339_utc(first.refreshed_at)}, more than {first.max_age_days} days {when}; "
        "checks are refused until it is refreshed (the calling policy's on_stale_registry is "
        "refuse).",
        details={
            "reason": "registry_stale",
            "list_id": first.list_id,
            "list_name": first.list_name,
            "refreshed_at": rfc3339_utc(first.refreshed_at),
            "max_age_days": first.max_age_days,
            "stale_lists": [a.list_id for a in sorted(stale, key=lambda a: a.list_id)],
        },
    )


def screen(
    jobs: list[Job], found: dict[int, Found], aging: list[Aging], now: datetime
) -> tuple[list[Prepared], dict[int, Found], dict[str | None, list[dict[str, Any]]]]:
    """Fails the jobs a stale registry list refuses (their items are dropped: nothing of them is
    recorded) and returns the items left, what they found (re-indexed), and each tenant's
    warnings. A job with no valid number looked nothing up and is left alone."""
    items: list[Prepared] = []
    kept: dict[int, Found] = {}
    warnings: dict[str | None, list[dict[str, Any]]] = {}
    offset = 0
    for job in jobs:
        count = len(job.items)
        first = job.items[0] if job.items else None
        lists = applying(aging, first.tenant_id) if first is not None else []
        # the copy's age at the call: a check for a later call is judged then
        when = max(now, first.at) if first is not None else now
        stale = [a for a in lists if a.stale(when)]
        looked_up = any(item.number is not None for item in job.items)
        if stale and looked_up and first is not None and not first.allow_stale:
            fail([job], "a registry list is stale", refusal(stale, now))
            job.items = []
        else:
            if lists and first is not None:
                warnings[first.tenant_id] = [a.warning(when) for a in lists if a.aging(when)]
            base = len(items)
            for k in range(count):
                entry = found.get(offset + k)
                if entry is not None:
                    kept[base + k] = entry
            items += job.items
        offset += count
    return items, kept, warnings
