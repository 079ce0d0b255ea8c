"""Call attempts of a tenant (API-2.md section 14): recorded in bulk, all or nothing, with one
change event per request; a number's attempts, newest first."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts import repository
from app.attempts.errors import invalid_items
from app.attempts.schemas import AttemptIn, AttemptOut, AttemptsRecorded
from app.auth.principal import Principal
from app.core.ids import new_record_ids
from app.core.pagination import PageRequest, cut_page
from app.core.schemas import rfc3339_utc
from app.events.repository import record_event
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import parse_strict

RECORDED = "attempts.recorded"  # the change event: one per request, never one per attempt
# a dialer's clock a little ahead is tolerated (as for opt-outs and consents); an attempt
# further in the future would count against caps for calls that have not been placed
MAX_CLOCK_SKEW = timedelta(minutes=5)


def _problems(
    items: Sequence[AttemptIn], in_service: Collection[str], now: datetime, retention_days: int
) -> tuple[list[dict[str, str]], list[int]]:
    """Every item's problems (`items[n].field`), and the numbers of the valid ones."""
    problems: list[dict[str, str]] = []
    numbers: list[int] = []
    latest = now + MAX_CLOCK_SKEW
    earliest = now - timedelta(days=retention_days)
    for n, item in enumerate(items):
        try:
            numbers.append(parse_strict(item.phone, in_service).as_int)
        except InvalidPhone as exc:
            problems.append({"field": f"items[{n}].phone", "problem": exc.message})
        if item.at > latest:
            problems.append(
                {"field": f"items[{n}].at", "problem": "must not be more than 5 minutes ahead"}
            )
        elif item.at < earliest:
            problems.append(
                {
                    "field": f"items[{n}].at",
                    "problem": f"is older than attempts are kept ({retention_days} days)",
                }
            )
    return problems, numbers


async def record_attempts(
    *,
    session: AsyncSession,
    principal: Principal,
    tenant_id: str,
    items: Sequence[AttemptIn],
    in_service: Collection[str],
    retention_days: int,
) -> AttemptsRecorded:
    """Record every item, or none: one invalid item refuses the request (`400`, naming each
    problem's item and field). One insert statement and one change event for the request."""
    now = datetime.now(UTC)
    problems, numbers = _problems(items, in_service, now, retention_days)
    if problems:
        raise invalid_items(problems)
    ats = [item.at for item in items]
    recorded = await repository.record_attempts(
        session,
        tenant_id=tenant_id,
        ids=new_record_ids("att", len(items)),
        ats=ats,
        numbers=numbers,
        purposes=[item.purpose for item in items],
        channels=[item.channel for item in items],
        dispositions=[item.disposition for item in items],
        check_ids=[item.check_id for item in items],
    )
    await record_event(
        session,
        type=RECORDED,
        target=tenant_id,
        tenant_id=tenant_id,
        actor_key_id=principal.key_id,
        details={
            "count": recorded,
            "first_at": rfc3339_utc(min(ats)),
            "last_at": rfc3339_utc(max(ats)),
        },
    )
    return AttemptsRecorded(recorded=recorded)


def _key(row: AttemptOut) -> tuple[datetime, str]:
    return row.at, row.id


async def list_attempts(
    *,
    session: AsyncSession,
    tenant_id: str,
    number: int,
    since: datetime | None,
    until: datetime | None,
    page: PageRequest,
) -> tuple[list[AttemptOut], str | None]:
    """A page of the tenant's attempts at a number, newest first, `at` in [since, until)."""
    rows = await repository.number_page(
        session,
        tenant_id=tenant_id,
        number=number,
        since=since,
        until=until,
        before=page.after,
        limit=page.limit + 1,
    )
    out = [
        AttemptOut(
            id=row.id,
            phone=f"+1{row.number:010d}",
            at=row.at,
            purpose=row.purpose,
            channel=row.channel,
            disposition=row.disposition,
            check_id=row.check_id,
            recorded_at=row.recorded_at,
        )
        for row in rows
    ]
    return cut_page(out, page, _key)
