"""A scrub's rows decided exactly as checks at its instant would be, without recording them.

Each chunk of rows is normalized as uploads read numbers, looked up with the checks' own
statement (`checks.repository.look_up`), and decided by the checks' own code: `Preparer` (the
strict parse, calling hours, frequency caps), `checks.matching.matches` and
`checks.outcome.decide`, minus the record and the reservation. A number the lookup says nothing
of gets the verdict `decide` gave such a number of its area code (once per area code for the
whole file); the others are decided one by one. Pure but for the lookup, which the caller
runs; the two halves run in worker threads."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.callingrules.service import allows_stale_registry
from app.checks.matching import KIND, applying, matches
from app.checks.outcome import SUMMARY_KEYS, Decided, Prepared, decide
from app.checks.service import Context, Preparer
from app.core.schemas import rfc3339_utc
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import PhoneNumber, parse_lenient
from app.scrubs.errors import ScrubFailed
from app.scrubs.reading import cell
from app.uploads.fileformat import normalize

RESULT_COLUMNS = (
    "callguard_result",  # ok, or the error code
    "callguard_reason",  # the message
    "callguard_next_allowed_at",  # a call_hours_violation's (hours or a frequency cap)
    "callguard_lists",  # the matching lists' names, joined by ;
    "callguard_exemption",  # the consent id whose exemption waived registry matches
    "callguard_list_ids",  # the matching lists' ids, joined by ;
)
NO_VERDICT = ("invalid_phone", "")  # replaced by an invalid row's own verdict
NPA = 10_000_000  # a number's integer // NPA: its area code
NO_CHECK_ID = "-"  # a scrub makes no check: its items carry no check id
BLOCKED = frozenset(("opted_out", "dnc_blocked", "call_hours_violation"))


@dataclass(slots=True)
class Chunk:
    """Rows read (their text), each row's number, and what the lookup needs."""

    rows: list[str]  # each row's CSV text, padded to the header's width, without a line end
    numbers_of: list[int | str]  # per row: its ten digits as an integer, or why it is invalid
    invalid: dict[int, Prepared]  # row index: an invalid row's item, as a check would say it
    numbers: list[int]  # distinct, sorted
    capped: list[int]  # the numbers some cap may apply to, sorted
    span: tuple[datetime, datetime] | None  # the attempts' span those caps look at


@dataclass(frozen=True, slots=True)
class _Area:
    """What every number of an area code shares: the verdict of a number no lookup row speaks
    of (its calling-hours verdict, decided by `decide` on a check of one of them), and whether
    caps apply (with the span of attempts they look at)."""

    verdict: tuple[str, str]  # (callguard_result, the row's ending: ",<the columns>\r\n")
    capped: bool
    span: tuple[datetime, datetime]


class Decider:
    """Rows decided as checks: a row whose number no lookup row speaks of (not listed, opted
    out, consented, nor attempted: most of a campaign file) has its area code's verdict, which
    `decide` gives once per area code for a check of such a number; every other row is prepared
    and decided as its own check. The scrub has one instant and no recipient state, so calling
    hours depend on the area code alone."""

    def __init__(self, ctx: Context, at: datetime, channel: str, purpose: str) -> None:
        self.ctx = ctx
        self.at = at
        self.preparer = Preparer(ctx, at, channel, batch=True, purpose=purpose)
        self.allow_stale = allows_stale_registry(ctx.snapshot, ctx.tenant_id)
        self.in_service = ctx.snapshot.in_service
        self.summary = dict.fromkeys(SUMMARY_KEYS, 0)
        self._areas: dict[int, _Area] = {}
        self._verdicts: dict[tuple[str, ...], tuple[str, str]] = {}

    def _verdict(self, result: Decided, lists: list[dict[str, Any]]) -> tuple[str, str]:
        """(callguard_result, the row's ending); rows with the same columns (the same lists and
        reason, say) share the ending's text."""
        columns = tuple(_columns(result, lists))
        verdict = self._verdicts.get(columns)
        if verdict is None:
            if len(self._verdicts) >= 10_000:
                self._verdicts.clear()
            ending = "," + ",".join(map(cell, columns)) + "\r\n"
            verdict = self._verdicts[columns] = (columns[0], ending)
        return verdict

    def _item(self, number: int) -> Prepared:
        return self.preparer.number_item(PhoneNumber(f"{number:010d}"), NO_CHECK_ID)

    def _area(self, number: int) -> _Area:
        item = self._item(number)
        verdict = self._verdict(decide(item, None, self.at), [])
        return _Area(verdict, item.capped, item.attempts_span)

    def prepare(self, rows: list[str], values: list[str]) -> Chunk:
        in_service, areas = self.in_service, self._areas
        numbers_of: list[int | str] = [normalize(v, in_service) for v in values]
        numbers = sorted({n for n in numbers_of if n.__class__ is int})
        if new := {n // NPA for n in numbers}.difference(areas):
            firsts = {n // NPA: n for n in numbers if n // NPA in new}
            for npa, number in firsts.items():
                areas[npa] = self._area(number)
        invalid: dict[int, Prepared] = {}
        for i in [i for i, n in enumerate(numbers_of) if n.__class__ is str]:
            item = self.preparer.item(values[i], None, NO_CHECK_ID)
            if item.number is None:  # the reason as a file's reader sees it
                item.invalid_message = _lenient_message(values[i], in_service)
            invalid[i] = item
        capped: list[int] = []
        span = None
        spans = [a.span for a in areas.values() if a.capped]
        if spans:
            capped = [n for n in numbers if areas[n // NPA].capped]
            if capped:
                span = (min(s for s, _ in spans), max(e for _, e in spans))
        return Chunk(rows, numbers_of, invalid, numbers, capped, span)

    def decide(self, chunk: Chunk, found_rows: Sequence[Any], now: datetime) -> bytes:
        """The chunk's result rows as CSV (each row's text, then RESULT_COLUMNS). Raises
        ScrubFailed when a stale registry list refuses the tenant's checks (as a check would be
        refused)."""
        spoken = {row[0] for row in found_rows if row[KIND] != "aging"}
        numbers_of, areas = chunk.numbers_of, self._areas
        own = [i for i, n in enumerate(numbers_of) if n in spoken]  # decided one by one
        items = [self._item(numbers_of[i]) for i in own]  # type: ignore[arg-type]
        tenant = self.ctx.tenant_id
        valid = sorted((numbers_of[i], k, tenant) for k, i in enumerate(own))
        found, aging = matches(list(found_rows), items, valid)  # type: ignore[arg-type]
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
        # every row its area code's verdict, then the invalid rows' and those decided one by one
        verdicts = [
            areas[n // NPA].verdict if n.__class__ is int else NO_VERDICT for n in numbers_of
        ]
        for i, item in chunk.invalid.items():
            verdicts[i] = self._verdict(decide(item, None, now), [])
        for k, i in enumerate(own):
            entry = found.get(k)
            verdicts[i] = self._verdict(decide(items[k], entry, now), entry.lists if entry else [])
        for code, count in collections.Counter(v[0] for v in verdicts).items():
            self.summary["allowed" if code == "ok" else code] += count
        return "".join([t + v[1] for t, v in zip(chunk.rows, verdicts, strict=True)]).encode()


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
