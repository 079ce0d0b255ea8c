"""Per-stage timers of a check batch (CALLGUARD_CHECK_STAGE_TIMERS): where a slow check's time
went, one log line per batch once it has committed. Off by default: the writer then makes none."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("callguard.checks")


class Stages:
    """The instants one batch reached each stage, from its start (its connection taken)."""

    __slots__ = ("decided", "items", "looked_up", "prepared", "rows", "started")

    def __init__(self) -> None:
        self.started = self.prepared = self.looked_up = self.decided = time.perf_counter()
        self.items = self.rows = 0

    def prepare_done(self) -> None:
        self.prepared = time.perf_counter()

    def lookup_done(self, items: int, rows: int) -> None:
        self.looked_up = time.perf_counter()
        self.items, self.rows = items, rows

    def decide_done(self) -> None:
        self.decided = time.perf_counter()

    def log(self) -> None:
        """The batch's line, in ms: `prepare_ms` (a batch request's items are prepared while
        the lookup runs, so it overlaps `lookup_ms`); `lookup_ms` until the lookup's rows are
        in (with a reserving batch's locks); `decide_ms` until every check is decided and
        hashed (a big batch's records stream into COPY meanwhile); `write_ms` until the
        records, and a reserving batch's attempts, are committed."""
        done = time.perf_counter()
        log.info(
            "check batch stages",
            extra={
                "items": self.items,
                "rows": self.rows,
                "prepare_ms": round((self.prepared - self.started) * 1000, 3),
                "lookup_ms": round((self.looked_up - self.started) * 1000, 3),
                "decide_ms": round((self.decided - self.looked_up) * 1000, 3),
                "write_ms": round((done - self.decided) * 1000, 3),
            },
        )
