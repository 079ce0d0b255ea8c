"""Scrub jobs through the HTTP API (API-2.md section 15), against committed data: a 5,000-row
scrub decided row by row exactly as 5,000 single checks at the same instant, columns kept in
order, `only=` filters, hashes, the event, and tenant isolation."""

from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import io
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.scrubs import tasks
from tests.dnc.freshness import age_list
from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

AREAS = ("212", "305", "415", "808", "907", "312", "303")  # ET, FL (capped), PT, HI, AK, CT, MT
CALLGUARD = (
    "callguard_result",
    "callguard_reason",
    "callguard_next_allowed_at",
    "callguard_lists",
    "callguard_exemption",
    "callguard_list_ids",
)


def _numbers(rng: random.Random, count: int) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        exchange = rng.randint(201, 999)
        if exchange % 100 == 11 or exchange == 555:
            continue
        number = f"{rng.choice(AREAS)}{exchange}{rng.randint(0, 9999):04d}"
        if number not in seen:
            seen.add(number)
            out.append(number)
    return out


async def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _list(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: dict[str, Any],
    numbers: list[str],
) -> dict[str, Any]:
    made = await _ok(await client.post("/v1/dnc/lists", json=body, headers=headers), 201)
    upload = await client.post(
        f"/v1/dnc/lists/{made['id']}/uploads",
        content="".join(f"{n}\n" for n in numbers).encode(),
        headers={**headers, "content-type": "text/plain"},
    )
    assert upload.status_code == 202, upload.text
    await app.state.uploads.wait()
    return dict(made)


async def _scrub(
    app: FastAPI,
    client: httpx.AsyncClient,
    headers: dict[str, str],
    body: bytes,
    query: str,
    **extra: str,
) -> dict[str, Any]:
    accepted = await _ok(
        await client.post(
            f"/v1/scrubs{query}",
            content=body,
            headers={**headers, "content-type": "text/csv", **extra},
        ),
        202,
    )
    assert accepted["status"] == "queued"
    assert accepted["id"].startswith("scr_")
    await app.state.scrubs.wait()
    return dict(await _ok(await client.get(f"/v1/scrubs/{accepted['id']}", headers=headers)))


def _rows(body: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body)))


