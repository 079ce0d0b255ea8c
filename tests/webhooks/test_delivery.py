"""Deliveries for real: a callguard app with its delivery worker, committing, and a receiver on
127.0.0.1 (tests/webhooks/conftest.py: the allow flags on, retries and timeouts short)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from typing import Any

from app.core.config import Settings
from tests.webhooks.conftest import Live, eventually, running
from tests.webhooks.receiver import Hang, Receiver, Redirect, verify

PHONE = "+14155552671"
OTHER = "+12125552671"


async def _delivered(
    live: Live, headers: dict[str, str], hook_id: str, count: int, timeout_s: float = 10.0
) -> list[dict[str, Any]]:
    async def done() -> bool:
        deliveries = await live.deliveries(headers, hook_id)
        return len(deliveries) >= count and all(d["status"] != "pending" for d in deliveries)

    await eventually(done, timeout_s, f"{count} deliveries of {hook_id} ended")
    return await live.deliveries(headers, hook_id)


async def test_a_signed_delivery_for_every_kind_of_change(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    events = [
        "optout.recorded",
        "optin.recorded",
        "dnc.number_added",
        "dnc.number_removed",
        "upload.finished",
        "consent.revoked",
        "key.revoked",
    ]
    async with running(database_url, settings) as live:
        tenant, headers = await live.tenant()
        hook = await live.hook(headers, receiver.script("/all", 204), events)
        client = live.client
        assert (
            await client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)
        ).is_success
        assert (await client.delete(f"/v1/opt-outs/{PHONE}", headers=headers)).is_success
        made = await client.post("/v1/dnc/lists", json={"name": "hooked"}, headers=headers)
        list_id = made.json()["id"]
        put = await client.put(
            f"/v1/dnc/lists/{list_id}/numbers/{OTHER}", json={"reason": "asked"}, headers=headers
        )
        assert put.status_code == 201, put.text
        gone = await client.delete(f"/v1/dnc/lists/{list_id}/numbers/{OTHER}", headers=headers)
        assert gone.status_code == 204, gone.text
        # an upload of a thousand numbers: one event, one delivery, with its counts
        numbers = "".join(f"415555{n:04d}\n" for n in range(1000)).encode()
        upload = await client.post(
            "/v1/opt-outs/uploads", content=numbers, headers={**headers, "content-type": "text/csv"}
        )
        assert upload.status_code == 202, upload.text
        await live.apps[0].state.uploads.wait()
        consent = await client.post(
            "/v1/consents",
            json={"phone": PHONE, "basis": "ebr_inquiry", "obtained_at": "2026-11-02T16:40:00Z"},
            headers=headers,
        )
        assert consent.status_code == 201, consent.text
        revoked = await client.delete(f"/v1/consents/{consent.json()['id']}", headers=headers)
        assert revoked.status_code == 200, revoked.text
        key = await client.post(
            "/v1/api-keys", json={"name": "short-lived", "scopes": ["dnc:read"]}, headers=headers
        )
        assert (await client.delete(f"/v1/api-keys/{key.json()['id']}", headers=headers)).is_success

        deliveries = await _delivered(live, headers, hook["id"], 7)
        assert [(d["status"], d["attempts"], d["last_status_code"]) for d in deliveries] == [
            ("succeeded", 1, 204)
        ] * 7
        got = receiver.at("/all")
        assert len(got) == 7
        payloads = {}
        for request in got:
            payload = verify(hook["secret"], request.headers, request.body)
            assert request.headers["content-type"] == "application/json"
            assert request.headers["webhook-id"].startswith("evt_")
            assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
            assert payload["data"]["tenant_id"] == tenant
            assert payload["timestamp"].endswith("Z")
            payloads[payload["type"]] = payload["data"]
        assert sorted(payloads) == sorted(events)
        assert {d["event_id"] for d in deliveries} == {r.headers["webhook-id"] for r in got}
        assert payloads["optout.recorded"] == {
            "phone": PHONE,
            "channel": "all",
            "source": "api",
            "tenant_id": tenant,
        }
        assert payloads["optin.recorded"]["phone"] == PHONE
        assert payloads["dnc.number_added"] == {
            "phone": OTHER,
            "list_id": list_id,
            "reason": "asked",
            "tenant_id": tenant,
        }
        assert payloads["dnc.number_removed"] == {
            "phone": OTHER,
            "list_id": list_id,
            "tenant_id": tenant,
        }
        finished = payloads["upload.finished"]
        assert (finished["upload_id"], finished["kind"], finished["status"]) == (
            upload.json()["id"],
            "optout",
            "succeeded",
        )
        assert finished["rows_read"] == 1000
        assert finished["rows_added"] == finished["rows_accepted"] > 800
        assert payloads["consent.revoked"]["consent_id"] == consent.json()["id"]
        assert payloads["consent.revoked"]["phone"] == PHONE
        assert payloads["key.revoked"]["key_id"] == key.json()["id"]

        # a test event, on request, to this hook alone
        sent = await client.post(f"/v1/webhooks/{hook['id']}/test", headers=headers)
        assert sent.status_code == 202, sent.text
        await _delivered(live, headers, hook["id"], 8)
        test = verify(hook["secret"], receiver.at("/all")[-1].headers, receiver.at("/all")[-1].body)
        assert (test["type"], test["data"]["webhook_id"]) == ("webhook.test", hook["id"])


async def test_a_500_then_success_is_retried_with_the_same_id(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    async with running(database_url, settings) as live:
        _, headers = await live.tenant()
        hook = await live.hook(
            headers, receiver.script("/flaky", 500, 500, 200), ["optout.recorded"]
        )
        await live.client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)
        [delivery] = await _delivered(live, headers, hook["id"], 1)
        assert (delivery["status"], delivery["attempts"], delivery["last_status_code"]) == (
            "succeeded",
            3,
            200,
        )
        got = receiver.at("/flaky")
        assert len(got) == 3
        assert len({r.headers["webhook-id"] for r in got}) == 1  # stable across retries
        assert len({r.body for r in got}) == 1  # the same bytes every time
        for request in got:
            verify(hook["secret"], request.headers, request.body)
        gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
        assert all(gap >= 0.04 for gap in gaps), gaps  # backed off (min 0.05 s, jittered)
        listed = await live.client.get(f"/v1/webhooks/{hook['id']}", headers=headers)
        assert listed.json()["failing_since"] is None
        assert listed.json()["last_success_at"] is not None


async def test_a_receiver_hanging_past_the_timeout_is_retried(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    async with running(database_url, settings, webhook_timeout_s=0.5) as live:
        _, headers = await live.tenant()
        hook = await live.hook(headers, receiver.script("/slow", Hang(3), 200), ["optout.recorded"])
        await live.client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)

        async def timed_out() -> bool:
            deliveries = await live.deliveries(headers, hook["id"])
            return bool(deliveries) and (deliveries[0]["last_error"] or "").startswith("timed out")

        started = time.monotonic()
        await eventually(timed_out, 5, "the first attempt timed out")
        assert time.monotonic() - started < 2.5  # given up at the timeout, not after the hang
        [delivery] = await _delivered(live, headers, hook["id"], 1)
        assert (delivery["status"], delivery["attempts"]) == ("succeeded", 2)


async def test_a_redirect_is_not_followed(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    async with running(database_url, settings) as live:
        _, headers = await live.tenant()
        elsewhere = receiver.script("/elsewhere", 200)
        hook = await live.hook(
            headers, receiver.script("/moved", Redirect(302, elsewhere)), ["optout.recorded"]
        )
        await live.client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)

        async def retried() -> bool:
            deliveries = await live.deliveries(headers, hook["id"])
            return bool(deliveries) and deliveries[0]["attempts"] >= 3

        await eventually(retried, 10, "the redirected delivery retried")
        [delivery] = await live.deliveries(headers, hook["id"])
        assert (delivery["status"], delivery["last_status_code"]) == ("pending", 302)
        assert "redirects are not followed" in delivery["last_error"]
        assert receiver.at("/elsewhere") == []
        await live.client.delete(f"/v1/webhooks/{hook['id']}", headers=headers)


async def test_another_tenants_events_are_never_delivered(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    async with running(database_url, settings) as live:
        tenant_a, headers_a = await live.tenant()
        tenant_b, headers_b = await live.tenant()
        events = ["optout.recorded", "dnc.number_added"]
        hook_a = await live.hook(headers_a, receiver.script("/a", 200), events)
        hook_b = await live.hook(headers_b, receiver.script("/b", 200), events)
        platform = await live.hook(live.admin, receiver.script("/platform", 200), events)
        await live.client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers_a)
        await live.client.post("/v1/opt-outs", json={"phone": OTHER}, headers=headers_b)
        await live.client.post("/v1/opt-outs", json={"phone": OTHER}, headers=headers_b)
        made = await live.client.post(
            "/v1/dnc/lists",
            json={"name": f"global {tenant_a}", "scope": "global"},
            headers=live.admin,
        )
        await live.client.put(
            f"/v1/dnc/lists/{made.json()['id']}/numbers/{PHONE}", headers=live.admin
        )
        await _delivered(live, headers_a, hook_a["id"], 1)
        await _delivered(live, headers_b, hook_b["id"], 2)
        await _delivered(live, live.admin, platform["id"], 1)
        await asyncio.sleep(0.3)  # anything else would have been sent by now
        tenants = {
            path: [verify(h, r.headers, r.body)["data"]["tenant_id"] for r in receiver.at(path)]
            for path, h in (
                ("/a", hook_a["secret"]),
                ("/b", hook_b["secret"]),
                ("/platform", platform["secret"]),
            )
        }
        assert tenants == {"/a": [tenant_a], "/b": [tenant_b, tenant_b], "/platform": [None]}
        [global_add] = receiver.at("/platform")
        assert global_add.json()["type"] == "dnc.number_added"


async def test_a_hook_deleted_mid_retry_stops(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    async with running(database_url, settings) as live:
        _, headers = await live.tenant()
        hook = await live.hook(headers, receiver.script("/down", 503), ["optout.recorded"])
        await live.client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)
        await eventually(lambda: _at_least(receiver, "/down", 2), 10, "two attempts")
        deleted = await live.client.delete(f"/v1/webhooks/{hook['id']}", headers=headers)
        assert deleted.status_code == 204
        await asyncio.sleep(0.3)  # an attempt in flight at the deletion ends
        seen = len(receiver.at("/down"))
        await asyncio.sleep(1.0)  # five times the longest backoff
        assert len(receiver.at("/down")) == seen
        status, error = (
            await live.scalar(
                "SELECT status FROM webhook_deliveries WHERE webhook_id = :id", id=hook["id"]
            ),
            await live.scalar(
                "SELECT last_error FROM webhook_deliveries WHERE webhook_id = :id", id=hook["id"]
            ),
        )
        assert status == "failed"
        assert error.startswith("webhook deleted"), error


async def _at_least(receiver: Receiver, path: str, count: int) -> bool:
    return len(receiver.at(path)) >= count


async def test_retries_run_out_and_a_hook_failing_throughout_is_disabled(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    """Retried for `webhook_retry_for_s` (24 h; here 1 s), then `failed`; the hook had no
    success meanwhile, so it is disabled and a `webhook.disabled` event tells its tenant's other
    hooks."""
    async with running(database_url, settings, webhook_retry_for_s=1.0) as live:
        tenant, headers = await live.tenant()
        hook = await live.hook(headers, receiver.script("/broken", 500), ["optout.recorded"])
        watcher = await live.hook(headers, receiver.script("/watch", 200), ["webhook.disabled"])
        await live.client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)
        [delivery] = await _delivered(live, headers, hook["id"], 1, timeout_s=10)
        assert delivery["status"] == "failed"
        assert delivery["attempts"] >= 3
        assert delivery["finished_at"] is not None
        assert delivery["next_attempt_at"] is None
        disabled = (await live.client.get(f"/v1/webhooks/{hook['id']}", headers=headers)).json()
        assert disabled["disabled_at"] is not None
        assert disabled["failing_since"] is not None
        [told] = await _delivered(live, headers, watcher["id"], 1)
        assert told["event_type"] == "webhook.disabled"
        said = verify(
            watcher["secret"], receiver.at("/watch")[0].headers, receiver.at("/watch")[0].body
        )
        assert said["data"]["webhook_id"] == hook["id"]
        assert said["data"]["tenant_id"] == tenant
        # nothing more goes to a disabled hook
        seen = len(receiver.at("/broken"))
        await live.client.post("/v1/opt-outs", json={"phone": OTHER}, headers=headers)
        await asyncio.sleep(0.5)
        assert len(receiver.at("/broken")) == seen
        assert len(await live.deliveries(headers, hook["id"])) == 1


async def test_a_hook_failing_for_the_streak_is_disabled_with_deliveries_pending(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    async with running(database_url, settings, webhook_disable_after_s=0.5) as live:
        _, headers = await live.tenant()
        hook = await live.hook(headers, receiver.script("/streak", 500), ["optout.recorded"])
        await live.client.post("/v1/opt-outs", json={"phone": PHONE}, headers=headers)
        await live.client.post("/v1/opt-outs", json={"phone": OTHER}, headers=headers)
        deliveries = await _delivered(live, headers, hook["id"], 2, timeout_s=10)
        assert {d["status"] for d in deliveries} == {"failed"}
        assert all(d["last_error"].startswith("webhook disabled") for d in deliveries)


async def test_two_processes_share_the_work_and_send_each_once(
    database_url: str, settings: Settings, receiver: Receiver
) -> None:
    async with running(database_url, settings, apps=2, webhook_sends=4) as live:
        _, headers = await live.tenant()
        hook = await live.hook(headers, receiver.script("/shared", 200), ["optout.recorded"])
        for n in range(60):
            await live.clients[n % 2].post(
                "/v1/opt-outs", json={"phone": f"+1415555{n:04d}"}, headers=headers
            )
        await eventually(lambda: _at_least(receiver, "/shared", 60), 20, "60 deliveries")
        await asyncio.sleep(0.3)
        ids = Counter(r.headers["webhook-id"] for r in receiver.at("/shared"))
        assert len(ids) == 60
        assert set(ids.values()) == {1}
        deliveries = await _delivered(live, headers, hook["id"], 60)
        assert {(d["status"], d["attempts"]) for d in deliveries} == {("succeeded", 1)}
