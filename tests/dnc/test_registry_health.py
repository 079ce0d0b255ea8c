"""Registry freshness for operators: /readyz stays 200 and warns of stale and aging registry
lists; /metrics has each live registry list's age, read at scrape time."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from tests.dnc.freshness import age_list
from tests.helpers import tenant_with_key

DAY = timedelta(days=1)


async def _list(client: httpx.AsyncClient, headers: dict[str, str], **body: object) -> str:
    response = await client.post("/v1/dnc/lists", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _z(value: object) -> str:
    return str(value).replace("+00:00", "Z")


async def test_readyz_warns_of_stale_and_aging_registry_lists(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    ftc = await _list(client, admin, name="FTC", scope="global", kind="registry")
    texas = await _list(client, headers, name="TX", kind="registry", max_age_days=92)
    fresh = await _list(client, headers, name="fresh", kind="registry")
    own = await _list(client, headers, name="own")
    gone = await _list(client, headers, name="gone", kind="registry")

    ftc_at = await age_list(connection, ftc, 31 * DAY + timedelta(minutes=1))  # stale
    texas_at = await age_list(connection, texas, 86 * DAY)  # 6 days left: aging
    await age_list(connection, fresh, 23 * DAY)  # 8 days left: no warning yet
    await age_list(connection, own, 4000 * DAY)  # internal lists never go stale
    await age_list(connection, gone, 400 * DAY)
    assert (await client.delete(f"/v1/dnc/lists/{gone}", headers=headers)).status_code == 204

    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["warnings"] == [
        {
            "code": "registry_stale",
            "list_id": ftc,
            "tenant_id": None,
            "refreshed_at": _z(ftc_at.isoformat()),
            "stale_at": _z((ftc_at + 31 * DAY).isoformat()),
        },
        {
            "code": "registry_aging",
            "list_id": texas,
            "tenant_id": tenant_id,
            "refreshed_at": _z(texas_at.isoformat()),
            "stale_at": _z((texas_at + 92 * DAY).isoformat()),
        },
    ]
    assert (await client.head("/readyz")).status_code == 200


def _samples(metrics: str, name: str) -> dict[str, tuple[dict[str, str], float]]:
    out = {}
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
            out[labels["list_id"]] = (labels, float(match.group(2)))
    return out


async def test_metrics_have_each_live_registry_lists_age(
    client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    ftc = await _list(client, admin, name="FTC", scope="global", kind="registry")
    texas = await _list(client, headers, name="TX", kind="registry", max_age_days=92)
    own = await _list(client, headers, name="own")
    gone = await _list(client, headers, name="gone", kind="registry")
    await age_list(connection, ftc, 40 * DAY)
    await age_list(connection, texas, 10 * DAY)
    assert (await client.delete(f"/v1/dnc/lists/{gone}", headers=headers)).status_code == 204

    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert "# TYPE callguard_dnc_registry_age_seconds gauge" in text
    ages = _samples(text, "callguard_dnc_registry_age_seconds")
    limits = _samples(text, "callguard_dnc_registry_max_age_seconds")
    assert set(ages) == set(limits) == {ftc, texas}  # no internal or deleted list
    assert own not in text
    assert gone not in text
    labels, age = ages[ftc]
    assert labels == {"list_id": ftc, "scope": "global", "tenant_id": ""}
    assert 40 * 86400 <= age < 40 * 86400 + 120
    labels, age = ages[texas]
    assert labels == {"list_id": texas, "scope": "tenant", "tenant_id": tenant_id}
    assert 10 * 86400 <= age < 10 * 86400 + 120
    assert limits[ftc][1] == 31 * 86400
    assert limits[texas][1] == 92 * 86400

    # computed at each scrape: a list deleted since is simply gone
    assert (await client.delete(f"/v1/dnc/lists/{texas}", headers=headers)).status_code == 204
    assert set(
        _samples((await client.get("/metrics")).text, "callguard_dnc_registry_age_seconds")
    ) == {ftc}


async def test_metrics_still_render_when_the_database_does_not_answer() -> None:
    url = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1
    settings = Settings(database_url=url, db_timeout_s=1.0)
    database = Database.from_url(url, settings)
    app = create_app(settings, database)
    try:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://cg.test") as client:
            response = await client.get("/metrics")
        assert response.status_code == 200
        assert "callguard_db_pool_connections_in_use" in response.text
        assert "callguard_dnc_registry_age_seconds" not in response.text
    finally:
        await database.dispose()
