"""Reading a scrub's spooled file in a worker thread: every data row with all its columns, in
input order, and the value of its phone column. The layout (a CSV with a header, one number a
line, FTC's `NPA,NUMBER`) and the phone column are found as uploads find them
(`uploads.fileformat.detect`); gzip however it arrived, within the size limit once inflated."""

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


class RowReader:
    """`header`: the output's input columns (a file without a header gets `phone`); then
    `chunk(n)` gives up to n rows as (fields, phone value), in input order."""

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
        self._rows: Iterator[tuple[list[str], str]] = iter(())
        self._start(column)

    def _start(self, column: str | None) -> None:
        while first := self._file.readline(MAX_LINE_CHARS + 1):
            line = first.rstrip("\r\n")
            if not line.strip():
                continue
            layout = detect(line, column)
            if layout.kind == "csv":
                self.header = next(csv.reader([line]))
                self._rows = self._csv(layout)
            else:
                self._rows = self._lines(layout, line)
            return

    def _csv(self, layout: Layout) -> Iterator[tuple[list[str], str]]:
        at = layout.column
        for row in csv.reader(self._file):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            yield row, row[at] if at < len(row) else ""

    def _lines(self, layout: Layout, first: str) -> Iterator[tuple[list[str], str]]:
        ftc = layout.kind == "ftc"
        line: str | None = first
        while line is not None:
            if line.strip():
                value = line.strip()
                yield [value], value.replace(",", "", 1) if ftc else value
            raw = self._file.readline(MAX_LINE_CHARS + 1)
            line = raw.rstrip("\r\n") if raw else None

    def chunk(self, size: int) -> list[tuple[list[str], str]]:
        out = []
        for row in self._rows:
            out.append(row)
            if len(out) >= size:
                break
        return out

    def close(self) -> None:
        self._file.close()
