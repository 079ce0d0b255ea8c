"""Reading a spooled upload: the file (gzip or not, within its size limit) turned into chunks
of COPY text, its bad rows counted and kept; runs in a worker thread. A numbers-only kind (DNC,
opt-outs) gets a number a line; a kind with a `RowParser` (consents) gets its parser's lines."""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import IO, Any

from app.core.text import escaped
from app.uploads.errors import UploadFailed
from app.uploads.fileformat import (
    MAX_LINE_CHARS,
    FileFormatError,
    Layout,
    Rejected,
    RowParser,
    detect,
    header_names,
    normalize,
    records,
    values,
)

CHUNK_ROWS = 50_000
MAX_ERRORS = 1000


class Inflated(io.RawIOBase):
    """The file's bytes as stored or decompressed, refusing to yield more than `limit` of
    them: a small gzip can inflate to far more than the body limit let in (a gzip bomb)."""

    def __init__(self, inner: IO[bytes], *, is_gzip: bool, limit: int | None) -> None:
        self._inner = inner
        self._is_gzip = is_gzip
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            if not self._is_gzip:
                raise
            raise FileFormatError(f"the gzip data is corrupt or cut short ({exc})") from None
        self.count += len(data)
        if self._limit is not None and self.count > self._limit:
            raise UploadFailed(
                "payload_too_large",
                f"The file is larger than the limit of {self._limit} bytes once decompressed; "
                "nothing changed.",
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


class ChunkReader:
    """Reads the spooled file and turns rows into COPY text; runs in a worker thread."""

    def __init__(
        self,
        path: Path,
        *,
        is_gzip: bool,
        column: str | None,
        in_service: Collection[str],
        max_bytes: int | None = None,
        rows: RowParser | None = None,
    ) -> None:
        """`rows`: the kind's parser when its rows have several columns (None: numbers)."""
        with path.open("rb") as probe:  # gzip however it arrived: header, multipart or CLI
            is_gzip = is_gzip or probe.read(2) == b"\x1f\x8b"
        raw: IO[bytes] = gzip.open(path, "rb") if is_gzip else path.open("rb")  # type: ignore[assignment]
        inflated = Inflated(raw, is_gzip=is_gzip, limit=max_bytes)
        self._file = io.TextIOWrapper(
            io.BufferedReader(inflated, 1 << 20),
            encoding="utf-8-sig",
            errors="replace",
            newline=None,
        )
        self._lines = self._bounded_lines()
        self._column = column
        self._in_service = in_service
        self._parser = rows
        self._rows: Any = None
        self.rows_read = 0
        self.rows_rejected = 0
        self.phase = "reading"  # then "merging" (the importer says), shown by the heartbeat
        self.errors: list[dict[str, object]] = []

    def _bounded_lines(self) -> Iterator[tuple[int, str]]:
        """(line number, line) of every line up to MAX_LINE_CHARS; a longer one is a rejected
        row, read past in pieces, so one endless line cannot fill the memory."""
        readline, limit = self._file.readline, MAX_LINE_CHARS
        number = 0
        while line := readline(limit + 1):
            number += 1
            if len(line) <= limit or line[-1] == "\n":
                yield number, line.rstrip("\n")
                continue
            rest = line
            while rest and rest[-1] != "\n":
                rest = readline(limit)
            self._reject(number, line, "line_too_long")

    def _reject(self, line_number: int, value: str, reason: str) -> None:
        self.rows_read += 1
        self.rows_rejected += 1
        if len(self.errors) < MAX_ERRORS:
            # errors are stored as jsonb, which refuses NUL: unprintable characters escaped
            shown = escaped(value[:64])
            self.errors.append({"line": line_number, "value": shown, "reason": reason})

    def _start(self) -> None:
        for number, line in self._lines:
            if line.strip() and self._parser is not None:
                problem = self._parser.header(header_names(line))
                if problem is not None:
                    raise FileFormatError(problem)
                self._rows = records(self._lines)
                return
            if line.strip():
                layout = detect(line, self._column)
                first = [] if layout.header_lines else [(number, line)]
                self._rows = values(layout, _chain(first, self._lines))
                return
        self._rows = values(Layout("lines"), iter(()))

    def next_chunk(self) -> bytes | None:
        if self._rows is None:
            self._start()
        if self._parser is not None:
            return self._next_records(self._parser)
        out: list[str] = []
        for line_number, value in self._rows:
            result = normalize(value, self._in_service)
            if isinstance(result, int):
                self.rows_read += 1
                out.append(f"{result}\n")
            else:
                self._reject(line_number, value, result)
            if len(out) >= CHUNK_ROWS:
                break
        else:
            if not out:
                return None
        return "".join(out).encode()

    def _next_records(self, parser: RowParser) -> bytes | None:
        out: list[str] = []
        parse = parser.parse
        for line_number, fields, line in self._rows:
            result = parse(fields) if fields is not None else Rejected("unreadable_row", line)
            if isinstance(result, str):
                self.rows_read += 1
                out.append(result)
            else:
                self._reject(line_number, result.value, result.reason)
            if len(out) >= CHUNK_ROWS:
                break
        else:
            if not out:
                return None
        return "".join(out).encode()

    def close(self) -> None:
        self._file.close()


def _chain(first: list[tuple[int, str]], rest: Any) -> Any:
    yield from first
    yield from rest
