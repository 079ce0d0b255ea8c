"""From what a check knows to its answer: pure, no I/O.

A check collects every violation, answers with the first of `opted_out`, `dnc_blocked`,
`call_hours_violation`, and produces the record its audit trail keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.callingrules.decide import HoursDecision
from app.core.schemas import rfc3339_utc
from app.numbers.parsing import PhoneNumber
from app.rules.caps import Attempt, FrequencyCap, blocking, next_allowed
from app.rules.engine import LOOKAHEAD

PRECEDENCE = ("opted_out", "dnc_blocked", "call_hours_violation")
SUMMARY_KEYS = ("allowed", "invalid_phone", *PRECEDENCE)


@dataclass(slots=True)
class Prepared:
    """A check as the request handler prepared it: parsed, hours decided, not yet looked up."""

    check_id: str
    phone: str  # the input, cut at 64 characters
    at: datetime
    channel: str
    recipient_state: str | None
    tenant_id: str | None
    api_key_id: str | None
    request_id: str
    batch: bool
    number: PhoneNumber | None = None
    invalid: dict[str, Any] | None = None  # the invalid_phone details when number is None
    invalid_message: str = ""
    hours: HoursDecision | None = None
    # the tenant's policy lets checks pass a stale registry list (with a warning) instead of
    # refusing them (API-2.md section 12)
    allow_stale: bool = False
    # frequency caps (API-2.md section 14): the check's purpose, whether an allowed check
    # reserves its attempt, the caps of its jurisdictions and tenant, the tenant's quiet after a
    # conversation, and the calling hours at another instant (for next_allowed_at)
    purpose: str = "default"
    reserve: bool = False
    caps: tuple[FrequencyCap, ...] = ()
    after_conversation_hours: int | None = None
    hours_at: Callable[[datetime], HoursDecision] | None = None

    @property
    def capped(self) -> bool:
        return bool(self.caps) or bool(self.after_conversation_hours)

    @property
    def attempts_span(self) -> tuple[datetime, datetime]:
        """The `at`s of the attempts its caps can count or its next allowed instant can meet:
        from the longest window before `at` to the calling hours' look-ahead after it."""
        return attempts_span(self.at, self.caps, self.after_conversation_hours)


def attempts_span(
    at: datetime, caps: tuple[FrequencyCap, ...], after_conversation_hours: int | None
) -> tuple[datetime, datetime]:
    reach = max([cap.within_hours for cap in caps] + [after_conversation_hours or 0])
    return at - timedelta(hours=reach), at + LOOKAHEAD


@dataclass(frozen=True, slots=True)
class Consent:
    """A consent a tenant holds for a number, as the lookup read it (revoked or not)."""

    id: str
    basis: str
    channel: str
    obtained_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def in_force(self, at: datetime, channel: str, now: datetime) -> bool:
        """API-2.md section 13: obtained_at <= at < expires_at, not revoked at `at`, and for
        every channel or the check's. A revocation is honored the moment it is recorded
        (RULES.md section 6): once revoked, a consent waives nothing, whatever the `at`."""
        return (
            self.obtained_at <= at
            and (self.expires_at is None or at < self.expires_at)
            and (self.revoked_at is None or (at < self.revoked_at and now < self.revoked_at))
            and self.channel in ("all", channel)
        )

    def order(self) -> tuple[bool, float, datetime, str]:
        """The consent an exemption names when several are in force: one that never expires
        first, then the one lasting longest, then the oldest."""
        return (self.expires_at is not None, -_stamp(self.expires_at), self.obtained_at, self.id)


def _stamp(at: datetime | None) -> float:
    return at.timestamp() if at is not None else 0.0


@dataclass(slots=True)
class Found:
    """What the database knows of the number for this tenant and channel."""

    lists: list[dict[str, Any]] = field(default_factory=list)  # tenant lists first
    opted_out: dict[str, Any] | None = None
    consents: list[Consent] = field(default_factory=list)  # revoked or not, in force or not
    attempts: list[Attempt] = field(default_factory=list)  # in the span the caps look at

    def exemption(self, at: datetime, channel: str, now: datetime) -> dict[str, Any] | None:
        """The exemption waiving the number's list matches, when every one of them is on a
        registry list and a consent is in force at `at` on `channel` (API-2.md section 13); a
        match on an internal or litigator list is never waived."""
        if not self.lists or not self.consents:
            return None
        if any(match["kind"] != "registry" for match in self.lists):
            return None
        in_force = [c for c in self.consents if c.in_force(at, channel, now)]
        if not in_force:
            return None
        consent = min(in_force, key=Consent.order)
        return {
            "consent_id": consent.id,
            "basis": consent.basis,
            "obtained_at": rfc3339_utc(consent.obtained_at),
            "expires_at": rfc3339_utc(consent.expires_at) if consent.expires_at else None,
            "waived_lists": [match["list_id"] for match in self.lists],
        }


