"""A scrub's rows decided exactly as checks at its instant would be, without recording them.

Each chunk of rows is prepared by the checks' own `Preparer` (the strict parse, calling hours
once per area code and state for the whole file, frequency caps), looked up with the checks'
own statement (`checks.repository.look_up`), matched by `checks.matching.matches` and decided
by `checks.outcome.decide`: the very code a check runs, minus the record and the reservation.
Pure but for the lookup, which the caller runs; the two halves run in worker threads."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.callingrules.service import allows_stale_registry
from app.checks.matching import applying, matches
from app.checks.outcome import SUMMARY_KEYS, Decided, Prepared, decide
from app.checks.service import Context, Preparer
from app.core.schemas import rfc3339_utc
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import parse_lenient
from app.scrubs.errors import ScrubFailed
from app.uploads.fileformat import normalize

RESULT_COLUMNS = (
    "callguard_result",  # ok, or the error code
    "callguard_reason",  # the message
    "callguard_next_allowed_at",  # a call_hours_violation's (hours or a frequency cap)
    "callguard_lists",  # the matching lists' names, joined by ;
    "callguard_exemption",  # the consent id whose exemption waived registry matches
    "callguard_list_ids",  # the matching lists' ids, joined by ;
)
NO_CHECK_ID = "-"  # a scrub makes no check: its items carry no check id
BLOCKED = frozenset(("opted_out", "dnc_blocked", "call_hours_violation"))


@dataclass(slots=True)
class Chunk:
    """Rows read, their items, and what the lookup needs."""

    rows: list[tuple[list[str], str]]
    items: list[Prepared]
    valid: list[tuple[int, int, str | None]]  # (number, index, tenant), in number order
    numbers: list[int]  # distinct, sorted
    capped: list[int]  # the numbers some cap may apply to, sorted
    span: tuple[datetime, datetime] | None  # the attempts' span those caps look at


class Decider:
    def __init__(self, ctx: Context, at: datetime, channel: str, purpose: str) -> None:
        self.ctx = ctx
        self.at = at
        self.preparer = Preparer(ctx, at, channel, batch=True, purpose=purpose)
        self.allow_stale = allows_stale_registry(ctx.snapshot, ctx.tenant_id)
        self.in_service = ctx.snapshot.in_service
        self.summary = dict.fromkeys(SUMMARY_KEYS, 0)

    def prepare(self, rows: list[tuple[list[str], str]]) -> Chunk:
        preparer, in_service = self.preparer, self.in_service
        items: list[Prepared] = []
        valid: list[tuple[int, int, str | None]] = []
        capped: set[int] = set()
        low = high = None
        tenant = self.ctx.tenant_id
        for i, (_, value) in enumerate(rows):
            number = normalize(value, in_service)
            if isinstance(number, int):
                item = preparer.item(f"+1{number:010d}", None, NO_CHECK_ID)
            else:
                item = preparer.item(value, None, NO_CHECK_ID)
                if item.number is None:  # the reason as a file's reader sees it
                    item.invalid_message = _lenient_message(value, in_service)
            items.append(item)
            if item.number is not None:
                as_int = item.number.as_int
                valid.append((as_int, i, tenant))
                if item.capped:
                    capped.add(as_int)
                    start, end = item.attempts_span
                    low = start if low is None or start < low else low
                    high = end if high is None or end > high else high
        valid.sort()
        numbers = sorted({n for n, _, _ in valid})
        span = (low, high) if low is not None and high is not None else None
        return Chunk(rows, items, valid, numbers, sorted(capped), span)

    def decide(self, chunk: Chunk, found_rows: Sequence[Any], now: datetime, width: int) -> bytes:
        """The chunk's result rows as CSV (the input's fields, padded to `width`, then
        RESULT_COLUMNS). Raises ScrubFailed when a stale registry list refuses the tenant's
        checks (as a check would be refused)."""
        found, aging = matches(list(found_rows), chunk.items, chunk.valid)
        if aging:
            when = max(now, self.at)
            stale = [a for a in applying(aging, self.ctx.tenant_id) if a.stale(when)]
            if stale and not self.allow_stale:
                first = min(stale, key=lambda a: (a.stale_at, a.list_id))
                raise ScrubFailed(
                    "registry_stale",
                    f"The registry list '{first.list_name}' ({first.list_id}) was last "
                    f"refreshed at {rfc3339_utc(first.refreshed_at)}, more than "
                    f"{first.max_age_days} days before the scrub's instant; checks are "
                    "refused until it is refreshed.",
                )
        out = io.StringIO()
        write = csv.writer(out).writerow
        summary = self.summary
        for i, ((fields, _), item) in enumerate(zip(chunk.rows, chunk.items, strict=True)):
            entry = found.get(i)
            result = decide(item, entry, now)
            if len(fields) < width:
                fields = fields + [""] * (width - len(fields))
            columns = _columns(result, entry.lists if entry is not None else [])
            summary["allowed" if columns[0] == "ok" else columns[0]] += 1
            write(fields + columns)
        return out.getvalue().encode()


def _columns(result: Decided, lists: list[dict[str, Any]]) -> list[str]:
    body = result.body
    if result.status == 200:
        exemption = body.get("exemption")
        consent = exemption["consent_id"] if exemption else ""
        return ["ok", "", "", "", consent, ""]
    error = body["error"]
    details = body["details"]
    exemption = details.get("exemption")
    shown = [] if exemption else lists  # waived registry matches are not what blocks
    following = details.get("next_allowed_at") if error == "call_hours_violation" else None
    return [
        error,
        body["message"],
        following or "",
        ";".join(m["list_name"] for m in shown),
        exemption["consent_id"] if exemption else "",
        ";".join(m["list_id"] for m in shown),
    ]


def _lenient_message(value: str, in_service: Any) -> str:
    try:
        parse_lenient(value, in_service)
    except InvalidPhone as exc:
        return exc.message
    return "The number is not a valid NANP number."


def keep(result: str, only: str) -> bool:
    """Whether a result row (its callguard_result) is in `only`."""
    if only == "all":
        return True
    if only == "allowed":
        return result == "ok"
    if only == "invalid":
        return result == "invalid_phone"
    return result in BLOCKED
