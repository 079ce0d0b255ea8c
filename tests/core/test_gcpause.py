"""The garbage collector is held off during big batches and always comes back on."""

from __future__ import annotations

import gc

import httpx

from app.core import gcpause
from tests.helpers import tenant_with_key


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


async def test_a_big_batch_leaves_the_collector_on(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    items = [{"to": f"+1415555{n:04d}"} for n in range(2000, 4000)]
    body = {"items": items, "at": "2026-11-23T18:30:00Z"}
    answer = await client.post("/v1/checks/batch", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"]["allowed"] == 2000
    assert gc.isenabled()
