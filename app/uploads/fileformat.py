"""Reading DNC files: format detection and a fast per-row normalization.

`normalize` is the bulk path's parser: the same answers as `parse_lenient` (a property test
holds them together), without building objects or raising for each row, because an import
reads tens of millions of rows.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from app.numbers.parsing import STRIP_SEPARATORS, national_problem

PHONE_COLUMNS = ("phone", "phone_number", "number", "telephone", "e164", "to")
# the longest line read as a row (the importer rejects a longer one unread): any field of a
# line that short can be parsed (the csv module's own limit is 128 KiB)
MAX_LINE_CHARS = 1 << 20
csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE_CHARS))
_DIGITS = frozenset("0123456789")


def normalize(raw: str, in_service: Collection[str]) -> int | str:
    """The number as an integer (its ten national digits), or why the row is rejected."""
    # the forms machines write, at half the cost: digits alone, or +1 and digits (nothing to
    # strip, so `normalize_written` would read them the same way)
    if raw.isdigit() and raw.isascii():
        digits = raw
    elif raw[:2] == "+1" and raw[1:].isdigit() and raw.isascii():
        digits = raw[1:]
    else:
        return normalize_written(raw, in_service)
    return _national(digits, in_service)


def normalize_written(raw: str, in_service: Collection[str]) -> int | str:
    """`normalize` of any form people write: spaces, dots, dashes, parentheses, a leading 1."""
    compact = raw.strip().translate(STRIP_SEPARATORS)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not digits or not _DIGITS.issuperset(digits):
        return "not_a_phone_number"
    if plus and digits[0] != "1":
        return "not_nanp"
    return _national(digits, in_service)


def _national(digits: str, in_service: Collection[str]) -> int | str:
    """ASCII digits, with or without the country code 1, as ten national digits."""
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        return "wrong_length"
    problem = national_problem(digits, in_service)
    return problem if problem is not None else int(digits)


@dataclass(frozen=True, slots=True)
class Layout:
    """How to find the number in a row."""

    kind: str  # "lines", "csv" or "ftc"
    column: int = 0  # for csv: the phone column's index
    header_lines: int = 0


class FileFormatError(ValueError):
    """The file as a whole cannot be read (e.g. a CSV header with no phone column)."""


def _is_ftc(line: str) -> bool:
    npa, _, rest = line.partition(",")
    return len(npa) == 3 and len(rest) == 7 and npa.isdigit() and rest.isdigit()


def header_names(first_line: str) -> list[str]:
    """A CSV header's column names, trimmed and in lower case."""
    try:
        header = next(csv.reader([first_line]))
    except csv.Error as exc:
        raise FileFormatError(f"the first line is not a readable CSV header ({exc})") from None
    return [name.strip().strip('"').lower() for name in header]


def detect(first_line: str, column: str | None) -> Layout:
    """Decide the layout from the first non-blank line (BOM and line ending already gone)."""
    if column is not None or ("," in first_line and any(c.isalpha() for c in first_line)):
        names = header_names(first_line)
        wanted = [column.lower()] if column is not None else list(PHONE_COLUMNS)
        for name in wanted:
            if name in names:
                return Layout("csv", names.index(name), header_lines=1)
        shown = column if column is not None else " or ".join(PHONE_COLUMNS)
        raise FileFormatError(f"the CSV header has no column named {shown}")
    if _is_ftc(first_line):
        return Layout("ftc")
    return Layout("lines")


def values(layout: Layout, lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """(line number, the raw value to parse) for each data row; blank lines are skipped."""
    for number, line in lines:
        if not line.strip():
            continue
        if layout.kind == "lines":
            yield number, line
        elif layout.kind == "ftc":
            yield number, line.replace(",", "", 1) if _is_ftc(line) else line
        else:
            try:
                row = next(csv.reader([line]), [])
            except csv.Error:  # e.g. a field over the csv module's size limit: a bad row
                yield number, line
                continue
            yield number, row[layout.column] if layout.column < len(row) else ""


# Kinds whose rows carry several columns (consents) read their file as a CSV with a header, each
# data row turned into a line of COPY text for the staging table the kind declares, by the
# parser the kind gives (its owner's `uploads.py`). The numbers-only kinds never come here.


class Rejected(NamedTuple):
    """Why a row is rejected, and the value that made it so (shown in the upload's errors)."""

    reason: str
    value: str


class RowParser(Protocol):
    """How a kind with several columns a row reads its file."""

    # the staging table's columns, (name, SQL type), in the order each COPY line gives them
    columns: Sequence[tuple[str, str]]

    def header(self, names: Sequence[str]) -> str | None:
        """Take the header's names (trimmed, lower case); why the file cannot be read as this
        kind (a column it needs is missing), or None."""
        ...

    def parse(self, fields: Sequence[str]) -> str | Rejected:
        """A data row's fields: its line of COPY text (ending in a newline), or why not."""
        ...


def records(lines: Iterable[tuple[int, str]]) -> Iterator[tuple[int, list[str] | None, str]]:
    """(line number, its CSV fields or None if they cannot be read, the line) for each data
    row; blank lines are skipped."""
    for number, line in lines:
        if not line.strip():
            continue
        try:
            row = next(csv.reader([line]), [])
        except csv.Error:  # e.g. a field over the csv module's size limit: a bad row
            yield number, None, line
            continue
        yield number, row, line
