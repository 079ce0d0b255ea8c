"""The overview: checks by outcome as a chart, the lists with size and freshness, every upload
of the tenant still running (whoever started it), verification."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import expect
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.console.harness import Server, Tenant, Watched, check, create_list, seed_tenant, unique

AT = "2026-12-02T20:00:00Z"  # a Wednesday, noon in California: the calling hours allow it


def test_overview_shows_the_checks_chart_the_lists_and_verifies_the_chain(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    name = unique("Customer requests")
    create_list(console_server, officer, name, ["+14155552001", "+14155552002"])
    assert check(console_server, officer, "+14155552003", AT) == 200
    assert check(console_server, officer, "+14155552001", AT) == 422

    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    chart = page.get_by_role("img", name="Chart of checks per hour by outcome")
    expect(chart).to_be_visible()
    expect(chart.locator("canvas").first).to_be_visible()
    totals = page.get_by_role("list", name="Totals for the period")
    expect(totals).to_contain_text(re.compile(r"On a DNC list\s*[1-9]"))
    expect(totals).to_contain_text(re.compile(r"Allowed\s*[1-9]"))

    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("2")
    expect(row).to_contain_text("Internal")
    expect(row).to_contain_text("Refreshed just now")
    expect(page.get_by_text("No uploads are running.")).to_be_visible()

    page.get_by_role("button", name="Verify chain").click()
    expect(page.get_by_text("The audit trail is intact")).to_be_visible()


@contextmanager
def merges_held(server: Server) -> Iterator[None]:
    """DNC entries locked against writes by another transaction, as a long merge of another
    upload would hold them: an upload is accepted, reads its file, then waits to merge until the
    block ends (it stays `running`, as a large one does for minutes)."""
    locked, release = threading.Event(), threading.Event()

    async def hold(conn: AsyncConnection) -> None:
        await conn.execute(text("LOCK TABLE dnc_entries IN SHARE MODE"))
        locked.set()
        await asyncio.to_thread(release.wait, 60)

    held = server.in_database(hold)
    try:
        assert locked.wait(30), "the DNC entries could not be locked"
        yield
    finally:
        release.set()
        held.result(timeout=60)


def test_uploads_started_through_the_api_show_on_the_overview_until_they_end(
    console_server: Server, watched: Watched
) -> None:
    # a tenant of its own: it runs one upload at a time, so a second one waits its turn
    tenant = seed_tenant(console_server, unique("Uploads Co"), "Upload watcher")
    name = unique("Nightly suppression feed")
    listed = create_list(console_server, tenant, name, [])
    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    running = page.get_by_role("region", name="Running uploads")
    expect(running.get_by_text("No uploads are running.")).to_be_visible()

    with merges_held(console_server), console_server.client(tenant.headers) as api:
        into_list = api.post(
            f"/v1/dnc/lists/{listed['id']}/uploads",
            content=b"+14155552801\n+14155552802\n",
            headers={"content-type": "text/csv"},
        )
        assert into_list.status_code == 202, into_list.text
        opt_outs = api.post(
            "/v1/opt-outs/uploads",
            content=b"+14155552803\n",
            headers={"content-type": "text/csv"},
        )
        assert opt_outs.status_code == 202, opt_outs.text
        consents = api.post(
            "/v1/consents/uploads",
            content=b"phone,basis,obtained_at\n+14155552804,ebr_inquiry,2026-11-30T10:00:00Z\n",
            headers={"content-type": "text/csv"},
        )
        assert consents.status_code == 202, consents.text

        # read from the API's listings: nothing was started from this browser
        expect(running.get_by_role("link", name=name)).to_be_visible()
        expect(running.get_by_role("listitem").filter(has_text=name)).to_contain_text("running")
        waiting = running.get_by_role("listitem").filter(has_text="Opt-outs")
        expect(waiting).to_contain_text("waiting to start")
        consents_waiting = running.get_by_role("listitem").filter(has_text="Consents")
        expect(consents_waiting).to_contain_text("waiting to start")
        expect(running.get_by_role("progressbar", name=f"Upload to {name}")).to_be_visible()

    expect(running.get_by_text("No uploads are running.")).to_be_visible(timeout=20_000)
    with console_server.client(tenant.headers) as api:
        done = api.get(f"/v1/dnc/uploads/{into_list.json()['id']}").json()
    assert done["status"] == "succeeded", done
