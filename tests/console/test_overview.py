"""The overview: checks by outcome as a chart, the lists with size and freshness, verification."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.harness import Server, Tenant, Watched, check, create_list, unique

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
    expect(row).to_contain_text("Updated")
    expect(page.get_by_text("No uploads are running.")).to_be_visible()

    page.get_by_role("button", name="Verify chain").click()
    expect(page.get_by_text("The audit trail is intact")).to_be_visible()