async def test_a_scrub_decides_every_row_as_a_single_check_would(
    workers: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chunks of 7 rows: the lookups of later chunks overlap the deciding of earlier ones, and
    # the area codes' verdicts are reused across chunks, as in a file of millions of rows
    monkeypatch.setattr(tasks, "CHUNK_ROWS", 7)
    app, _, admin, _ = workers
    rng = random.Random(18)
    at = (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=14, minute=30, second=0, microsecond=0
    )
    stamp = at.isoformat().replace("+00:00", "Z")
    async with client_of(app) as client:
        tenant, headers = await tenant_with_key(client, admin)
        numbers = _numbers(rng, 4900)
        registry = numbers[:500]
        internal = numbers[400:700]  # 100 on both lists
        opted = numbers[650:750]
        consented = numbers[0:150]  # waives registry-only matches (not 400-500: also internal)
        consented += numbers[420:440]
        florida = [n for n in numbers[1000:] if n.startswith("305")][:60]
        await _list(app, client, headers, {"name": "federal copy", "kind": "registry"}, registry)
        await _list(app, client, headers, {"name": "do not call"}, internal)
        for n in opted:
            await _ok(
                await client.post(
                    "/v1/opt-outs", json={"phone": f"+1{n}", "channel": "voice"}, headers=headers
                ),
                201,
            )
        obtained = (at - timedelta(days=3)).isoformat()
        for n in consented:
            await _ok(
                await client.post(
                    "/v1/consents",
                    json={
                        "phone": f"+1{n}",
                        "basis": "express_written_consent",
                        "obtained_at": obtained,
                    },
                    headers=headers,
                ),
                201,
            )
        items = [
            {
                "phone": f"+1{n}",
                "at": (at - timedelta(hours=h)).isoformat(),
                "disposition": "no_answer",
            }
            for n in florida[:40]
            for h in (1, 2, 3)
        ]
        await _ok(await client.post("/v1/attempts", json={"items": items}, headers=headers), 201)

        invalid = ["555-CALL", "12345", "+44 20 7946 0958", "(212) 555-0123", "", "911"] * 17
        rows: list[tuple[str, str]] = []  # (the file's phone cell, what a check is sent)
        for k, n in enumerate(numbers):
            shown = f"+1{n}" if k % 3 == 0 else (f"({n[:3]}) {n[3:6]}-{n[6:]}" if k % 3 else n)
            rows.append((shown, f"+1{n}"))
        rows += [(v, v or "x") for v in invalid[:100]]
        rng.shuffle(rows)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["first_name", "Phone", "note, with comma"])
        for k, (cell, _) in enumerate(rows):
            writer.writerow([f"lead {k}", cell, f'say "hi" {k}\nline two' if k % 97 == 0 else ""])
        body = out.getvalue().encode()
        packed = gzip.compress(body, mtime=0)

        scrub = await _scrub(
            app,
            client,
            headers,
            packed,
            f"?at={stamp}",
            **{"content-encoding": "gzip"},
        )
        assert scrub["status"] == "succeeded", scrub
        assert scrub["rows_read"] == len(rows) == 5000
        assert scrub["input_sha256"] == hashlib.sha256(packed).hexdigest()  # as sent
        assert scrub["tenant_id"] == tenant
        assert scrub["expires_at"] is not None
        got = await client.get(f"/v1/scrubs/{scrub['id']}/result", headers=headers)
        assert got.status_code == 200
        assert got.headers["content-type"].startswith("text/csv")
        assert hashlib.sha256(got.content).hexdigest() == scrub["result_sha256"]
        result = _rows(got.text)
        assert result[0] == ["first_name", "Phone", "note, with comma", *CALLGUARD]
        assert len(result) == 1 + len(rows)
        source = _rows(out.getvalue())
        assert [r[:3] for r in result[1:]] == source[1:]  # every column, in input order

        # 5,000 single checks at the same instant, by the same tenant, within the key's
        # request budget (1,000 a second): a fast machine would otherwise be told to wait
        answers: list[dict[str, Any]] = []
        began = asyncio.get_running_loop().time()
        for start in range(0, len(rows), 250):
            due = began + start / 1000 - asyncio.get_running_loop().time()
            await asyncio.sleep(max(0.0, due))
            part = rows[start : start + 250]
            replies = await asyncio.gather(
                *(
                    client.post("/v1/checks", json={"to": to, "at": stamp}, headers=headers)
                    for _, to in part
                )
            )
            answers += [r.json() for r in replies]
        counts: dict[str, int] = {}
        for (cell, _), row, answer in zip(rows, result[1:], answers, strict=True):
            code, reason, following, lists, exemption, list_ids = row[3:]
            if answer.get("ok"):
                expected = "ok"
                assert (reason, following, lists) == ("", "", ""), (cell, row)
                assert exemption == (answer.get("exemption") or {}).get("consent_id", ""), cell
            else:
                expected = answer["error"]
                details = answer["details"]
                if expected != "invalid_phone":
                    assert reason == answer["message"], (cell, row, answer)
                if expected == "call_hours_violation":
                    assert following == (details.get("next_allowed_at") or ""), (cell, answer)
                if expected == "dnc_blocked":
                    assert lists == ";".join(m["list_name"] for m in details["matches"])
                    assert list_ids == ";".join(m["list_id"] for m in details["matches"])
                assert exemption == (details.get("exemption") or {}).get("consent_id", "")
            assert code == expected, (cell, row, answer)
            counts[code] = counts.get(code, 0) + 1
        summary = {("ok" if k == "allowed" else k): v for k, v in scrub["summary"].items() if v}
        assert summary == counts
        # the mix the comparison is worth something with
        assert {"ok", "invalid_phone", "opted_out", "dnc_blocked", "call_hours_violation"} <= set(
            counts
        ), counts
        assert any(r[3] == "ok" and r[7] for r in result[1:]), "an exemption"
        assert any(
            r[3] == "call_hours_violation" and "Frequency cap" in r[4] for r in result[1:]
        ), "a frequency cap"

        # only=
        for only, keep in (
            ("allowed", {"ok"}),
            ("blocked", {"opted_out", "dnc_blocked", "call_hours_violation"}),
            ("invalid", {"invalid_phone"}),
        ):
            picked = _rows(
                (
                    await client.get(
                        f"/v1/scrubs/{scrub['id']}/result?only={only}", headers=headers
                    )
                ).text
            )
            assert picked[0] == result[0]
            assert picked[1:] == [r for r in result[1:] if r[3] in keep], only

        # one scrub.finished event with the hashes and the summary
        events = await _ok(
            await client.get("/v1/audit/events?type=scrub.finished", headers=headers)
        )
        mine = [e for e in events["data"] if e["target"] == scrub["id"]]
        assert len(mine) == 1
        assert mine[0]["details"]["result_sha256"] == scrub["result_sha256"]
        assert mine[0]["details"]["summary"] == scrub["summary"]


