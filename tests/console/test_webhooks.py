"""Webhooks: add one (its signing secret shown once), send a test that a real receiver gets and
can verify, see each delivery's state, answers and retries, a failing hook turned off (and a test
to it refused), delete one after a confirmation; an http:// address refused next to its field by
a server that delivers to https:// only; the page and the scope offered by the key's scopes."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import expect

from app.core.db import async_url, drop_database, ensure_database, plain_url
from tests.console.harness import (
    TENANT_SCOPES,
    Server,
    Tenant,
    Watched,
    seed_tenant,
    serve,
    unique,
)
from tests.webhooks.receiver import Receiver, verify

# The tests on the session's server come first: it is started with asyncio.run(), which cannot run
# once this module's Chromium is up.
# a server that delivers to a receiver on 127.0.0.1 over http, retries within a second and turns a
# hook off after it has failed for a few seconds straight (24 hours in production)
DELIVERS_LOCALLY = {
    "CALLGUARD_WEBHOOK_ALLOW_HTTP": "true",
    "CALLGUARD_WEBHOOK_ALLOW_PRIVATE": "true",
    "CALLGUARD_WEBHOOK_RETRY_MIN_S": "0.3",
    "CALLGUARD_WEBHOOK_RETRY_MAX_S": "0.5",
    "CALLGUARD_WEBHOOK_TIMEOUT_S": "2",
    "CALLGUARD_WEBHOOK_POLL_S": "0.1",
    "CALLGUARD_WEBHOOK_DISABLE_AFTER_S": "6",
}
NAV = "Pages"


def _run(work: Coroutine[Any, Any, None]) -> None:
    """`work` in a thread of its own: while sync Playwright runs, this thread has an event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="module")
def local_server(chromium: str, server_url: str) -> Iterator[Server]:
    """`callguard serve` with the local-delivery settings, on a scratch database of its own."""
    name = f"callguard_console_hooks_{os.getpid()}_{secrets.token_hex(3)}"
    _run(ensure_database(server_url, name))
    try:
        url = plain_url(async_url(server_url).set(database=name))
        with serve(url, DELIVERS_LOCALLY) as server:
            yield server
    finally:
        _run(drop_database(server_url, name))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver().running() as running:
        yield running


def open_webhooks(watched: Watched, server: Server, key: str) -> None:
    watched.sign_in(server.base, key)
    page = watched.page
    page.get_by_role("navigation", name=NAV).get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()


def test_an_http_address_is_refused_next_to_its_field_and_a_webhook_is_deleted(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    open_webhooks(watched, console_server, officer.key)
    field = page.get_by_label("Address to send messages to (URL)")
    field.fill("http://dialer.example.com/hooks")
    page.get_by_label("A DNC, opt-out or consent upload finished").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(field).to_have_accessible_description(
        "This address cannot be used: must be an https:// URL."
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("region", name="The new webhook's secret")).to_have_count(0)

    # an https address that does not resolve: added, and its deliveries fail and are retried
    url = f"https://{secrets.token_hex(4)}.invalid/hooks"
    field.fill(url)
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_role("region", name="The new webhook's secret")).to_be_visible()
    expect(field).not_to_have_attribute("aria-invalid", "true")
    row = page.get_by_role("row").filter(has_text=url)
    expect(row).to_contain_text("A DNC, opt-out or consent upload finished")
    row.get_by_role("button", name=f"Send a test to {url}").click()
    deliveries = page.get_by_role("region", name=f"Deliveries to {url}")
    attempt = deliveries.get_by_role("row").filter(has_text="Test message (sent from this page)")
    expect(attempt).to_contain_text("does not resolve", timeout=15_000)
    expect(attempt).to_contain_text("Waiting; retries at")
    expect(row).to_contain_text("Failing since")
    hook_id = page.url.rsplit("/", 1)[-1]

    row.get_by_role("button", name=f"Delete the webhook to {url}").click()
    confirm = row.get_by_role("group", name=f"Confirm deleting the webhook to {url}")
    expect(confirm).to_contain_text("This cannot be undone.")
    confirm.get_by_role("button", name="Keep it").click()
    expect(confirm).to_have_count(0)
    row.get_by_role("button", name=f"Delete the webhook to {url}").click()
    row.get_by_role("button", name="Yes, delete it").click()
    expect(page.get_by_role("row").filter(has_text=url)).to_have_count(0)
    expect(deliveries).to_have_count(0)
    with console_server.client(officer.headers) as client:
        assert client.get(f"/v1/webhooks/{hook_id}").status_code == 404


