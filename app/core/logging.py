"""Structured logs: one JSON object per line on standard output."""

import asyncio
import json
import logging
import math
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_second: tuple[float, str] = (math.nan, "")  # the last second stamped, and its text


def _stamp(created: float) -> str:
    """`created` as `datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")`
    spells it (rounded to the microsecond as datetime rounds, then cut to the millisecond), the
    date and time of day formatted once a second rather than for every line."""
    global _second
    frac, whole = math.modf(created)
    micros = round(frac * 1e6)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    second = _second  # read once: another thread may replace it meanwhile
    if whole != second[0]:
        second = _second = (whole, datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{second[1]}.{micros // 1000:03d}+00:00"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _stamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        try:
            text = orjson.dumps(line, default=str).decode()
        except TypeError:  # what orjson refuses (lone surrogates, huge ints, odd keys)
            return json.dumps(line, default=str)
        # ASCII, as json.dumps writes it, so any stdout encoding takes it
        return text if text.isascii() else json.dumps(line, default=str)


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Keeps each line and writes what it kept together: on a busy server a write per request
    is a system call per request (standard output is unbuffered under PYTHONUNBUFFERED=1, which
    the Dockerfile sets). Kept lines are written within FLUSH_S by the running event loop (at
    once outside one, for warnings and errors, and from MAX_KEPT lines), when the app shuts
    down (`flush_logs`) and when the process exits normally."""

    FLUSH_S = 0.2
    MAX_KEPT = 256

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._kept: list[str] = []
        self._scheduled: asyncio.AbstractEventLoop | None = None  # the loop that will flush

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._kept.append(self.format(record) + self.terminator)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING or len(self._kept) >= self.MAX_KEPT:
            self.flush()
            return
        if self._scheduled is not None and not self._scheduled.is_closed():
            return  # a flush is due on a running loop
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._scheduled = None
            self.flush()
            return
        self._scheduled = loop
        loop.call_later(self.FLUSH_S, self._flush_later)

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            kept, self._kept = self._kept, []
            if getattr(self.stream, "closed", False):
                return  # nowhere to write (a test's captured output, closed before the exit)
            try:
                # whole lines, in pieces a pipe takes whole (PIPE_BUF): the workers' lines
                # share one standard output, and a bigger write could be split mid-line
                for piece in _pieces(kept):
                    self.stream.write(piece)
                    self.stream.flush()
            except Exception:  # lost, as a failed write of each would have lost it
                self.handleError(logging.makeLogRecord({"msg": f"{len(kept)} lines lost"}))
            super().flush()

    def _flush_later(self) -> None:
        self._scheduled = None
        self.flush()


PIPE_BUF = 4096  # what POSIX writes to a pipe at once, never interleaved with another write


def _pieces(lines: list[str]) -> Iterator[str]:
    piece: list[str] = []
    size = 0
    for line in lines:
        if piece and size + len(line) > PIPE_BUF:
            yield "".join(piece)
            piece, size = [], 0
        piece.append(line)
        size += len(line)  # the lines are ASCII (JsonFormatter): characters are bytes
    if piece:
        yield "".join(piece)


def flush_logs() -> None:
    """Write the kept lines now (a worker process stopped by a signal skips the exit's flush)."""
    for handler in logging.getLogger("callguard").handlers:
        handler.flush()


def configure_logging(level: str) -> None:
    # our lines carry none of these; LogRecord would look them up on every call
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # nor where the call was made: finding it walks the stack on every line (the logging
    # HOWTO's "Optimization": a tenth of the access line's cost)
    logging._srcfile = None
    handler = LineHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("callguard")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
