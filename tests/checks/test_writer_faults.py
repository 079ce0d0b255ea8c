"""The check writer under bad input and faults: hostile text, a request the database refuses,
a lookup that comes back short, callers that gave up; and the scoping of checks and events."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from app.checks import jobs as jobs_module
from app.checks import repository, service
from app.checks.jobs import Job
from app.checks.pipeline import CheckWriter
from tests.envelope import assert_envelope
from tests.helpers import create_key, tenant_with_key

PHONE = "+14155552671"
MONDAY_1030_PT = "2026-11-23T18:30:00Z"


async def _items(jobs: list[Job]) -> list[Any]:
    """A batch's items as `_write` sees them (a big request's are made here, as `_write`
    would make them while its lookup runs)."""
    await jobs_module.prepare(jobs)
    return [item for job in jobs for item in job.items]


def _raw(body: object) -> bytes:
    return json.dumps(body).encode()  # ASCII escapes: lone surrogates survive the wire


async def _context(app: FastAPI, tenant_id: str) -> service.Context:
    """What a route hands the writer for this tenant (the tests below call the service
    directly: their concurrent checks cannot each run a request on the test's one connection)."""
    return service.Context(
        snapshot=await app.state.reference.current(app.state.db.sessionmaker),
        laws=app.state.laws,
        holidays=app.state.holidays,
        tenant_id=tenant_id,
        api_key_id=None,
        request_id="req_test",
    )


UNPRINTABLE = ["\x00", "+1415555\x002671", "\x1b[31m", "\u202e1", "+1415555267\t1"]


@pytest.mark.parametrize("text", ["\ud800", "+1\udfff4155552671"])
async def test_a_lone_surrogate_is_a_validation_error_on_every_path(
    client: httpx.AsyncClient, admin: dict[str, str], text: str
) -> None:
    _, headers = await tenant_with_key(client, admin)
    json_type = {"Content-Type": "application/json"}
    for path, body, extra in (
        ("/v1/checks", {"to": text}, {}),
        ("/v1/checks", {"to": text}, {"Idempotency-Key": "surrogate"}),
        ("/v1/checks", {"to": PHONE, "recipient_state": text[:2]}, {}),
        ("/v1/checks/batch", {"items": [{"to": PHONE}, {"to": text}]}, {}),
    ):
        answer = await client.post(
            path, content=_raw(body), headers={**headers, **extra, **json_type}
        )
        assert_envelope(answer, 400, "validation_failed")
    assert (await client.get("/v1/audit/checks", headers=headers)).json()["data"] == []


@pytest.mark.parametrize("to", UNPRINTABLE)
async def test_unprintable_text_in_to_is_an_invalid_phone_kept_escaped(
    client: httpx.AsyncClient, admin: dict[str, str], to: str
) -> None:
    _, headers = await tenant_with_key(client, admin)
    for extra in ({}, {"Idempotency-Key": f"k-{len(to)}-{ord(to[-1])}"}):  # fast path, route
        answer = await client.post(
            "/v1/checks",
            content=_raw({"to": to}),
            headers={**headers, **extra, "Content-Type": "application/json"},
        )
        body = assert_envelope(answer, 400, "invalid_phone")
        assert "\\u" in body["details"]["value"]
    batch = await client.post(
        "/v1/checks/batch",
        content=_raw({"items": [{"to": to}, {"to": PHONE}]}),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert batch.status_code == 200, batch.text
    first, second = batch.json()["results"]
    assert first["error"] == "invalid_phone"
    assert "\\u" in first["to"]
    assert second["to"] == PHONE
    records = (await client.get("/v1/audit/checks", headers=headers)).json()["data"]
    assert len(records) == 4
    assert all(r["phone"].isprintable() for r in records)
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert verdict["ok"] is True
    assert verdict["records"] == 4


async def test_a_request_the_database_refuses_fails_alone_not_its_batch(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Checks of concurrent requests share a batch; if the database refuses one request's data,
    the others are decided and recorded all the same, and only that one answers 503."""
    tenant_id, headers = await tenant_with_key(client, admin)
    write = CheckWriter._write

    async def refusing(self: CheckWriter, raw: Any, lane: Any, jobs: Any, *rest: Any) -> Any:
        if any(item.recipient_state == "WY" for item in await _items(jobs)):
            raise asyncpg.exceptions.DataError("refused for this test")
        return await write(self, raw, lane, jobs, *rest)

    monkeypatch.setattr(CheckWriter, "_write", refusing)
    ctx = await _context(app, tenant_id)
    states = ["CA"] * 8 + ["WY"] + ["CA"] * 3
    # the requests' own database work (authentication) cannot run concurrently on the test's
    # one connection, so the checks go straight to the writer, as the routes hand them over
    outcomes = await asyncio.gather(
        *(
            service.check_one(
                app.state.checks,
                ctx,
                to=PHONE,
                at=datetime.fromisoformat(MONDAY_1030_PT),
                recipient_state=state,
                channel="voice",
            )
            for state in states
        ),
        return_exceptions=True,
    )
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["Decided"] * 8 + ["CheckUnavailable"] + ["Decided"] * 3, kinds
    records = (await client.get("/v1/audit/checks", headers=headers)).json()["data"]
    assert len(records) == 11
    verdict = (await client.get("/v1/audit/verify", headers=headers)).json()
    assert verdict["ok"] is True, verdict


async def test_a_batch_tried_again_answers_what_was_recorded(
    app: FastAPI,
    client: httpx.AsyncClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch builds its answer from its decisions while their records are written. If the
    database then refuses another request of the same batch, the batch is tried again, and a
    number listed in between is decided anew: the answer is the decision recorded, not the
    one the answer was first built from."""
    tenant_id, headers = await tenant_with_key(client, admin)
    created = await client.post("/v1/dnc/lists", json={"name": "late"}, headers=headers)
    list_id = created.json()["id"]
    write = CheckWriter._write
    attempts: list[list[str]] = []

    async def refusing(
        self: CheckWriter, raw: Any, lane: Any, jobs: Any, on_decided: Any, stages: Any
    ) -> Any:
        items = await _items(jobs)
        attempts.append([item.recipient_state for item in items])
        if any(item.recipient_state == "WY" for item in items):

            def then_refuse(decided: Any) -> None:
                on_decided(decided)  # the answers are being built from these
                raise asyncpg.exceptions.DataError("refused for this test")

            return await write(self, raw, lane, jobs, then_refuse, stages)
        await raw.execute(  # listed between the two attempts
            "INSERT INTO dnc_entries (number, list_key)"
            " SELECT $1, entry_key FROM dnc_lists WHERE id = $2",
            int(PHONE[2:]),
            list_id,
        )
        return await write(self, raw, lane, jobs, on_decided, stages)

    monkeypatch.setattr(CheckWriter, "_write", refusing)
    ctx = await _context(app, tenant_id)
    at = datetime.fromisoformat(MONDAY_1030_PT)
    good, refused = await asyncio.gather(
        service.check_batch(app.state.checks, ctx, items=[(PHONE, "CA")], at=at, channel="voice"),
        service.check_batch(app.state.checks, ctx, items=[(PHONE, "WY")], at=at, channel="voice"),
        return_exceptions=True,
    )
    assert attempts == [["CA", "WY"], ["CA"], ["WY"]], attempts
    assert isinstance(refused, jobs_module.CheckUnavailable), refused
    assert isinstance(good, service.BatchAnswer), good
    [item] = json.loads(good.body)["results"]
    assert (item["ok"], item["error"]) == (False, "dnc_blocked"), item
    assert good.summary["dnc_blocked"] == 1
    records = (await client.get("/v1/audit/checks", headers=headers)).json()["data"]
    assert [(r["check_id"], r["error"]) for r in records] == [(item["check_id"], "dnc_blocked")]


async def test_a_lookup_that_fails_is_503_never_ok(
    client: httpx.AsyncClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lookup answers only the numbers it finds, so a failed lookup must never read as
    "found nothing": whatever the error, the check is a 503 and nothing is recorded."""
    _, headers = await tenant_with_key(client, admin)
    monkeypatch.setattr(repository, "LOOKUP", repository.LOOKUP + " WHERE no_such_column")
    answer = await client.post("/v1/checks", json={"to": PHONE}, headers=headers)
    assert_envelope(answer, 503, "service_unavailable")
    batch = await client.post(
        "/v1/checks/batch", json={"items": [{"to": PHONE}, {"to": "+12025550123"}]}, headers=headers
    )
    assert_envelope(batch, 503, "service_unavailable")
    records = (await client.get("/v1/audit/checks", headers=headers)).json()["data"]
    assert records == []


async def test_a_job_whose_caller_gave_up_is_not_taken() -> None:
    writer = CheckWriter(lambda: None, slots=1, timeout_s=1.0)  # type: ignore[arg-type,return-value]
    loop = asyncio.get_running_loop()
    jobs = [Job(items=[], future=loop.create_future()) for _ in range(3)]
    jobs[0].future.cancel()
    jobs[2].future.cancel()
    writer._queue.extend(jobs)
    assert writer._take() == [jobs[1]]
    assert not writer._queue


async def test_a_cancelled_callers_job_is_not_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller cancelled while it waits for its decisions leaves no job to run."""
    writer = CheckWriter(lambda: None, slots=1, timeout_s=5.0)  # type: ignore[arg-type,return-value]
    monkeypatch.setattr(writer, "start", lambda: None)  # no slots: the job stays queued

    async def meanwhile(decided: Any) -> None:
        raise AssertionError("never decided")

    task = asyncio.create_task(writer.decide([], meanwhile=meanwhile))
    await asyncio.sleep(0)
    assert len(writer._queue) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert writer._take() == []


async def test_a_batch_with_bad_states_names_every_bad_item(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    items = [
        {"to": PHONE, "recipient_state": "ZZ"},
        {"to": PHONE, "recipient_state": "CA"},
        {"to": PHONE, "recipient_state": "QQ"},
    ]
    answer = await client.post("/v1/checks/batch", json={"items": items}, headers=headers)
    body = assert_envelope(answer, 400, "validation_failed")
    assert [f["field"] for f in body["details"]["fields"]] == [
        "items[0].recipient_state",
        "items[2].recipient_state",
    ]


async def test_checking_for_a_tenant_that_does_not_exist_is_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for path, body in (
        ("/v1/checks", {"to": PHONE}),
        ("/v1/checks/batch", {"items": [{"to": PHONE}]}),
    ):
        answer = await client.post(f"{path}?tenant_id=ten_nosuch", json=body, headers=admin)
        assert_envelope(answer, 404, "not_found")
    newest = (await client.get("/v1/audit/checks", headers=admin)).json()["data"]
    assert not any(record["tenant_id"] == "ten_nosuch" for record in newest)


async def test_a_tenant_sees_the_platforms_list_changes_but_not_its_keys(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    platform_key, _ = await create_key(client, admin, scopes=["admin"])  # tenant NULL
    listed = await client.post(
        "/v1/dnc/lists", json={"name": "national", "scope": "global"}, headers=admin
    )
    assert listed.status_code == 201, listed.text
    seen = (await client.get("/v1/audit/events", headers=headers)).json()["data"]
    assert "dnc_list.created" in {event["type"] for event in seen}
    assert platform_key not in {event["target"] for event in seen}
    everything = (await client.get("/v1/audit/events", headers=admin)).json()["data"]
    assert platform_key in {event["target"] for event in everything}


async def test_audit_routes_for_a_tenant_that_does_not_exist_are_404(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    for path in (
        "/v1/audit/checks",
        "/v1/audit/checks/chk_nosuch",
        "/v1/audit/events",
        "/v1/audit/verify",
    ):
        answer = await client.get(f"{path}?tenant_id=ten_nosuch", headers=admin)
        assert_envelope(answer, 404, "not_found")
    csv = await client.get(
        "/v1/audit/checks?tenant_id=ten_nosuch", headers={**admin, "Accept": "text/csv"}
    )
    assert_envelope(csv, 404, "not_found")


@pytest.mark.parametrize("misread", [None, 2125550100])
async def test_a_batch_item_whose_number_was_not_looked_up_is_never_decided(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    misread: int | None,
) -> None:
    """A batch's numbers are looked up while its items are parsed; should the parse ever read
    a number other than the one looked up (or one the lookup skipped), the batch answers 503
    and records nothing, instead of deciding a number whose lists were not read."""
    _, headers = await tenant_with_key(client, admin)
    monkeypatch.setattr(service, "_candidate", lambda to: misread)
    body = {"items": [{"to": PHONE}, {"to": "+14155552672"}], "at": MONDAY_1030_PT}
    answer = await client.post("/v1/checks/batch", json=body, headers=headers)
    assert_envelope(answer, 503, "service_unavailable")
    assert (await client.get("/v1/audit/checks", headers=headers)).json()["data"] == []
    monkeypatch.undo()
    answer = await client.post("/v1/checks/batch", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"]["allowed"] == 2


async def test_tenants_sharing_a_batch_see_only_their_own_lists_and_opt_outs(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Checks of several tenants share one lookup (the batch's numbers and tenants as arrays);
    each check gets only the global lists and its own tenant's lists and opt-outs."""
    listing, listing_headers = await tenant_with_key(client, admin)
    opting, opting_headers = await tenant_with_key(client, admin)
    plain, _ = await tenant_with_key(client, admin)
    created = await client.post("/v1/dnc/lists", json={"name": "own"}, headers=listing_headers)
    number = await client.put(
        f"/v1/dnc/lists/{created.json()['id']}/numbers/{PHONE}", json={}, headers=listing_headers
    )
    assert number.status_code == 201, number.text
    optout = await client.post("/v1/opt-outs", json={"phone": PHONE}, headers=opting_headers)
    assert optout.status_code == 201, optout.text
    at = datetime.fromisoformat(MONDAY_1030_PT)
    contexts = [await _context(app, tenant) for tenant in (listing, opting, plain)]
    outcomes = await asyncio.gather(
        *(
            service.check_one(
                app.state.checks, ctx, to=PHONE, at=at, recipient_state=None, channel="voice"
            )
            for ctx in contexts
        )
    )
    assert [o.record["error"] for o in outcomes] == ["dnc_blocked", "opted_out", None]
    assert outcomes[0].body["details"]["violations"] == ["dnc_blocked"]
    assert outcomes[1].body["details"]["violations"] == ["opted_out"]
