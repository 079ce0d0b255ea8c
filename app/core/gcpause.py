"""The cyclic garbage collector held off while a big batch is worked on.

A batch of 10,000 checks allocates a few hundred thousand short-lived objects (items, records,
answers) that reference counting frees on its own; the collector still walked them many times
over while they lived: about a third of the batch's Python time. Inside `paused()` no collection
runs; when the last pause ends the collector is switched back on, and cycles made meanwhile are
collected as usual afterwards.

Inside a running event loop it is switched back on at the loop's next turn, not at once: when
a batch's request ends, the callback that resumed it is still running and holds the writer's
future, whose result is the batch's 10,000 decisions, and the first collection after switching
on walked them all with their answers and records (some 55,000 objects: 15-45 ms during which
the worker's event loop did nothing else). A turn later they are freed, and no collection
walks them. With no running loop the collector is switched back on at once.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0  # pauses in progress (batches of concurrent requests overlap)
_ours = False  # whether the collector is off because of a pause (not because of someone else)


@contextmanager
def paused() -> Iterator[None]:
    global _depth, _ours
    # when it is off already (someone else's doing, or a pending switch-on), it is left so
    if _depth == 0 and gc.isenabled():
        gc.disable()
        _ours = True
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _ours:
            try:
                asyncio.get_running_loop().call_soon(_switch_on)
            except RuntimeError:  # no loop running: switched on at once
                _switch_on()


def _switch_on() -> None:
    """The collector back on, unless another pause began meanwhile (its end will call again)."""
    global _ours
    if _depth == 0 and _ours:
        _ours = False
        gc.enable()
