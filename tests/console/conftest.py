"""The console's browser tests: one `callguard serve` for the session on a scratch database of
its own (empty, so serve prints its first admin key), one Chromium, a fresh page per test."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from app.core.db import async_url, drop_database, ensure_database, plain_url
from tests.console.harness import (
    DESKTOP,
    GET_CHROMIUM,
    PHONE,
    Server,
    Tenant,
    Watched,
    chromium_path,
    launch,
    seed_tenant,
    serve,
)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.fail(GET_CHROMIUM, pytrace=False)
    return path


@pytest.fixture(scope="session")
def console_server(chromium: str, server_url: str) -> Iterator[Server]:
    """`callguard serve` for the console tests (after `chromium`: without one, fail at once)."""
    name = f"callguard_console_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(ensure_database(server_url, name))
    try:
        with serve(plain_url(async_url(server_url).set(database=name))) as server:
            yield server
    finally:
        asyncio.run(drop_database(server_url, name))


@pytest.fixture(scope="session")
def officer(console_server: Server) -> Tenant:
    """The tenant the tests act for, and its compliance officer's key (every tenant scope)."""
    return seed_tenant(console_server, "Acme Collections", "Compliance officer")


# Per module, not per session: while sync Playwright runs, its event loop counts as running in
# this thread, so no asyncio test or asyncio.run() could follow it until it stops.
@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright, chromium)
        yield browser
        browser.close()


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    """A fresh tab at 1280x800. After the test: no console error, no uncaught exception, no CSP
    violation, and at 390x844 no sideways scrolling on the page the test ended on."""
    # UTC, whatever the machine's zone: the tests type and read times as a person in UTC would
    context = browser.new_context(viewport=DESKTOP, timezone_id="UTC")
    context.set_default_timeout(10_000)
    page = Watched(context.new_page())
    try:
        yield page
        page.page.set_viewport_size(PHONE)
        page.page.wait_for_timeout(100)  # the layout (and the chart) follow the new width
        assert page.sideways_overflow() == 0, "the page scrolls sideways at 390x844"
        assert page.problems == []
    finally:
        context.close()
