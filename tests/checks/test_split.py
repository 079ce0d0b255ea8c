"""A big batch looked up in parts on the writer's helper connection while its records are
written (app/checks/split.py), through the HTTP API on a live app with its real writer (the
split needs a second connection, so these run on `workers`, committed for real)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.checks import repository, split
from tests.dnc.freshness import age_list
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

AT = "2026-11-23T17:00:00Z"  # 12:00 in New York, 09:00 in San Francisco, 07:00 in Honolulu
SIZE, SPLIT_FROM = 600, 400  # a split batch here: four parts of 150 checks
LISTED = [f"+1212555{n:04d}" for n in range(2000, 2015)]  # on the tenant's list
OPTED_OUT = [f"+1415555{n:04d}" for n in range(2000, 2012)]


def _items() -> list[dict[str, str]]:
    """The listed and opted-out numbers in every part (listed ones last in each part too),
    numbers repeated across parts, invalid ones, and Hawaii's (outside calling hours)."""
    items = []
    for n in range(SIZE):
        if n % 40 == 0 or n % 150 == 149:
            to = LISTED[n // 40 % len(LISTED)]
        elif n % 50 == 1:
            to = OPTED_OUT[n // 50]
        elif n % 97 == 2:
            to = "+1212555012"  # too short
        elif n % 89 == 3:
            to = f"+1808555{2000 + n:04d}"
        else:
            to = f"+1646555{2000 + n % 400:04d}"  # 200 of them twice, far apart
        items.append({"to": to})
    return items


async def _tenant(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[str, dict[str, str]]:
    tenant_id, headers = await tenant_with_key(client, admin)
    made = await client.post("/v1/dnc/lists", json={"name": "own"}, headers=headers)
    assert made.status_code == 201, made.text
    list_id = made.json()["id"]
    for phone in LISTED:
        put = await client.put(f"/v1/dnc/lists/{list_id}/numbers/{phone}", headers=headers)
        assert put.status_code in (200, 201), put.text
    for phone in OPTED_OUT:
        out = await client.post("/v1/opt-outs", json={"phone": phone}, headers=headers)
        assert out.status_code == 201, out.text
    return tenant_id, headers


def _answers(response: httpx.Response) -> list[dict[str, Any]]:
    """Each result without what differs between two runs of the same checks (its id)."""
    assert response.status_code == 200, response.text
    results = []
    for result in response.json()["results"]:
        result = {key: value for key, value in result.items() if key != "check_id"}
        if "details" in result:
            details = {k: v for k, v in result["details"].items() if k != "check_id"}
            result["details"] = details
        results.append(result)
    return results


async def _records(workers: Workers, tenant_id: str) -> int:
    async with workers[3].engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM check_records WHERE tenant_id = :t"), {"t": tenant_id}
        )
    return int(count or 0)


@pytest.mark.parametrize("aging", [False, True], ids=["lists", "an aging registry list"])
async def test_a_split_batch_answers_and_records_as_one_lookup(
    workers: Workers, monkeypatch: pytest.MonkeyPatch, aging: bool
) -> None:
    app, _, admin, database = workers
    split_writes = 0
    write = split.write

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal split_writes
        split_writes += 1
        return await write(*args, **kwargs)

    monkeypatch.setattr(split, "write", counted)
    monkeypatch.setattr(split, "SPLIT_FROM", SPLIT_FROM)
    async with client_of(app) as client:
        tenant_id, headers = await _tenant(client, admin)
        if aging:  # 6 days left: every allowed answer warns of it (app/checks/freshness)
            made = await client.post(
                "/v1/dnc/lists",
                json={"name": "TX", "kind": "registry", "max_age_days": 92},
                headers=headers,
            )
            async with database.engine.begin() as conn:
                await age_list(conn, made.json()["id"], timedelta(days=86))
        body = {"items": _items(), "at": AT}
        parted = await client.post("/v1/checks/batch", json=body, headers=headers)
        assert split_writes == 1
        monkeypatch.setattr(split, "SPLIT_FROM", 10**9)  # the same checks, one lookup
        whole = await client.post("/v1/checks/batch", json=body, headers=headers)
        assert split_writes == 1
        verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    answers = _answers(parted)
    assert answers == _answers(whole)
    assert parted.json()["summary"] == whole.json()["summary"]
    errors = [answer.get("error") for answer in answers]
    assert errors.count("dnc_blocked") == 19
    assert errors.count("opted_out") == 12
    assert errors.count("invalid_phone") == 7
    assert errors.count("call_hours_violation") == 7
    allowed = [answer for answer in answers if answer.get("ok")]
    assert len(allowed) == SIZE - 45
    assert all(("warnings" in answer) == aging for answer in allowed)
    assert verdict == {**verdict, "ok": True, "records": 2 * SIZE, "first_bad": None}
    assert await _records(workers, tenant_id) == 2 * SIZE


async def test_a_part_whose_lookup_fails_fails_the_batch_and_records_none_of_it(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, admin, _ = workers
    look_up = repository.look_up
    calls = 0

    def third_fails(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 3:  # the third part's, after the first parts' records went to COPY
            raise OSError("the connection broke")
        return look_up(*args)

    monkeypatch.setattr(repository, "look_up", third_fails)
    monkeypatch.setattr(split, "SPLIT_FROM", SPLIT_FROM)
    async with client_of(app) as client:
        tenant_id, headers = await _tenant(client, admin)
        body = {"items": _items(), "at": AT}
        failed = await client.post("/v1/checks/batch", json=body, headers=headers)
        assert failed.status_code == 503, failed.text
        assert failed.json()["error"] == "service_unavailable"
        assert await _records(workers, tenant_id) == 0
        # both connections are taken again: the next batch is split, answered and chained
        again = await client.post("/v1/checks/batch", json=body, headers=headers)
        assert calls == 7
        verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert again.status_code == 200, again.text
    assert verdict == {**verdict, "ok": True, "records": SIZE, "first_bad": None}
