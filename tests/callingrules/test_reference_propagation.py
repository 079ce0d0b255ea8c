"""An area-code override or a ban made in one worker reaches the other within a second."""

import asyncio
import time

from tests.workers import Workers, client_of

BAN = {
    "jurisdiction": "US-LA",
    "starts_at": "2031-01-01T00:00:00Z",
    "ends_at": "2031-01-02T00:00:00Z",
    "reason": "propagation test",
}


async def test_override_and_ban_reach_the_other_worker(workers: Workers) -> None:
    app_a, app_b, admin, _ = workers
    async with client_of(app_a) as a, client_of(app_b) as b:
        before = (await b.get("/v1/area-codes/212", headers=admin)).json()  # B loads its snapshot
        assert before["overridden"] is False
        put = await a.put("/v1/area-codes/212", json={"in_service": False}, headers=admin)
        assert put.status_code == 200
        ban = (await a.post("/v1/calling-rules/bans", json=BAN, headers=admin)).json()
        try:
            started = time.monotonic()
            while not (await b.get("/v1/area-codes/212", headers=admin)).json()["overridden"]:
                assert time.monotonic() - started < 1.0, "override not seen by the other worker"
                await asyncio.sleep(0.01)
            snapshot = await app_b.state.reference.current(app_b.state.db.sessionmaker)
            assert "212" not in snapshot.in_service
            assert ban["id"] in [b_.id for b_ in snapshot.extras["bans"]]
        finally:
            await a.delete("/v1/area-codes/212", headers=admin)
            await a.delete(f"/v1/calling-rules/bans/{ban['id']}", headers=admin)
