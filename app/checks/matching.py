"""The batch lookup's rows (app/checks/repository.py, LOOKUP) turned into what each check
found: the lists holding its number (global, or its own tenant's), its tenant's opt-out and
consents, and the registry lists near or past their maximum age for its tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.checks.outcome import Consent, Found, Prepared
from app.core.schemas import rfc3339_utc
from app.dnc.service import AGING_WARNING, stale_at
from app.rules.caps import Attempt

# where each channel's opt-out columns start in a LOOKUP row (out, at, channel, source)
OPTOUT_COLUMNS = {"voice": 6, "sms": 10}
KIND = 14  # what a LOOKUP row is: a list kind, "consent", "aging", "attempt" or None (opt-out)


@dataclass(frozen=True, slots=True)
class Aging:
    """A registry list that applies to a tenant and is near or past its maximum age."""

    tenant_id: str | None  # None: a global list (it applies to every tenant)
    list_id: str
    list_name: str
    refreshed_at: datetime
    max_age_days: int

    @property
    def stale_at(self) -> datetime:
        at = stale_at(self.refreshed_at, self.max_age_days)
        assert at is not None  # a registry list has a maximum age (the table's CHECK)
        return at

    def stale(self, now: datetime) -> bool:
        return now > self.stale_at

    def aging(self, now: datetime) -> bool:
        """Within AGING_WARNING of turning stale, or stale (the lookup returns a list aging at
        the batch's latest instant, which may not be this check's)."""
        return now > self.stale_at - AGING_WARNING

    def warning(self, now: datetime) -> dict[str, Any]:
        return {
            "code": "registry_stale" if self.stale(now) else "registry_aging",
            "list_id": self.list_id,
            "list_name": self.list_name,
            "refreshed_at": rfc3339_utc(self.refreshed_at),
            "stale_at": rfc3339_utc(self.stale_at),
        }


def matches(
    rows: list[Any], items: list[Prepared], valid: list[tuple[int, int, str | None]]
) -> tuple[dict[int, Found], list[Aging]]:
    """What the lookup rows say of the numbers on a list, opted out or consented, per item
    index (a number with none of these has no entry), and the aging registry lists: each check
    gets the lists global or of its own tenant, and its own tenant's opt-out and consents.
    Matches come tenant lists first, then by listing time and list id."""
    checks: dict[int, list[int]] = {}  # number: the indexes of the items asking for it
    for number, i, _ in valid:
        checks.setdefault(number, []).append(i)
    found: dict[int, Found] = {}
    aging: list[Aging] = []
    for row in rows:
        kind = row[KIND]
        if kind == "aging":
            aging.append(Aging(row[1], row[2], row[3], row[5], row[17]))
            continue
        owner = row[1]
        for i in checks.get(row[0], ()):
            item = items[i]
            if kind == "attempt":
                if owner != item.tenant_id or not item.capped:
                    continue
                entry = found.get(i)
                if entry is None:
                    entry = found[i] = Found()
                entry.attempts.append(Attempt(row[5], row[3], row[4]))
            elif kind == "consent":
                if owner != item.tenant_id:
                    continue
                entry = found.get(i)
                if entry is None:
                    entry = found[i] = Found()
                entry.consents.append(Consent(row[2], row[3], row[4], row[5], row[15], row[16]))
            elif kind is not None:  # a list holding the number
                if owner is not None and owner != item.tenant_id:
                    continue
                entry = found.get(i)
                if entry is None:
                    entry = found[i] = Found()
                entry.lists.append(
                    {
                        "list_id": row[2],
                        "list_name": row[3],
                        "scope": row[4],
                        "kind": kind,
                        "listed_at": row[5],
                    }
                )
            else:  # an opt-out state
                at = OPTOUT_COLUMNS[item.channel]
                if owner != item.tenant_id or not row[at]:
                    continue
                entry = found.get(i)
                if entry is None:
                    entry = found[i] = Found()
                entry.opted_out = opted_out(row, at)
    for entry in found.values():
        if len(entry.lists) > 1:
            entry.lists.sort(key=lambda m: (m["scope"] != "tenant", m["listed_at"], m["list_id"]))
        for match in entry.lists:
            match["listed_at"] = rfc3339_utc(match["listed_at"])
    return found, aging


def opted_out(row: Any, at: int) -> dict[str, Any] | None:
    if not row[at]:
        return None
    return {"opted_out_at": rfc3339_utc(row[at + 1]), "channel": row[at + 2], "source": row[at + 3]}


def applying(aging: list[Aging], tenant_id: str | None) -> list[Aging]:
    """The aging registry lists that apply to a tenant's checks: global ones and its own."""
    return [a for a in aging if a.tenant_id is None or a.tenant_id == tenant_id]
