"""Frequency caps in the console: the lookup page's recent call attempts and a capped check's
rule, counted attempts and next allowed time in words; the Rules page's law caps with their
sources, and the tenant's own limits and quiet after a conversation edited in the policy."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.harness import Server, Tenant, Watched, seed_tenant, unique

AT = "2026-12-02T19:00"  # a Wednesday: 14:00 in Miami, 11:00 in California (the browser is in UTC)


def _report(server: Server, tenant: Tenant, items: list[dict[str, str]]) -> None:
    with server.client(tenant.headers) as client:
        answer = client.post("/v1/attempts", json={"items": items})
        assert answer.status_code == 201, answer.text


def _check_at(page: Page, when: str, purpose: str = "") -> None:
    page.get_by_label("For a call at (optional; empty: now)").fill(when)
    page.get_by_label("Subject of the call (optional").fill(purpose)
    page.get_by_role("button", name=re.compile(r"^Check now")).click()


def test_lookup_shows_the_attempts_and_a_capped_check_in_words(
    console_server: Server, watched: Watched
) -> None:
    tenant = seed_tenant(console_server, unique("Caps Co"), "Compliance officer")
    phone = "+13055552901"  # Florida: at most 3 calls in 24 hours on one subject
    _report(
        console_server,
        tenant,
        [
            {"phone": phone, "at": "2026-12-02T16:00:00Z", "disposition": "no_answer"},
            {"phone": phone, "at": "2026-12-02T17:00:00Z", "disposition": "voicemail"},
            {
                "phone": phone,
                "at": "2026-12-02T18:00:00Z",
                "disposition": "busy",
                "channel": "sms",
            },
        ],
    )
    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    page.goto(f"{console_server.base}/console#/lookup/{phone}")
    attempts = page.get_by_role("region", name="Recent call attempts")
    rows = attempts.get_by_role("row")
    expect(rows).to_have_count(4)  # the header and three attempts, newest first
    expect(rows.nth(1)).to_contain_text("Dec 2, 2026, 06:00 PM")
    expect(rows.nth(1)).to_contain_text("Text")
    expect(rows.nth(1)).to_contain_text("Busy")
    expect(rows.nth(3)).to_contain_text("No answer")
    expect(rows.nth(3)).to_contain_text("none given")

    _check_at(page, AT)
    refused = page.get_by_role("status").filter(has_text="Not allowed:")
    expect(refused).to_contain_text("this number was called too often")
    expect(refused).to_contain_text(
        "The law of Florida: at most 3 calls in 24 hours on one purpose."
    )
    expect(refused).to_contain_text("The 3 attempts that count:")
    expect(refused.get_by_role("listitem")).to_have_count(3)
    expect(refused).to_contain_text("Dec 2, 2026, 04:00 PM (subject: none given)")
    # the oldest counted attempt stops counting 24 hours after it: 11:00 in Miami, in hours
    expect(refused).to_contain_text("It may be called again from Dec 3, 2026, 04:00 PM")

    # another subject is counted apart
    _check_at(page, AT, "renewal")
    expect(page.get_by_role("status").filter(has_text="Allowed for a call at")).to_be_visible()


def test_the_rules_page_shows_the_laws_caps_and_edits_the_companys_own(
    console_server: Server, watched: Watched
) -> None:
    tenant = seed_tenant(console_server, unique("Collections Co"), "Policy editor")
    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Rules").click()
    law = page.get_by_role("region", name="How often a number may be called, set by law")
    florida = law.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Florida"))
    expect(florida).to_contain_text(
        "At most 3 calls in 24 hours to one number on one subject (purpose)"
    )
    expect(florida).to_contain_text("2021-07-01")
    expect(florida).to_contain_text("Fla. Stat. 501.616(6)(b)")
    oregon = law.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Oregon"))
    expect(oregon).to_contain_text("(not yet confirmed)")

    policy = page.get_by_role("form", name="This company's calling hours")
    expect(policy.get_by_text("No limits besides the law's.")).to_be_visible()
    policy.get_by_role("button", name="Add a limit").click()
    policy.get_by_role("button", name="Add a limit").click()
    first = policy.get_by_role("group", name="Limit 1")
    expect(first.get_by_label("Limit 1: at most")).to_have_value("7")
    expect(first.get_by_label("Limit 1: in")).to_have_value("168")
    second = policy.get_by_role("group", name="Limit 2")
    second.get_by_label("Limit 2: at most").fill("2")
    second.get_by_label("Limit 2: in").fill("48")
    second.get_by_label("Limit 2: counted").select_option("number_and_purpose")
    policy.get_by_label("No calls for this many hours after a conversation").fill("72")
    policy.get_by_role("button", name="Save calling policy").click()
    expect(page.get_by_text("Saved. Checks use these hours")).to_be_visible()

    with console_server.client(tenant.headers) as client:
        saved = client.get("/v1/calling-policy").json()
    assert saved["frequency_caps"] == [
        {"max_calls": 7, "within_hours": 168, "per": "number"},
        {"max_calls": 2, "within_hours": 48, "per": "number_and_purpose"},
    ]
    assert saved["after_conversation_hours"] == 72

    page.reload()
    policy = page.get_by_role("form", name="This company's calling hours")
    expect(policy.get_by_label("Limit 2: in")).to_have_value("48")
    expect(policy.get_by_label("Limit 2: counted")).to_have_value("number_and_purpose")
    expect(policy.get_by_label("No calls for this many hours after a conversation")).to_have_value(
        "72"
    )
    policy.get_by_role("button", name="Remove limit 1").click()
    expect(policy.get_by_role("group", name="Limit 2")).to_have_count(0)
    expect(policy.get_by_label("Limit 1: at most")).to_have_value("2")
    policy.get_by_role("button", name="Save calling policy").click()
    expect(page.get_by_text("Saved. Checks use these hours")).to_be_visible()
    with console_server.client(tenant.headers) as client:
        saved = client.get("/v1/calling-policy").json()
    assert saved["frequency_caps"] == [
        {"max_calls": 2, "within_hours": 48, "per": "number_and_purpose"}
    ]

    # the quiet after a conversation, in words on a check of a number the law does not cap
    phone = "+14155552902"
    _report(
        console_server,
        tenant,
        [{"phone": phone, "at": "2026-12-02T18:30:00Z", "disposition": "connected"}],
    )
    page.goto(f"{console_server.base}/console#/lookup/{phone}")
    attempts = page.get_by_role("region", name="Recent call attempts")
    expect(attempts.get_by_role("row").filter(has_text="Conversation")).to_have_count(1)
    _check_at(page, AT)
    refused = page.get_by_role("status").filter(has_text="Not allowed:")
    expect(refused).to_contain_text(
        "This company's calling policy: no call within 72 hours after a conversation."
    )
    expect(refused).to_contain_text("The attempt that counts:")
    # 72 hours after it is 10:30 in California on Saturday: within the policy's 09:00-20:00
    expect(refused).to_contain_text("It may be called again from Dec 5, 2026, 06:30 PM")


def test_a_reader_sees_the_companys_limits_in_words(
    console_server: Server, watched: Watched
) -> None:
    tenant = seed_tenant(console_server, unique("Reader Caps Co"), "Policy editor")
    week = {d: ["09:00", "20:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    with console_server.client(tenant.headers) as client:
        body = {
            "windows": week,
            "frequency_caps": [{"max_calls": 7, "within_hours": 168}],
            "after_conversation_hours": 168,
        }
        assert client.put("/v1/calling-policy", json=body).status_code == 200
        scopes = ["checks:write", "audit:read", "dnc:read"]
        reader = client.post("/v1/api-keys", json={"name": "Reader", "scopes": scopes}).json()
    page = watched.page
    watched.sign_in(console_server.base, reader["key"])
    page.goto(f"{console_server.base}/console#/rules")
    policy = page.get_by_role("region", name="This company's calling policy")
    expect(policy).to_contain_text(
        "How often a number may be called: at most 7 calls in 7 days to one number; "
        "no calls for 7 days after a conversation."
    )
    expect(page.get_by_role("button", name="Save calling policy")).to_have_count(0)
