"""Number lookup: why a number is blocked, its history, and a check only when asked."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.harness import Server, Tenant, Watched, create_list, unique

PHONE = "+14155552101"


def _checks_of(server: Server, officer: Tenant, phone: str) -> int:
    with server.client(officer.headers) as client:
        return len(client.get("/v1/audit/checks", params={"phone": phone}).json()["data"])


def test_lookup_of_a_blocked_number_says_why_and_checks_only_when_asked(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    name = unique("Do not call")
    create_list(console_server, officer, name, [PHONE])
    with console_server.client(officer.headers) as client:
        opted = client.post("/v1/opt-outs", json={"phone": PHONE, "channel": "voice"})
        assert opted.status_code == 201, opted.text

    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Number lookup").click()
    page.get_by_label("Phone number").fill("415-555-2101")
    page.get_by_role("button", name="Look up").click()

    verdict = page.get_by_role("status").filter(has_text="Blocked now")
    expect(verdict).to_contain_text(name)
    expect(verdict).to_contain_text("opted out of calls.")
    history = page.get_by_role("region", name="History")
    expect(history.get_by_role("row").filter(has_text="Added to a DNC list")).not_to_have_count(0)
    expect(page.get_by_text("Area code 415")).to_be_visible()
    assert _checks_of(console_server, officer, PHONE) == 0  # looking is not checking

    page.get_by_role("button", name=re.compile(r"^Check now")).click()
    expect(page.get_by_text("Not allowed:")).to_be_visible()
    reasons = re.compile("Reasons: Opted out, On a Do-Not-Call list")
    expect(page.get_by_text(reasons)).to_be_visible()
    assert _checks_of(console_server, officer, PHONE) == 1


def test_an_invalid_number_is_refused_in_words(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    watched.sign_in(console_server.base, officer.key)
    watched.page.goto(f"{console_server.base}/console#/lookup/12345")
    alert = watched.page.get_by_role("alert")
    expect(alert).to_contain_text("This is not a number callguard can check:")
