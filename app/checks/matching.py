"""The batch lookup's rows (app/checks/repository.py, LOOKUP) turned into what each check
found: the lists holding its number (global, or its own tenant's) and its tenant's opt-out."""

from __future__ import annotations

from typing import Any

from app.checks.outcome import Found, Prepared
from app.core.schemas import rfc3339_utc

# where each channel's opt-out columns start in a LOOKUP row (out, at, channel, source)
OPTOUT_COLUMNS = {"voice": 6, "sms": 10}


def matches(
    rows: list[Any], items: list[Prepared], valid: list[tuple[int, int, str | None]]
) -> dict[int, Found]:
    """What the lookup rows say of the numbers on a list or opted out, per item index (a
    number on neither has no entry): each check gets the lists global or of its own tenant,
    and its own tenant's opt-out. Matches come tenant lists first, then by listing time and
    list id."""
    checks: dict[int, list[int]] = {}  # number: the indexes of the items asking for it
    for number, i, _ in valid:
        checks.setdefault(number, []).append(i)
    found: dict[int, Found] = {}
    for row in rows:
        owner = row[1]
        listed = row[2] is not None
        for i in checks.get(row[0], ()):
            item = items[i]
            at = OPTOUT_COLUMNS[item.channel]
            if listed:
                if owner is not None and owner != item.tenant_id:
                    continue
            elif owner != item.tenant_id or not row[at]:
                continue
            entry = found.get(i)
            if entry is None:
                entry = found[i] = Found()
            if listed:
                entry.lists.append(
                    {"list_id": row[2], "list_name": row[3], "scope": row[4], "listed_at": row[5]}
                )
            else:
                entry.opted_out = opted_out(row, at)
    for entry in found.values():
        if len(entry.lists) > 1:
            entry.lists.sort(key=lambda m: (m["scope"] != "tenant", m["listed_at"], m["list_id"]))
        for match in entry.lists:
            match["listed_at"] = rfc3339_utc(match["listed_at"])
    return found


def opted_out(row: Any, at: int) -> dict[str, Any] | None:
    if not row[at]:
        return None
    return {"opted_out_at": rfc3339_utc(row[at + 1]), "channel": row[at + 2], "source": row[at + 3]}