@dataclass(slots=True)
class Decided:
    status: int
    body: dict[str, Any]
    record: dict[str, Any]  # the audit record's content, without its chain fields


@dataclass(frozen=True, slots=True)
class View:
    """What the answers and records of one hours verdict share."""

    zones: list[dict[str, str]]
    jurisdictions: list[str]
    allowed: dict[str, Any] | None  # an allowed check's details
    violation: dict[str, Any] | None  # a call_hours_violation's details
    message: str = ""  # a call_hours_violation's message, made once for the verdict


_VIEWS: dict[int, tuple[HoursDecision, View]] = {}


def _view(hours: HoursDecision) -> View:
    """A batch's items share a few verdicts, so each verdict's view is built once (the cache
    holds the verdict itself, so its id stays unique); the view is never changed."""
    entry = _VIEWS.get(id(hours))
    if entry is not None and entry[0] is hours:
        return entry[1]
    verdict = hours.verdict
    zones = [
        {"time_zone": zone, "local_time": local.isoformat()} for zone, local in verdict.local_times
    ]
    jurisdictions = list(hours.jurisdictions)
    allowed = violation = None
    if verdict.allowed:
        until = verdict.allowed_until
        allowed = {
            "zones": zones,
            "jurisdictions": jurisdictions,
            "allowed_until": rfc3339_utc(until) if until else None,
        }
    else:
        following = verdict.next_allowed_at
        violation = {
            "zones": zones,
            "jurisdictions": jurisdictions,
            "rule": verdict.rule,
            "failed_zone": verdict.failed_zone,
            "next_allowed_at": rfc3339_utc(following) if following else None,
        }
        if hours.note is not None:
            violation["note"] = hours.note
    message = _hours_message(violation, dict(verdict.local_times)) if violation else ""
    view = View(zones, jurisdictions, allowed, violation, message)
    if len(_VIEWS) > 1000:
        _VIEWS.clear()
    _VIEWS[id(hours)] = (hours, view)
    return view


def _record(
    item: Prepared, decided_at: datetime, outcome: str, error: str | None, details: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": item.check_id,
        "decided_at": decided_at,
        "tenant_id": item.tenant_id,
        "api_key_id": item.api_key_id,
        "request_id": item.request_id,
        "phone": item.phone,
        "at": item.at,
        "channel": item.channel,
        "recipient_state": item.recipient_state,
        "batch": item.batch,
        "outcome": outcome,
        "error": error,
        "details": details,
    }


def decide(
    item: Prepared,
    found: Found | None,
    decided_at: datetime,
    warnings: list[dict[str, Any]] | None = None,
    reserved: list[Attempt] | None = None,
) -> Decided:
    """`warnings` (registry lists near or past their maximum age) go on an allowed answer;
    `reserved` are the attempts earlier checks of the batch reserved for the number."""
    if item.number is None or item.hours is None:
        details = {**(item.invalid or {}), "check_id": item.check_id}
        body: dict[str, Any] = {
            "error": "invalid_phone",
            "message": item.invalid_message or "The number is not a valid NANP number.",
            "details": details,
            "request_id": item.request_id,
        }
        return Decided(400, body, _record(item, decided_at, "invalid", "invalid_phone", details))
    view = _view(item.hours)
    exemption = None
    lists: list[dict[str, Any]] = []
    if found is not None:
        exemption = found.exemption(item.at, item.channel, decided_at)
        if exemption is None:
            lists = found.lists
    listed = found is not None and (found.opted_out is not None or bool(lists))
    capped = None
    if item.capped and ((found is not None and found.attempts) or reserved):
        attempts = [*(found.attempts if found is not None else ()), *(reserved or ())]
        capped = _caps(item, view, attempts)
    if view.allowed is not None and not listed and capped is None:
        body = {
            "ok": True,
            "check_id": item.check_id,
            "to": item.number.e164,
            "at": rfc3339_utc(item.at),
            "zones": view.zones,
            "jurisdictions": view.jurisdictions,
            "allowed_until": view.allowed["allowed_until"],
        }
        # the details object is the view's own, shared by the records of this verdict
        details = view.allowed
        if exemption is not None:
            body["exemption"] = exemption
            details = {**details, "exemption": exemption}
        if warnings:
            body["warnings"] = warnings
        return Decided(200, body, _record(item, decided_at, "allowed", None, details))
    violations: dict[str, dict[str, Any]] = {}
    if found is not None and found.opted_out is not None:
        violations["opted_out"] = found.opted_out
    if lists:
        first = lists[0]
        violations["dnc_blocked"] = {
            "suppression_source": "tenant" if first["scope"] == "tenant" else "global",
            "list_id": first["list_id"],
            "list_name": first["list_name"],
            "listed_at": first["listed_at"],
            "matches": lists,
        }
    if capped is not None:
        violations["call_hours_violation"] = capped
    elif view.violation is not None:
        violations["call_hours_violation"] = view.violation
    codes = [code for code in PRECEDENCE if code in violations]
    error = codes[0]
    details = {"check_id": item.check_id, "violations": codes, **violations[error]}
    if exemption is not None:  # what else was known: a registry match waived, still blocked
        details["exemption"] = exemption
    body = {
        "error": error,
        "message": _message(error, violations[error], view),
        "details": details,
        "request_id": item.request_id,
    }
    return Decided(422, body, _record(item, decided_at, "blocked", error, details))


