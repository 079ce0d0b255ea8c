"""Shared schema pieces: UTC timestamps with Z, strict input models, pages."""

import functools
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from app.core.text import unstorable

T = TypeVar("T")


def utc_isoformat(value: datetime) -> str:
    """The instant in UTC, ISO 8601 with `+00:00`. A batch's checks and records share their
    instants, so each UTC value is spelled once (only UTC values are cached: two local times
    that differ only in `fold` are equal keys but different instants)."""
    if value.tzinfo is UTC:
        return _utc_isoformat(value)
    return value.astimezone(UTC).isoformat()


@functools.lru_cache(maxsize=4096)
def _utc_isoformat(value: datetime) -> str:
    return value.isoformat()


def rfc3339_utc(value: datetime) -> str:
    """The instant in UTC as the API writes it: ISO 8601 with `Z`."""
    return utc_isoformat(value)[:-6] + "Z"  # a UTC isoformat always ends in +00:00


# The OpenAPI type of every timestamp: a serializer that returns str would otherwise document a
# plain string, and generated clients would hand their users a str instead of a datetime
DATE_TIME_SCHEMA: dict[str, Any] = {"type": "string", "format": "date-time"}
UtcDatetime = Annotated[
    datetime, PlainSerializer(rfc3339_utc, return_type=str), WithJsonSchema(DATE_TIME_SCHEMA)
]
# A timestamp a route has already written out as RFC 3339 text (a check's answer is built as
# JSON-ready data): documented as the date-time it is
DateTimeText = Annotated[str, WithJsonSchema(DATE_TIME_SCHEMA)]

# The years a time in a request may name, as for a check's `at`: beyond them a time is a
# mistake, and near the ends of Python's range (years 1 and 9999) an offset pushes it out of
# range when it is converted to UTC (a 500 from the database driver or the JSON encoder).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def _plausible_year(value: datetime | date) -> datetime | date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


_NUMBER = re.compile(r"\s*[-+]?[0-9]+(\.[0-9]*)?\s*")


def not_a_number(value: object) -> object:
    """An instant is written out (RFC 3339 with its offset), never a Unix epoch number: seconds
    and milliseconds look alike, and a call's hours are decided from it."""
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError(
            "must be an RFC 3339 date-time with its offset, e.g. 2026-12-08T22:30:00Z "
            "(epoch numbers are not accepted)"
        )
    return value


RequestTime = Annotated[
    AwareDatetime, BeforeValidator(not_a_number), AfterValidator(_plausible_year)
]
RequestDate = Annotated[date, AfterValidator(_plausible_year)]


class StrictInput(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class TextInput(StrictInput):
    """Request bodies whose text is stored or echoed: a string anywhere in a field (in lists and
    object keys too) with NUL or an unpaired surrogate is a 400 naming the field, not a 500 from
    the database or the JSON encoder."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        problem = _first_unstorable(value)
        if problem is not None:
            raise ValueError(problem)
        return value


def _first_unstorable(value: Any) -> str | None:
    if isinstance(value, str):
        return unstorable(value)
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, list | tuple):
        for item in value:
            if (problem := _first_unstorable(item)) is not None:
                return problem
    return None


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None
