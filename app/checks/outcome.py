"""From what a check knows to its answer: pure, no I/O.

A check collects every violation, answers with the first of `opted_out`, `dnc_blocked`,
`call_hours_violation`, and produces the record its audit trail keeps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.callingrules.decide import HoursDecision
from app.numbers.parsing import PhoneNumber

PRECEDENCE = ("opted_out", "dnc_blocked", "call_hours_violation")
SUMMARY_KEYS = ("allowed", "invalid_phone", *PRECEDENCE)


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


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


_ZONES: dict[int, tuple[HoursDecision, list[dict[str, str]]]] = {}


def _zones(hours: HoursDecision) -> list[dict[str, str]]:
    """The zones of a verdict as answered; a batch's items share a few verdicts, so the view
    is built once per verdict (the cache holds the verdict itself, so its id stays unique)."""
    entry = _ZONES.get(id(hours))
    if entry is not None and entry[0] is hours:
        return entry[1]
    view = [
        {"time_zone": zone, "local_time": local.isoformat()}
        for zone, local in hours.verdict.local_times
    ]
    if len(_ZONES) > 1000:
        _ZONES.clear()
    _ZONES[id(hours)] = (hours, view)
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
    found = found or Found()
    hours = item.hours
    verdict = hours.verdict
    zones = _zones(hours)
    violations: dict[str, dict[str, Any]] = {}
    if found.opted_out is not None:
        violations["opted_out"] = found.opted_out
    if found.lists:
        first = found.lists[0]
        violations["dnc_blocked"] = {
            "suppression_source": "tenant" if first["scope"] == "tenant" else "global",
            "list_id": first["list_id"],
            "list_name": first["list_name"],
            "listed_at": first["listed_at"],
            "matches": found.lists,
        }
    if not verdict.allowed:
        violations["call_hours_violation"] = {
            "zones": zones,
            "jurisdictions": list(hours.jurisdictions),
            "rule": verdict.rule,
            "next_allowed_at": utc_text(verdict.next_allowed_at)
            if verdict.next_allowed_at
            else None,
        }
    if not violations:
        body = {
            "ok": True,
            "check_id": item.check_id,
            "to": item.number.e164,
            "at": utc_text(item.at),
            "zones": zones,
            "jurisdictions": list(hours.jurisdictions),
            "allowed_until": utc_text(verdict.allowed_until) if verdict.allowed_until else None,
        }
        details = {k: body[k] for k in ("zones", "jurisdictions", "allowed_until")}
        return Decided(200, body, _record(item, decided_at, "allowed", None, details))
    codes = [code for code in PRECEDENCE if code in violations]
    error = codes[0]
    details = {"check_id": item.check_id, "violations": codes, **violations[error]}
    body = {
        "error": error,
        "message": _message(error, violations[error]),
        "details": details,
        "request_id": item.request_id,
    }
    return Decided(422, body, _record(item, decided_at, "blocked", error, details))


def _message(error: str, details: dict[str, Any]) -> str:
    if error == "opted_out":
        return f"The recipient opted out of {details['channel']} contact."
    if error == "dnc_blocked":
        return f"The number is on a Do-Not-Call list ({details['list_name']})."
    when = details["next_allowed_at"]
    after = f" The call is next allowed at {when}." if when else ""
    return f"Outside calling hours ({details['rule']}).{after}"


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
