"""The freshness screen of a batch of several requests (app/checks/freshness.py): a refused
request's items leave the batch, and what the others found stays with their own items."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from app.checks.freshness import screen
from app.checks.jobs import CheckUnavailable, Job
from app.checks.matching import Aging
from app.checks.outcome import Found, Prepared
from app.core.errors import ServiceUnavailable

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _item(tenant: str, n: int, *, allow_stale: bool = False) -> Prepared:
    return Prepared(
        check_id=f"chk_{tenant}_{n}",
        phone=f"+1212267{n:04d}",
        at=NOW,
        channel="voice",
        recipient_state=None,
        tenant_id=tenant,
        api_key_id=None,
        request_id="req",
        batch=True,
        allow_stale=allow_stale,
    )


async def test_a_refused_request_leaves_and_the_others_keep_their_matches() -> None:
    loop = asyncio.get_running_loop()
    # _item's number stays None: screen only asks whether a request looked anything up
    refused = Job([_item("ten_a", 0), _item("ten_a", 1)], loop.create_future())
    kept = Job([_item("ten_b", 2), _item("ten_b", 3), _item("ten_b", 4)], loop.create_future())
    allowed = Job([_item("ten_c", 5, allow_stale=True)], loop.create_future())
    for job in (refused, kept, allowed):
        for item in job.items:
            item.number = object()  # type: ignore[assignment]
    jobs = [refused, kept, allowed]
    found = {k: Found(lists=[{"list_id": f"lst_{k}"}]) for k in (0, 3, 4, 5)}
    stale_a = Aging("ten_a", "lst_a", "A registry", NOW - timedelta(days=40), 31)
    aging_c = Aging("ten_c", "lst_c", "C registry", NOW - timedelta(days=40), 31)

    items, matched, warnings = screen(jobs, found, [stale_a, aging_c], NOW)

    assert [item.check_id for item in items] == [
        "chk_ten_b_2",
        "chk_ten_b_3",
        "chk_ten_b_4",
        "chk_ten_c_5",
    ]
    assert {k: f.lists[0]["list_id"] for k, f in matched.items()} == {
        1: "lst_3",
        2: "lst_4",
        3: "lst_5",
    }
    assert refused.items == []
    with pytest.raises(CheckUnavailable) as raised:
        refused.future.result()
    assert isinstance(raised.value.answer, ServiceUnavailable)
    assert raised.value.answer.details is not None
    assert raised.value.answer.details["list_id"] == "lst_a"
    assert not kept.future.done()
    assert [w["code"] for w in warnings["ten_c"]] == ["registry_stale"]
    assert "ten_b" not in warnings
