"""Keys: create a key with chosen scopes and see its secret once, revoke it; scopes the signed-in
key lacks are not offered, nor is the page to a key without keys:write."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.console.harness import Server, Tenant, Watched, seed_tenant, unique


def test_create_a_key_see_the_secret_once_then_revoke_it(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    name = unique("Dialer")
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Keys").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="(your key)")).to_contain_text(officer.key_name)

    page.get_by_label("Name (who or what will use it)").fill(name)
    page.get_by_label("Place checks (a dialer)").check()
    page.get_by_label("Read Do-Not-Call lists").check()
    # the officer's key is not an admin key: it cannot give what it lacks
    expect(page.get_by_label("Platform administrator")).to_have_count(0)
    page.get_by_role("button", name="Create key").click()

    shown = page.get_by_role("region", name="The new key")
    expect(shown).to_contain_text("Copy the key now: it is not shown again.")
    secret = shown.get_by_label("The new key").input_value()
    assert secret.startswith("cg_")
    with console_server.client({"Authorization": f"Bearer {secret}"}) as client:
        me = client.get("/v1/me").json()
    assert me["name"] == name
    assert sorted(me["scopes"]) == ["checks:write", "dnc:read"]
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Place checks (a dialer); Read Do-Not-Call lists")
    expect(row).to_contain_text("Active")

    shown.get_by_role("button", name="I have copied it").click()
    expect(shown).to_have_count(0)
    assert secret not in page.content()

    row.get_by_role("button", name=f"Revoke {name}").click()
    expect(row).to_contain_text("Every program using it is refused at once")
    row.get_by_role("button", name="Yes, revoke it").click()
    expect(row).to_contain_text("Revoked")
    expect(row.get_by_role("button")).to_have_count(0)
    with console_server.client({"Authorization": f"Bearer {secret}"}) as client:
        assert client.get("/v1/me").json()["error"] == "key_revoked"


def test_replace_a_key_with_a_grace_period(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    name = unique("Old dialer")
    with console_server.client(officer.headers) as client:
        made = client.post("/v1/api-keys", json={"name": name, "scopes": ["checks:write"]})
        assert made.status_code == 201, made.text
    old = made.json()["prefix"]
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/keys")
    row = page.get_by_role("row").filter(has_text=old)
    row.get_by_role("button", name=f"Replace {name}").click()
    row.get_by_label("Seconds the old key keeps working").fill("3600")
    expect(row).to_contain_text("The old key keeps working for 1 hour.")
    row.get_by_role("button", name="Yes, replace it").click()
    shown = page.get_by_role("region", name="The new key")
    expect(shown).to_contain_text("The key was replaced")
    secret = shown.get_by_label("The new key").input_value()
    assert secret.startswith("cg_")
    expect(row).to_contain_text("Replaced; works until")
    new = page.get_by_role("row").filter(has_text=secret[: len(old)])
    expect(new).to_contain_text(name)
    expect(new).to_contain_text("Active")


def test_a_key_without_keys_write_is_not_offered_the_keys_page(
    console_server: Server, watched: Watched
) -> None:
    reader = seed_tenant(console_server, unique("Auditors"), "Auditor", ["audit:read"])
    page = watched.page
    watched.sign_in(console_server.base, reader.key)
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="Audit")).to_be_visible()
    expect(nav.get_by_role("link", name="Rules")).to_be_visible()
    for hidden in ("Keys", "Opt-outs", "DNC lists"):
        expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
    page.goto(f"{console_server.base}/console#/keys")
    expect(page.get_by_role("heading", name="API keys")).to_have_count(0)
