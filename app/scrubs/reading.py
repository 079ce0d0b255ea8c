"""Reading a scrub's spooled file in a worker thread: every data row as written (its CSV text,
padded to the header's width) and the value of its phone column, in input order. The layout (a
CSV with a header, one number a line, FTC's `NPA,NUMBER`) and the phone column are found as
uploads find them (`uploads.fileformat.detect`); gzip however it arrived, within the size limit
once inflated.

A row is kept as its text, not as a list of fields: the result row is that text and the
callguard columns, so a row with no quote is only split to find its phone value, and a million
rows in flight are a million strings (which the garbage collector does not walk), not a million
lists. A row with a quote is read by the csv module, across lines when a quoted field holds a
line break, and written again from its fields as the csv module would (a quote left open to the
end of the file then still ends the row before the callguard columns)."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from app.uploads.fileformat import MAX_LINE_CHARS, Layout, detect
from app.uploads.reading import Inflated

GZIP_MAGIC = b"\x1f\x8b"
NEEDS_QUOTES = frozenset(',"\r\n')


def cell(value: str) -> str:
    """A field as the csv module writes it (quoted only when it must be)."""
    if NEEDS_QUOTES.isdisjoint(value):
        return value
    return '"' + value.replace('"', '""') + '"'


class _Resumed:
    """The file's lines for the csv module, starting with one already read."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.first: str | None = None

    def __iter__(self) -> _Resumed:
        return self

    def __next__(self) -> str:
        if self.first is not None:
            line, self.first = self.first, None
            return line
        return next(self._lines)


class RowReader:
    """`header`: the output's input columns (a file without a header gets `phone`); then
    `chunk(n)` gives up to n rows (their CSV text, without a line end) and their phone values,
    in input order: no rows only at the end of the file."""

    def __init__(
        self, path: Path, *, is_gzip: bool, column: str | None, max_bytes: int | None
    ) -> None:
        with path.open("rb") as probe:
            is_gzip = is_gzip or probe.read(2) == GZIP_MAGIC
        inner: IO[bytes] = gzip.open(path, "rb") if is_gzip else path.open("rb")  # type: ignore[assignment]
        self._file = io.TextIOWrapper(
            io.BufferedReader(Inflated(inner, is_gzip=is_gzip, limit=max_bytes), 1 << 20),
            encoding="utf-8-sig",
            errors="replace",
            newline="",
        )
        self.header: list[str] = ["phone"]
        self._layout = Layout("lines")
        self._first: str | None = None  # a file without a header: its first line is a row
        self._start(column)
        self._resumed = _Resumed(self._file)
        self._quoted = csv.reader(self._resumed)

    def _start(self, column: str | None) -> None:
        while first := self._file.readline(MAX_LINE_CHARS + 1):
            line = first.rstrip("\r\n")
            if not line.strip():
                continue
            self._layout = detect(line, column)
            if self._layout.kind == "csv":
                self.header = next(csv.reader([line]))
            else:
                self._first = first
            return
        self._layout = Layout("lines")

    def chunk(self, size: int) -> tuple[list[str], list[str]]:
        if self._layout.kind != "csv":
            return self._lines(size)
        texts: list[str] = []
        values: list[str] = []
        at, width = self._layout.column, len(self.header)
        lines = self._file
        for line in lines:
            if '"' in line:
                fields = self._quoted_row(line)
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                count = len(fields)
                value = fields[at] if at < count else ""
                line = ",".join(map(cell, fields))
            else:
                line = line.rstrip("\r\n")
                count = line.count(",") + 1
                if count == 1 and not line.strip():
                    continue
                value = line.split(",", at + 1)[at] if at < count else ""
            texts.append(line + "," * (width - count) if count < width else line)
            values.append(value)
            if len(texts) >= size:
                break
        return texts, values

    def _quoted_row(self, line: str) -> list[str]:
        """The fields of the row starting at `line` (read on by the csv module while a quoted
        field holds a line break)."""
        self._resumed.first = line
        return next(self._quoted)

    def _lines(self, size: int) -> tuple[list[str], list[str]]:
        ftc = self._layout.kind == "ftc"
        texts: list[str] = []
        values: list[str] = []
        while len(texts) < size:
            if self._first is not None:
                raw, self._first = self._first, None
            else:
                raw = self._file.readline(MAX_LINE_CHARS + 1)
            if not raw:
                break
            value = raw.strip()
            if value:
                texts.append(cell(value))
                values.append(value.replace(",", "", 1) if ftc else value)
        return texts, values

    def close(self) -> None:
        self._file.close()
