"""The cyclic garbage collector held off while a big batch is worked on.

A batch of 10,000 checks allocates a few hundred thousand short-lived objects (items, records,
answers) that reference counting frees on its own; the collector still walked them many times
over while they lived: about a third of the batch's Python time. Inside `paused()` no collection
runs; when the last pause ends the collector is switched back on, and cycles made meanwhile are
collected as usual afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0  # pauses in progress (batches of concurrent requests overlap)
_ours = False  # whether the collector was switched off by a pause (not by someone else)


@contextmanager
def paused() -> Iterator[None]:
    global _depth, _ours
    if _depth == 0 and gc.isenabled():
        gc.disable()
        _ours = True
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _ours:
            _ours = False
            gc.enable()