def _message(error: str, details: dict[str, Any], view: View) -> str:
    if error == "opted_out":
        return f"The recipient opted out of {details['channel']} contact."
    if error == "dnc_blocked":
        return f"The number is on a Do-Not-Call list ({details['list_name']})."
    if details.get("reason") == "frequency_cap":
        when = details["next_allowed_at"]
        after = f" The call is next allowed at {when}." if when else ""
        count = len(details["attempts"])
        return f"Frequency cap reached ({details['rule']}; {count} counted).{after}"
    if details is not view.violation:  # the hours with a later next_allowed_at (caps)
        return _hours_message(details, {z["time_zone"]: _local(z) for z in view.zones})
    return view.message


def _local(zone: dict[str, str]) -> datetime:
    return datetime.fromisoformat(zone["local_time"])


def _caps(item: Prepared, view: View, attempts: list[Attempt]) -> dict[str, Any] | None:
    """The call_hours_violation details the frequency caps make (None: they change nothing):
    a cap that blocks at `at`, or calling hours whose next allowed instant a cap pushes later.
    `next_allowed_at` satisfies every cap and every calling window at once."""
    block = blocking(item.caps, item.after_conversation_hours, attempts, item.at, item.purpose)
    if block is None and view.violation is None:
        return None
    hours_at = item.hours_at

    def hours(t: datetime) -> tuple[bool, datetime | None]:
        if t == item.at and item.hours is not None:
            verdict = item.hours.verdict
            return verdict.allowed, verdict.next_allowed_at if not verdict.allowed else t
        if hours_at is None:  # never for a capped check (the preparer sets it): fail closed
            return False, None
        verdict = hours_at(t).verdict
        return verdict.allowed, verdict.next_allowed_at

    following = next_allowed(
        item.caps, item.after_conversation_hours, attempts, item.at, item.purpose, hours
    )
    when = rfc3339_utc(following) if following else None
    if block is None:  # the hours block; the caps may only push their next instant later
        assert view.violation is not None
        if when == view.violation["next_allowed_at"]:
            return None
        return {**view.violation, "next_allowed_at": when}
    details: dict[str, Any] = {
        "zones": view.zones,
        "jurisdictions": view.jurisdictions,
        "reason": "frequency_cap",
        "rule": block.rule,
        "attempts": [{"at": rfc3339_utc(a.at), "purpose": a.purpose} for a in block.attempts],
        "next_allowed_at": when,
    }
    if view.violation is not None:
        details["hours_rule"] = view.violation["rule"]
        details["failed_zone"] = view.violation["failed_zone"]
    return details


def _hours_message(details: dict[str, Any], local_times: dict[str, datetime]) -> str:
    """The zone that failed, its local time and the rule, when to call again, and a note."""
    when = details["next_allowed_at"]
    after = f" The call is next allowed at {when}." if when else ""
    note = f" {details['note']}" if "note" in details else ""
    zone = details["failed_zone"]
    if zone is None or zone not in local_times:  # a ban: no zone to name
        return f"Outside calling hours ({details['rule']}).{after}{note}"
    local = local_times[zone].strftime("%H:%M")
    return f"Outside calling hours in {zone} ({local} there; {details['rule']}).{after}{note}"


def batch_item(to: str, decided: Decided) -> dict[str, Any]:
    """A batch item: the 200 body, or the envelope's fields with `to`, `ok` and `check_id`."""
    if decided.status == 200:
        return decided.body
    body = decided.body
    return {
        "to": to,
        "ok": False,
        "error": body["error"],
        "message": body["message"],
        "details": body["details"],
        "check_id": body["details"]["check_id"],
    }