async def test_one_number_a_line_isolation_and_listing(workers: Workers) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        _, mine = await tenant_with_key(client, admin)
        _, theirs = await tenant_with_key(client, admin)
        scrub = await _scrub(app, client, mine, b"+12125550123\n2125551234x\n4155552671\n", "")
        assert scrub["status"] == "succeeded", scrub
        answer = (await client.get(f"/v1/scrubs/{scrub['id']}/result", headers=mine)).text
        rows = _rows(answer)
        assert rows[0] == ["phone", *CALLGUARD]
        assert [r[0] for r in rows[1:]] == ["+12125550123", "2125551234x", "4155552671"]
        assert [r[1] for r in rows[1:]][:2] == ["invalid_phone", "invalid_phone"]
        # another tenant sees nothing of it
        for path in (f"/v1/scrubs/{scrub['id']}", f"/v1/scrubs/{scrub['id']}/result"):
            assert (await client.get(path, headers=theirs)).status_code == 404
        listed = await _ok(await client.get("/v1/scrubs", headers=theirs))
        assert all(s["id"] != scrub["id"] for s in listed["data"])
        listed = await _ok(await client.get("/v1/scrubs?limit=1", headers=mine))
        assert [s["id"] for s in listed["data"]] == [scrub["id"]]
        # past its retention the result is deleted; the scrub and its hashes stay
        async with database.engine.begin() as conn:
            await conn.execute(
                text("UPDATE scrubs SET expires_at = now() - interval '1 day' WHERE id = :id"),
                {"id": scrub["id"]},
            )
        assert await app.state.scrubs.purge_expired() >= 1
        gone = await client.get(f"/v1/scrubs/{scrub['id']}/result", headers=mine)
        assert gone.status_code == 410
        assert gone.json()["error"] == "scrub_result_gone"
        kept = await _ok(await client.get(f"/v1/scrubs/{scrub['id']}", headers=mine))
        assert kept["result_sha256"] == scrub["result_sha256"]
        # a file with no phone column fails, and has no result
        bad = await _scrub(app, client, mine, b"name,city\nann,nyc\n", "")
        assert bad["status"] == "failed"
        assert bad["failure"]["error"] == "unreadable_file"
        assert (await client.get(f"/v1/scrubs/{bad['id']}/result", headers=mine)).status_code == 409
        # ?column= names it
        named = await _scrub(app, client, mine, b"name,cell\nann,4155552671\n", "?column=cell")
        assert named["status"] == "succeeded"
        assert named["rows_read"] == 1
        # a key without checks:write may not scrub
        _, reader = await tenant_with_key(client, admin, scopes=["dnc:read"])
        refused = await client.post("/v1/scrubs", content=b"4155552671\n", headers=reader)
        assert refused.status_code == 403


async def test_a_stale_registry_fails_the_scrub_unless_the_policy_allows(workers: Workers) -> None:
    app, _, admin, database = workers
    async with client_of(app) as client:
        _, headers = await tenant_with_key(client, admin)
        made = await _list(
            app, client, headers, {"name": "federal copy", "kind": "registry"}, ["4155552671"]
        )
        async with database.engine.begin() as conn:
            await age_list(conn, made["id"], timedelta(days=40))
        body = b"phone\n4155552671\n2125550123\n"
        refused = await _scrub(app, client, headers, body, "")
        assert refused["status"] == "failed", refused
        assert refused["failure"]["error"] == "registry_stale"
        assert "federal copy" in refused["failure"]["message"]
        gone = await client.get(f"/v1/scrubs/{refused['id']}/result", headers=headers)
        assert gone.status_code == 409

        policy = {
            "windows": {d: ["08:00", "21:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")}
            | {"sun": None},
            "on_stale_registry": "allow",
        }
        await _ok(await client.put("/v1/calling-policy", json=policy, headers=headers))
        allowed = await _scrub(app, client, headers, body, "")
        assert allowed["status"] == "succeeded", allowed
        assert allowed["summary"]["dnc_blocked"] == 1


async def test_a_gzip_that_inflates_past_the_limit_fails_the_scrub(workers: Workers) -> None:
    app, _, admin, _ = workers
    runner = app.state.scrubs
    limit, runner.max_bytes = runner.max_bytes, 100_000
    try:
        async with client_of(app) as client:
            _, headers = await tenant_with_key(client, admin)
            bomb = gzip.compress(b"phone\n" + b"4155552671\n" * 50_000)  # 550 kB from 1 kB
            assert len(bomb) < 10_000
            scrub = await _scrub(app, client, headers, bomb, "", **{"content-encoding": "gzip"})
            assert scrub["status"] == "failed", scrub
            assert scrub["failure"]["error"] == "payload_too_large"
            assert "100000 bytes" in scrub["failure"]["message"]
    finally:
        runner.max_bytes = limit
