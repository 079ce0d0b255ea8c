"""The garbage collector is held off during big batches and always comes back on."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import httpx
import pytest

from app.checks.outcome import Decided
from app.core import gcpause
from tests.helpers import tenant_with_key

# a batch big enough for the pause (from 1,000 items): 2,000 valid numbers, all allowed
BIG_BATCH = {
    "items": [{"to": f"+1415555{n:04d}"} for n in range(2000, 4000)],
    "at": "2026-11-23T18:30:00Z",
}


def test_pauses_nest_and_leave_the_collector_as_they_found_it() -> None:
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()  # switched off by someone else: a pause does not switch it on
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_inside_a_loop_the_collector_comes_back_at_its_next_turn() -> None:
    assert gc.isenabled()
    with gcpause.paused():
        pass
    assert not gc.isenabled()  # what the ending step still holds is freed first
    await asyncio.sleep(0)
    assert gc.isenabled()
    with gcpause.paused():
        pass
    with gcpause.paused():  # another pause begins before the turn: still off until it ends
        await asyncio.sleep(0)
        assert not gc.isenabled()
    await asyncio.sleep(0)
    assert gc.isenabled()


@pytest.fixture
def decisions_walked() -> Iterator[list[int]]:
    """For each collection that starts, how many checks' decisions it finds in the youngest
    generation (what it walks), with CPython's default threshold: a collection as soon as 700
    objects more are allocated than freed."""
    counts: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            counts.append(sum(type(o) is Decided for o in gc.get_objects(0)))

    threshold = gc.get_threshold()
    gc.set_threshold(700, threshold[1], threshold[2])
    gc.callbacks.append(watch)
    try:
        yield counts
    finally:
        gc.callbacks.remove(watch)
        gc.set_threshold(*threshold)


async def test_a_big_batchs_objects_are_freed_before_the_collector_comes_back(
    client: httpx.AsyncClient, admin: dict[str, str], decisions_walked: list[int]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    decisions_walked.clear()
    answer = await client.post("/v1/checks/batch", json=BIG_BATCH, headers=headers)
    await asyncio.sleep(0)
    assert answer.status_code == 200, answer.text
    assert gc.isenabled()
    gc.collect(0)  # a collection now, whatever the count: the batch must be gone by then
    # switched on at once, the collector walked the batch's decisions, still held by the
    # callback that ended the request (and each one's answer and record)
    assert decisions_walked
    assert not any(decisions_walked), decisions_walked


async def test_a_big_batch_leaves_the_collector_on(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    answer = await client.post("/v1/checks/batch", json=BIG_BATCH, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"]["allowed"] == 2000
    await asyncio.sleep(0)  # the collector comes back at the loop's next turn
    assert gc.isenabled()
