"""Number lookup: why a number is blocked (each list with its kind) or allowed by a consent, its
history, and a check only when asked: its exemption, its warnings, a stale registry's refusal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.console.harness import Server, Tenant, Watched, create_list, seed_tenant, unique
from tests.dnc.freshness import age_list

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


AT_NOON = "2026-12-02T19:00"  # a Wednesday: 11:00 in California (the test's browser is in UTC)
CONSENT = {
    "basis": "express_written_consent",
    "obtained_at": "2026-11-01T12:00:00Z",
    "evidence": "signed form 4410",
}


def _consent(server: Server, tenant: Tenant, phone: str) -> str:
    with server.client(tenant.headers) as client:
        made = client.post("/v1/consents", json={"phone": phone, **CONSENT})
        assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _age(server: Server, list_id: str, days: int) -> None:
    server.in_database(lambda conn: age_list(conn, list_id, timedelta(days=days))).result(30)


def _check_at(page: Page, when: str) -> None:
    page.get_by_label("For a call at (optional; empty: now)").fill(when)
    page.get_by_role("button", name=re.compile(r"^Check now")).click()


def test_a_consent_waives_a_registry_copy_and_the_check_says_which_with_its_warning(
    console_server: Server, watched: Watched
) -> None:
    # a tenant of its own: its registry copy ages out soon, which every check of it is told
    tenant = seed_tenant(console_server, unique("Consent Co"), "Compliance officer")
    phone = "+14155553401"
    registry = create_list(console_server, tenant, unique("National registry"), [phone], "registry")
    _age(console_server, registry["id"], 27)
    consent_id = _consent(console_server, tenant, phone)

    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    page.goto(f"{console_server.base}/console#/lookup/{phone}")
    verdict = page.get_by_role("status").filter(has_text="Allowed by a consent")
    expect(verdict).to_contain_text(f"on the tenant registry copy {registry['name']}")
    expect(verdict).to_contain_text("waived by a consent")
    expect(verdict.get_by_role("link", name=re.compile("^Signed written consent"))).to_be_visible()

    _check_at(page, AT_NOON)
    allowed = page.get_by_role("status").filter(has_text="Allowed for a call at")
    expect(allowed).to_contain_text("Dec 2, 2026")
    expect(allowed).to_contain_text(f"A consent waived the registry copy {registry['name']}")
    expect(allowed).to_contain_text("Signed written consent, obtained Nov 1, 2026")
    expect(allowed).to_contain_text(f"The registry copy {registry['name']} ages out on")
    allowed.get_by_role("link", name=re.compile("^Signed written consent")).click()
    expect(page).to_have_url(re.compile(f"#/consents/{consent_id}$"))
    expect(page.get_by_role("region", name=f"Consent for {phone}")).to_contain_text(
        "signed form 4410"
    )


def test_a_blocked_check_names_each_list_with_its_kind(
    console_server: Server, watched: Watched
) -> None:
    tenant = seed_tenant(console_server, unique("Kinds Co"), "Compliance officer")
    phone = "+14155553501"
    registry = create_list(console_server, tenant, unique("State registry"), [phone], "registry")
    internal = create_list(console_server, tenant, unique("Asked us not to call"), [phone])
    _consent(console_server, tenant, phone)  # waives registry copies only: not enough here

    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    page.goto(f"{console_server.base}/console#/lookup/{phone}")
    verdict = page.get_by_role("status").filter(has_text="Blocked now")
    expect(verdict).to_contain_text(f"on the tenant registry copy {registry['name']}")
    expect(verdict).to_contain_text(f"on the tenant internal list {internal['name']}")
    expect(verdict).to_contain_text("1 consent in force")

    _check_at(page, AT_NOON)
    refused = page.get_by_role("status").filter(has_text="Not allowed:")
    expect(refused).to_contain_text("Reasons: On a Do-Not-Call list")
    expect(refused).to_contain_text(f"{internal['name']} (internal list)")
    expect(refused).to_contain_text(f"{registry['name']} (registry copy)")


def test_a_stale_registry_copy_refuses_checks_until_the_policy_allows_them(
    console_server: Server, watched: Watched
) -> None:
    tenant = seed_tenant(console_server, unique("Stale Co"), "Compliance officer")
    registry = create_list(console_server, tenant, unique("Federal registry"), [], "registry")
    _age(console_server, registry["id"], 45)
    phone = "+14155553601"

    page = watched.page
    watched.expect_answer(503, "/v1/checks")
    watched.sign_in(console_server.base, tenant.key)
    page.goto(f"{console_server.base}/console#/lookup/{phone}")
    _check_at(page, AT_NOON)
    refused = page.get_by_role("alert").filter(has_text="No check was made")
    expect(refused).to_contain_text(f"the registry copy {registry['name']} is stale")
    expect(refused).to_contain_text("the calling policy refuses checks until it is refreshed")
    expect(refused).to_contain_text("Request id: req_")

    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Rules").click()
    policy = page.get_by_role("form", name="This company's calling hours")
    stale = policy.get_by_role("group", name="When a registry copy is stale")
    expect(
        stale.get_by_role("radio", name=re.compile(r"^Refuse checks \(recommended\)"))
    ).to_be_checked()
    stale.get_by_role("radio", name="Allow checks, with a warning on each answer").check()
    policy.get_by_role("button", name="Save calling policy").click()
    expect(page.get_by_text("Saved. Checks use these hours")).to_be_visible()
    with console_server.client(tenant.headers) as client:
        assert client.get("/v1/calling-policy").json()["on_stale_registry"] == "allow"

    page.goto(f"{console_server.base}/console#/lookup/{phone}")
    _check_at(page, AT_NOON)
    allowed = page.get_by_role("status").filter(has_text="Allowed for a call at")
    expect(allowed).to_contain_text(f"The registry copy {registry['name']} is stale")
    expect(allowed).to_contain_text("passed only because the calling policy allows a stale copy")


TYPE_AS_IT_OPENS = """([hash, name, typed]) => new Promise((resolve) => {
  // types into the box in the very moment the page draws it, before its effects have run
  const observer = new MutationObserver(() => {
    const label = [...document.querySelectorAll("label")].find((l) => l.textContent === name);
    if (!label) return;
    observer.disconnect();
    label.control.value = typed;
    label.control.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => resolve(label.control.value), 500);
  });
  observer.observe(document.body, { childList: true, subtree: true });
  location.hash = hash;
})"""


@pytest.mark.parametrize(
    ("hash", "label"), [("#/lookup", "Phone number"), ("#/optouts", "Look up a number")]
)
def test_a_number_typed_as_the_page_opens_is_kept(
    console_server: Server, officer: Tenant, watched: Watched, hash: str, label: str
) -> None:
    # a fast typist (or a browser test on a busy machine) once lost the number: the page
    # cleared its box when it finished opening
    watched.sign_in(console_server.base, officer.key)
    kept = watched.page.evaluate(TYPE_AS_IT_OPENS, [hash, label, "415-555-2101"])
    assert kept == "415-555-2101"
