"""Signing in and out, a refused key, and pages offered by the key's scopes."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Route, expect

from tests.console.harness import Server, Tenant, Watched, seed_tenant, unique


def test_sign_in_shows_the_key_and_tenant_and_sign_out_forgets_the_key(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    expect(page.get_by_text("Signed in as")).to_contain_text("Compliance officer")
    expect(page.get_by_text("Signed in as")).to_contain_text("Acme Collections")
    assert page.evaluate("sessionStorage.getItem('callguard.key')") == officer.key
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []

    page.reload()  # the tab keeps its session
    expect(page.get_by_role("navigation", name="Pages")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("API key")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def test_a_wrong_key_is_refused_with_the_envelope_s_message(
    console_server: Server, watched: Watched
) -> None:
    wrong = "cg_" + "x" * 40
    expected = httpx.get(
        f"{console_server.base}/v1/me", headers={"Authorization": f"Bearer {wrong}"}
    ).json()["message"]
    watched.sign_in(console_server.base, wrong)
    alert = watched.page.get_by_role("alert")
    expect(alert).to_contain_text("This key was not accepted:")
    expect(alert).to_contain_text(expected)
    expect(alert).to_contain_text(re.compile(r"Request id: req_[0-9a-f]+"))
    assert watched.page.evaluate("sessionStorage.length") == 0


def test_what_the_key_s_scopes_do_not_allow_is_not_offered(
    console_server: Server, watched: Watched
) -> None:
    reader = seed_tenant(console_server, unique("Reader Co"), "List reader", scopes=["dnc:read"])
    page = watched.page
    watched.sign_in(console_server.base, reader.key)
    nav = page.get_by_role("navigation", name="Pages")
    for offered in ("Overview", "Number lookup", "DNC lists"):
        expect(nav.get_by_role("link", name=offered, exact=True)).to_be_visible()
    for withheld in ("Opt-outs", "Audit", "Keys"):  # optouts:read, audit:read, keys:write
        expect(nav.get_by_role("link", name=withheld, exact=True)).to_have_count(0)
    expect(page.get_by_role("heading", name="Do-Not-Call lists")).to_be_visible()
    expect(page.get_by_role("heading", name="Checks by outcome")).to_have_count(0)
    expect(page.get_by_role("button", name="Verify chain")).to_have_count(0)

    nav.get_by_role("link", name="DNC lists").click()
    expect(page.get_by_role("heading", name="Lists", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Create a list")).to_have_count(0)

    nav.get_by_role("link", name="Number lookup").click()
    page.get_by_label("Phone number").fill("(415) 555-2671")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_role("heading", name="Not blocked by any list or opt-out")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Check now"))).to_have_count(0)


# The page's animation frames, and Preact's 35 ms fallback for them, come 2 s late: the effects of
# what the page draws run late, as on a busy machine, while the test clicks at its usual pace.
LATE_EFFECTS = """(() => {
  const frame = window.requestAnimationFrame.bind(window);
  const later = window.setTimeout.bind(window);
  window.requestAnimationFrame = (callback) => { later(() => frame(callback), 2000); return 0; };
  window.cancelAnimationFrame = () => {};
  window.setTimeout = (callback, ms, ...rest) => later(callback, ms === 35 ? 2035 : ms, ...rest);
})();"""


def test_a_sign_in_before_the_page_s_first_effects_is_kept(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    # the page's first effect, run after a fast sign-in, checked the new key again and forgot
    # it when that answer failed (here a 503, as from a busy server): signed out at once
    page = watched.page
    page.add_init_script(LATE_EFFECTS)
    asked: list[str] = []

    def me(route: Route) -> None:
        asked.append(route.request.url)
        if len(asked) == 1:
            route.continue_()
        else:
            route.fulfill(status=503, json={"error": "unavailable", "message": "Busy."})

    watched.expect_answer(503, "/v1/me")
    page.route("**/v1/me", me)
    watched.sign_in(console_server.base, officer.key)
    lists = page.get_by_role("region", name="Do-Not-Call lists")
    expect(lists).to_be_visible()
    expect(lists.get_by_role("status")).to_have_count(0)  # loaded, once the late effects ran
    expect(page.get_by_text("Signed in as")).to_contain_text("Compliance officer")
    assert page.evaluate("sessionStorage.getItem('callguard.key')") == officer.key
    assert len(asked) == 1
