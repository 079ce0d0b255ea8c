"""From what a check knows to its answer: pure, no I/O.

A check collects every violation, answers with the first of `opted_out`, `dnc_blocked`,
`call_hours_violation`, and produces the record its audit trail keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.callingrules.decide import HoursDecision
from app.core.schemas import rfc3339_utc
from app.numbers.parsing import PhoneNumber

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


@dataclass(slots=True)
class Found:
    """What the database knows of the number for this tenant and channel."""

    lists: list[dict[str, Any]] = field(default_factory=list)  # tenant lists first
    opted_out: dict[str, Any] | None = None


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


def decide(item: Prepared, found: Found | None, decided_at: datetime) -> Decided:
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
    listed = found is not None and (found.opted_out is not None or bool(found.lists))
    if view.allowed is not None and not listed:
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
        return Decided(200, body, _record(item, decided_at, "allowed", None, view.allowed))
    violations: dict[str, dict[str, Any]] = {}
    if found is not None and found.opted_out is not None:
        violations["opted_out"] = found.opted_out
    if found is not None and found.lists:
        first = found.lists[0]
        violations["dnc_blocked"] = {
            "suppression_source": "tenant" if first["scope"] == "tenant" else "global",
            "list_id": first["list_id"],
            "list_name": first["list_name"],
            "listed_at": first["listed_at"],
            "matches": found.lists,
        }
    if view.violation is not None:
        violations["call_hours_violation"] = view.violation
    codes = [code for code in PRECEDENCE if code in violations]
    error = codes[0]
    details = {"check_id": item.check_id, "violations": codes, **violations[error]}
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
    return view.message


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
