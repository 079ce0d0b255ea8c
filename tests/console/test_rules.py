"""Rules: the law's calling hours in a table, bans, and the tenant's policy edited and saved."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.console.harness import TENANT_SCOPES, Server, Watched, seed_tenant, unique


def test_edit_the_calling_policy_and_see_it_saved(console_server: Server, watched: Watched) -> None:
    # a tenant of its own: a policy narrows every later check of its tenant
    tenant = seed_tenant(console_server, unique("Policy Co"), "Policy editor")
    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Rules").click()
    law = page.get_by_role("region", name="Calling hours set by law")
    alabama = law.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Alabama"))
    expect(alabama).to_contain_text("Mon\u2013Sat 08:00\u201320:00")
    expect(alabama).to_contain_text("Sun no calls")
    expect(alabama).to_contain_text("Alabama holidays")
    expect(page.get_by_text("No ban is in force or planned.")).to_be_visible()
    expect(page.get_by_text("There is no company policy yet")).to_be_visible()

    policy = page.get_by_role("form", name="This company's calling hours")
    policy.get_by_label("Monday: from").fill("10:00")
    policy.get_by_label("Monday: until").fill("18:30")
    policy.get_by_label("Sunday: no calls").check()
    expect(policy.get_by_label("Sunday: from")).to_be_disabled()
    policy.get_by_label("Add a date").fill("2026-12-24")
    policy.get_by_role("button", name="Add date").click()
    policy.get_by_role("button", name="Save calling policy").click()
    expect(page.get_by_text("Saved. Checks use these hours")).to_be_visible()

    with console_server.client(tenant.headers) as client:
        saved = client.get("/v1/calling-policy").json()
    assert saved["windows"]["mon"] == ["10:00", "18:30"]
    assert saved["windows"]["sun"] is None
    assert saved["windows"]["tue"] == ["09:00", "20:00"]
    assert saved["banned_dates"] == ["2026-12-24"]

    page.reload()
    policy = page.get_by_role("form", name="This company's calling hours")
    expect(policy.get_by_label("Monday: until")).to_have_value("18:30")
    expect(policy.get_by_label("Sunday: no calls")).to_be_checked()
    expect(policy.get_by_role("listitem").filter(has_text="2026-12-24")).to_be_visible()


def test_without_policy_write_the_policy_is_shown_not_offered_for_editing(
    console_server: Server, watched: Watched
) -> None:
    scopes = [s for s in TENANT_SCOPES if s != "policy:write"]
    tenant = seed_tenant(console_server, unique("Reader Co"), "Reader", scopes)
    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    page.goto(f"{console_server.base}/console#/rules")
    expect(page.get_by_text("There is no company policy yet")).to_be_visible()
    expect(page.get_by_role("button", name="Save calling policy")).to_have_count(0)
    expect(page.get_by_role("heading", name="Declare a ban")).to_have_count(0)


def test_an_admin_declares_a_ban_and_lifts_it(console_server: Server, watched: Watched) -> None:
    admin_key = console_server.admin["Authorization"].removeprefix("Bearer ")
    page = watched.page
    watched.sign_in(console_server.base, admin_key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Rules").click()
    reason = unique("Hurricane emergency")
    page.get_by_label("Where (a state such as US-LA").fill("us-la")
    page.get_by_label("From (local time of this browser)").fill("2031-01-10T09:00")
    page.get_by_label("Until", exact=True).fill("2031-01-12T18:00")
    page.get_by_label("Reason", exact=True).fill(reason)
    page.get_by_role("button", name="Declare ban").click()
    ban = page.get_by_role("row").filter(has_text=reason)
    expect(ban).to_contain_text("Louisiana")
    expect(ban).to_contain_text("Jan 10, 2031")

    ban.get_by_role("button", name="Lift the ban in Louisiana").click()
    expect(ban).to_contain_text("Lift this ban now?")
    ban.get_by_role("button", name="Yes, lift it").click()
    expect(page.get_by_role("row").filter(has_text=reason)).to_have_count(0)
    with console_server.client() as client:
        bans = client.get("/v1/calling-rules/bans", params={"include_past": "true"}).json()
    lifted = [b for b in bans["data"] if b["reason"] == reason]
    assert len(lifted) == 1
    assert lifted[0]["lifted_at"] is not None
