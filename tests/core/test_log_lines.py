"""The log handler keeps lines and writes them in one piece (one system call rather than one per
request, even when standard output is unbuffered), in order, soon, and never loses them on a
normal exit."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from app.core.logging import PIPE_BUF, JsonFormatter, LineHandler, _stamp, flush_logs


class CountingStream(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, LineHandler, CountingStream]]:
    stream = CountingStream()
    handler = LineHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("callguard.test-lines")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, handler, stream
    finally:
        logger.handlers[:] = []


def _messages(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["msg"] for line in stream.getvalue().splitlines()]


async def test_lines_on_a_running_loop_are_written_together_and_soon(
    logged: tuple[logging.Logger, LineHandler, CountingStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, _, stream = logged
    monkeypatch.setattr(LineHandler, "FLUSH_S", 0.05)
    for n in range(20):
        logger.info("request %d", n)
    assert stream.getvalue() == ""  # kept, not yet written
    await asyncio.sleep(0.2)
    assert _messages(stream) == [f"request {n}" for n in range(20)]
    assert stream.writes == 1
    logger.info("later")
    await asyncio.sleep(0.2)
    assert _messages(stream)[-1] == "later"
    assert stream.writes == 2


async def test_a_warning_writes_at_once_after_the_lines_before_it(
    logged: tuple[logging.Logger, LineHandler, CountingStream],
) -> None:
    logger, _, stream = logged
    logger.info("first")
    logger.warning("database unavailable")
    assert _messages(stream) == ["first", "database unavailable"]


async def test_many_lines_are_written_without_waiting(
    logged: tuple[logging.Logger, LineHandler, CountingStream],
) -> None:
    logger, _, stream = logged
    for n in range(LineHandler.MAX_KEPT):
        logger.info("line %d", n)
    assert len(_messages(stream)) == LineHandler.MAX_KEPT
    assert stream.writes <= len(stream.getvalue()) // PIPE_BUF + 1  # whole pieces, not a line each


def test_outside_an_event_loop_each_line_is_written_at_once(
    logged: tuple[logging.Logger, LineHandler, CountingStream],
) -> None:
    logger, _, stream = logged
    logger.info("one")
    assert _messages(stream) == ["one"]
    logger.info("two")
    assert _messages(stream) == ["one", "two"]


def test_kept_lines_are_written_when_the_process_exits() -> None:
    code = (
        "import asyncio, logging\n"
        "from app.core.logging import configure_logging\n"
        "configure_logging('info')\n"
        "async def main():\n"
        "    for n in range(3):\n"
        "        logging.getLogger('callguard.access').info('request %d', n)\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, check=True, timeout=60
    )
    lines = [json.loads(line)["msg"] for line in done.stdout.decode().splitlines()]
    assert lines == ["request 0", "request 1", "request 2"]


class PipeLikeStream(CountingStream):
    """Records each write as one piece, as a pipe receives it."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[str] = []

    def write(self, text: str) -> int:
        self.pieces.append(text)
        return super().write(text)


async def test_many_lines_are_written_in_whole_lines_no_piece_over_pipe_buf(
    logged: tuple[logging.Logger, LineHandler, CountingStream], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger, handler, _ = logged
    stream = PipeLikeStream()
    monkeypatch.setattr(handler, "stream", stream)
    long_message = "x" * 900
    for n in range(40):
        logger.info("%d %s", n, long_message)  # kept: a loop is running
    assert stream.pieces == []
    handler.flush()
    assert len(stream.pieces) > 1
    assert all(len(piece.encode()) <= PIPE_BUF for piece in stream.pieces)
    assert all(piece.endswith("\n") for piece in stream.pieces)
    assert [int(msg.split()[0]) for msg in _messages(stream)] == list(range(40))


async def test_flush_logs_writes_the_kept_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = CountingStream()
    handler = LineHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("callguard")
    monkeypatch.setattr(root, "handlers", [handler])
    child = logging.getLogger("callguard.test-flush")
    child.setLevel(logging.INFO)
    child.info("request")
    assert stream.getvalue() == ""
    flush_logs()
    assert _messages(stream) == ["request"]


def test_a_lines_time_is_spelled_as_datetime_spells_it() -> None:
    """The time stamp, formatted once a second, reads as datetime's own rounding and spelling
    would: across second boundaries, at half microseconds, in random order."""
    rng = random.Random(9)
    instants = [-1.0, -0.5, 0.0, 1.0, 1796601599.9999996, 1796601599.9995, 1796601600.0]
    instants += [rng.uniform(1.7e9, 1.9e9) for _ in range(50_000)]
    instants += [
        round(rng.uniform(1.7e9, 1.9e9), 3) + k * 5e-7 for k in (-1, 1) for _ in range(5_000)
    ]
    for created in instants:
        expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
        assert _stamp(created) == expected, created
