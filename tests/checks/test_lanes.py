"""Concurrent checks through two live apps (two processes' writers, four slots each): every
answered check is recorded once, and every lane's chain verifies."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of


async def test_concurrent_checks_on_two_workers_chain_and_verify(workers: Workers) -> None:
    app_a, app_b, admin, database = workers
    async with client_of(app_a) as a, client_of(app_b) as b:
        _, headers = await tenant_with_key(a, admin)
        body = {"to": "+14155552671", "at": "2026-11-23T18:30:00Z"}
        answers = await asyncio.gather(
            *[
                (a if n % 2 else b).post("/v1/checks", json=body, headers=headers)
                for n in range(200)
            ],
            a.post(
                "/v1/checks/batch",
                json={"items": [{"to": "+12125552671"}] * 300, "at": body["at"]},
                headers=headers,
            ),
        )
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers][:3]
        ids = {r.json()["check_id"] for r in answers[:200]}
        ids |= {item["check_id"] for item in answers[200].json()["results"]}
        assert len(ids) == 500
        verdict = (await b.get("/v1/audit/verify", headers=headers)).json()
        assert verdict == {**verdict, "ok": True, "records": 500, "first_bad": None}
        listed = await a.get(
            "/v1/audit/checks?limit=1000", headers={**headers, "Accept": "text/csv"}
        )
        assert len(listed.text.strip().splitlines()) == 501
    async with database.engine.connect() as conn:
        lanes = (
            await conn.execute(
                text("SELECT count(DISTINCT lane) FROM check_records WHERE id = ANY(:ids)"),
                {"ids": list(ids)},
            )
        ).scalar_one()
    assert lanes >= 2  # the two processes wrote on lanes of their own
