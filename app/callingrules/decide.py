"""The one function a check calls for calling hours: number, instant, recipient state, tenant
-> candidate zones, applicable jurisdictions and the verdict. Everything comes from memory."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from app.callingrules.service import snapshot_bans, snapshot_policy
from app.core.errors import ValidationFailed
from app.numbers.parsing import PhoneNumber
from app.reference.snapshot import Snapshot
from app.rules.data import HolidayCalendars
from app.rules.engine import evaluate
from app.rules.model import Jurisdiction, Verdict

DEFAULT_LAW = "DEFAULT"  # other NANP countries: our conservative default, not law


# a number of no place (toll-free 8XX, and the like) called with no recipient_state
EVERY_ZONE_NOTE = (
    "Every time zone of the country applies to a number of no place (toll-free); pass "
    "recipient_state to narrow it."
)


@dataclass(frozen=True, slots=True)
class HoursDecision:
    zones: tuple[str, ...]
    jurisdictions: tuple[str, ...]
    verdict: Verdict
    note: str | None = None  # why these zones, when it is not plain


def _national(country: str, laws: Mapping[str, Jurisdiction]) -> Jurisdiction:
    law = laws.get(country)
    if law is not None:
        return law
    return dataclasses.replace(laws[DEFAULT_LAW], id=country)


def _recipient_region(state: str, snapshot: Snapshot) -> tuple[str, str]:
    for country in ("US", "CA"):
        if f"{country}-{state}" in snapshot.region_zones:
            return country, f"{country}-{state}"
    raise ValidationFailed.field(
        "recipient_state",
        "unknown state or province",
        f"recipient_state {state!r} is not a US state or territory or a Canadian province.",
    )


def decide_hours(
    *,
    number: PhoneNumber,
    at: datetime,
    recipient_state: str | None,
    tenant_id: str | None,
    snapshot: Snapshot,
    laws: Mapping[str, Jurisdiction],
    holidays: HolidayCalendars,
) -> HoursDecision:
    code = snapshot.area_codes[number.npa]
    zones = set(code.time_zones)
    ids = [code.country]
    note = None
    if code.geographic and code.region:
        ids.append(f"{code.country}-{code.region}")
    if recipient_state is not None:
        country, region = _recipient_region(recipient_state.upper(), snapshot)
        if code.geographic:
            zones.update(snapshot.region_zones[region])
        else:  # a number of no place is where its recipient is (RULES.md section 2)
            zones = set(snapshot.region_zones[region])
        ids += [country, region]
    elif not code.geographic:
        note = EVERY_ZONE_NOTE
    ids = list(dict.fromkeys(ids))  # keep order, drop repeats
    applicable = [
        _national(jid, laws) if "-" not in jid else laws[jid]
        for jid in ids
        if "-" not in jid or jid in laws
    ]
    verdict = evaluate(
        zones=sorted(zones),
        at=at,
        jurisdictions=applicable,
        bans=[ban for ban in snapshot_bans(snapshot) if ban.jurisdiction in ids],
        policy=snapshot_policy(snapshot, tenant_id),
        is_holiday=holidays,
    )
    return HoursDecision(
        zones=tuple(sorted(zones)), jurisdictions=tuple(ids), verdict=verdict, note=note
    )
