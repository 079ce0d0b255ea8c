"""Keyset pagination: opaque cursors over (created_at, id), stable under concurrent inserts."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Protocol, TypeVar

from fastapi import Depends, Query

from app.core.errors import ValidationFailed
from app.core.schemas import EARLIEST_YEAR, LATEST_YEAR
from app.core.text import unstorable


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: tuple[datetime, str] | None


def opaque(text: str) -> str:
    """A cursor from the position it stands for."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def bad_cursor() -> ValidationFailed:
    return ValidationFailed.field(
        "cursor", "not a valid cursor", "The cursor is not one this API gave out."
    )


def unopaque(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        # validate: the lenient decoder drops what is not base64, so junk would read as a cursor
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except ValueError as exc:
        raise bad_cursor() from exc


def encode_cursor(created_at: datetime, id_: str) -> str:
    return opaque(json.dumps([created_at.isoformat(), id_]))


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created_at, id_ = json.loads(unopaque(cursor))
        at, key = datetime.fromisoformat(created_at), str(id_)
    except (ValueError, TypeError) as exc:
        raise bad_cursor() from exc
    # a forged cursor must not reach the database with what it cannot take (a time that
    # overflows when converted to UTC, NUL)
    if at.tzinfo is None or not EARLIEST_YEAR <= at.year <= LATEST_YEAR or unstorable(key):
        raise bad_cursor()
    return at, key


def decode_number_cursor(cursor: str) -> int:
    """The number (ten national digits) a page in number order ended at."""
    try:
        number = int(unopaque(cursor))
    except ValueError as exc:
        raise bad_cursor() from exc
    if not 0 <= number < 10**10:  # beyond bigint, a forged cursor would be a 500
        raise bad_cursor()
    return number


def page_request(
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size.")] = 100,
    cursor: Annotated[str | None, Query(description="From a previous page's next_cursor.")] = None,
) -> PageRequest:
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageDep = Annotated[PageRequest, Depends(page_request)]


class Keyed(Protocol):
    @property
    def created_at(self) -> datetime: ...
    @property
    def id(self) -> str: ...


R = TypeVar("R")


def _created(row: Keyed) -> tuple[datetime, str]:
    return row.created_at, row.id


def cut_page(
    rows: Sequence[R],
    page: PageRequest,
    key: Callable[[R], tuple[datetime, str]] = _created,  # type: ignore[assignment]
) -> tuple[list[R], str | None]:
    """Rows were fetched with limit + 1: keep `limit`, and a cursor if there is more. `key` is
    the row's position in the listing's order (its instant and id): by default `created_at`."""
    kept = list(rows[: page.limit])
    more = len(rows) > page.limit
    return kept, encode_cursor(*key(kept[-1])) if more and kept else None