def test_webhooks_are_offered_only_to_keys_that_may_manage_them(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    without = [s for s in TENANT_SCOPES if s != "webhooks:write"]
    other = seed_tenant(console_server, unique("No Hooks Co"), "Lists only", without)
    page = watched.page
    watched.sign_in(console_server.base, other.key)
    nav = page.get_by_role("navigation", name=NAV)
    expect(nav.get_by_role("link", name="Keys")).to_be_visible()
    expect(nav.get_by_role("link", name="Webhooks")).to_have_count(0)
    # nor can such a key give the scope to a new key
    nav.get_by_role("link", name="Keys").click()
    expect(page.get_by_label("Read consents")).to_be_visible()
    expect(page.get_by_label("Record and revoke consents")).to_be_visible()
    expect(page.get_by_label("Manage webhooks")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    watched.sign_in(console_server.base, officer.key)
    nav.get_by_role("link", name="Keys").click()
    page.get_by_label("Name (who or what will use it)").fill(unique("CRM bridge"))
    page.get_by_label("Manage webhooks (messages to your own systems)").check()
    page.get_by_role("button", name="Create key").click()
    secret = (
        page.get_by_role("region", name="The new key").get_by_label("The new key").input_value()
    )
    page.get_by_role("button", name="Sign out").click()
    watched.sign_in(console_server.base, secret)
    nav.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks", level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Add a webhook")).to_be_visible()


def test_add_a_webhook_see_its_secret_once_and_send_a_test_it_receives(
    local_server: Server, receiver: Receiver, watched: Watched
) -> None:
    officer = seed_tenant(local_server, unique("Hooked Co"), "Compliance officer")
    url = receiver.script("/callguard", 200)
    page = watched.page
    open_webhooks(watched, local_server, officer.key)
    expect(page.get_by_text("No webhook yet")).to_be_visible()

    page.get_by_label("Address to send messages to (URL)").fill(url)
    page.get_by_label("Description (optional)").fill("Dialer fleet, east")
    page.get_by_label("Someone opted out").check()
    page.get_by_role("button", name="Add webhook").click()

    shown = page.get_by_role("region", name="The new webhook's secret")
    expect(shown).to_contain_text("you will not see it again")
    secret = shown.get_by_label("Signing secret").input_value()
    assert secret.startswith("whsec_")
    expect(shown.get_by_role("button", name="Copy the secret")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=url)
    expect(row).to_contain_text("Dialer fleet, east")
    expect(row).to_contain_text("Someone opted out")
    expect(row).to_contain_text("No message delivered yet")
    shown.get_by_role("button", name="I have copied it").click()
    expect(shown).to_have_count(0)
    assert secret not in page.content()

    row.get_by_role("button", name=f"Send a test to {url}").click()
    deliveries = page.get_by_role("region", name=f"Deliveries to {url}")
    delivered = deliveries.get_by_role("row").filter(has_text="Test message (sent from this page)")
    expect(delivered).to_contain_text("Delivered", timeout=15_000)
    expect(delivered).to_contain_text("answered 200")
    # the receiver got it, signed with the secret shown once
    got = receiver.at("/callguard")
    assert len(got) == 1
    assert verify(secret, got[0].headers, got[0].body)["type"] == "webhook.test"
    expect(row).to_contain_text("Working")
    expect(row).to_contain_text("Last delivered")

    # an opt-out is sent too, as it happens
    with local_server.client(officer.headers) as client:
        made = client.post("/v1/opt-outs", json={"phone": "+14155553401", "source": "agent"})
        assert made.status_code in (200, 201), made.text
    deliveries.get_by_role("button", name="Refresh").click()
    opted = deliveries.get_by_role("row").filter(has_text="Someone opted out")
    expect(opted).to_contain_text("Delivered", timeout=15_000)
    deliveries.get_by_label("Show").select_option(label="Waiting or retrying")
    expect(
        deliveries.get_by_text("No message was sent to this address with this state")
    ).to_be_visible()


def test_a_failing_webhook_shows_its_retries_then_is_turned_off(
    local_server: Server, receiver: Receiver, watched: Watched
) -> None:
    officer = seed_tenant(local_server, unique("Failing Co"), "Compliance officer")
    url = receiver.script("/down", 503)
    with local_server.client(officer.headers) as client:
        made = client.post("/v1/webhooks", json={"url": url, "events": ["optout.recorded"]})
        assert made.status_code == 201, made.text
        recorded = client.post("/v1/opt-outs", json={"phone": "+14155553402", "source": "agent"})
        assert recorded.status_code in (200, 201), recorded.text
    page = watched.page
    open_webhooks(watched, local_server, officer.key)
    row = page.get_by_role("row").filter(has_text=url)
    row.get_by_role("link", name=f"Deliveries to {url}").click()
    deliveries = page.get_by_role("region", name=f"Deliveries to {url}")
    waiting = deliveries.get_by_role("row").filter(has_text="Someone opted out")
    expect(waiting).to_contain_text("answered 503")
    expect(waiting).to_contain_text(re.compile(r"Waiting; retries at|Given up"))
    expect(row).to_contain_text(re.compile(r"Failing since|Turned off"))

    # failing without a success past the limit (seconds here, 24 hours in production): turned off
    expect(row).to_contain_text("Turned off", timeout=20_000)
    expect(row).to_contain_text("nothing more is sent to it")
    expect(waiting).to_contain_text("Given up", timeout=10_000)
    row.get_by_role("button", name=f"Send a test to {url}").click()
    refused = row.get_by_role("alert").filter(has_text="That did not work:")
    expect(refused).to_contain_text("This webhook is disabled")
