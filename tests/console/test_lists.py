"""DNC lists: create one of a kind, add, find and remove a number, upload a file, a hostile name
kept inert, change a list's kind and maximum age, and a registry copy's freshness."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from tests.console.harness import (
    Server,
    Tenant,
    Watched,
    a_file,
    create_list,
    seed_tenant,
    unique,
)
from tests.dnc.freshness import age_list


def test_create_a_list_then_add_find_and_remove_a_number(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    name = unique("Front desk requests")
    watched.sign_in(console_server.base, officer.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="DNC lists").click()
    page.get_by_label("List name").fill(name)
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    expect(page.get_by_text("No numbers on this list yet.")).to_be_visible()

    page.get_by_label("Phone number").fill("(415) 555-2301")
    page.get_by_label("Reason (optional)").fill("asked at the front desk")
    page.get_by_role("button", name="Add to list").click()
    row = page.get_by_role("row").filter(has_text="+14155552301")
    expect(row).to_contain_text("asked at the front desk")

    page.get_by_label("Find a number on this list").fill("4155552301")
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_text("+14155552301 is on this list since")).to_be_visible()

    row.get_by_role("button", name="Remove +14155552301").click()
    expect(page.get_by_text("No numbers on this list yet.")).to_be_visible()


def test_an_upload_reaches_succeeded_with_its_row_errors_shown(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    listed = create_list(console_server, officer, unique("Registry copy"), [])
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/lists/{listed['id']}")
    body = "phone\n+14155552401\n(415) 555-2402\n555-CALL\n415.555.2403\n"
    page.get_by_label("File of numbers").set_input_files(
        files=[a_file("numbers.csv", body.encode())]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Upload finished")).to_contain_text("3 numbers added")
    expect(page.get_by_text("Upload succeeded")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "1")
    errors = page.get_by_role("row").filter(has_text="555-CALL")
    expect(errors).to_contain_text("not a phone number")
    expect(errors).to_contain_text("4")
    expect(page.get_by_role("row").filter(has_text="+14155552403")).to_be_visible()


def test_a_replace_refused_for_safety_is_said_in_words(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    listed = create_list(console_server, officer, unique("Replace me"), ["+14155552501"])
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/lists/{listed['id']}")
    page.get_by_label("File of numbers").set_input_files(
        files=[a_file("bad.txt", b"+14155552502\nnope\n", "text/plain")]
    )
    replace = "Replace the whole list with the file's numbers"
    page.get_by_label("What to do with it").select_option(label=replace)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("The list was not changed, for safety:")).to_contain_text("over 1%")
    expect(page.get_by_role("row").filter(has_text="+14155552501")).to_be_visible()


def test_a_list_named_like_html_is_shown_as_text(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    listed = create_list(console_server, officer, hostile, [])
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    expect(page.get_by_role("link", name=hostile)).to_be_visible()  # the overview's lists
    page.goto(f"{console_server.base}/console#/lists/{listed['id']}")
    expect(page.get_by_role("heading", name=hostile, level=1)).to_be_visible()
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.pwned") is None


def test_create_a_registry_copy_then_change_its_kind_and_maximum_age(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    name = unique("National DNC Registry")
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/lists")
    page.get_by_label("List name").fill(name)
    create = page.get_by_role("region", name="Create a list")
    expect(create.get_by_label("Internal (people who asked you not to call)")).to_be_checked()
    expect(create.get_by_label("Maximum age in days")).to_have_count(0)
    create.get_by_label(
        "Registry copy (e.g. the National DNC Registry; can be waived by a consent)"
    ).check()
    expect(create.get_by_label("Maximum age in days")).to_have_value("31")
    page.get_by_role("button", name="Create list").click()

    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    about = page.get_by_role("region", name="About this list")
    expect(about).to_contain_text("Registry copy")
    expect(about).to_contain_text("31 days")
    expect(about.get_by_text("Ages out in 31 days")).to_be_visible()
    list_id = page.url.rsplit("/", 1)[-1]

    change = about.get_by_role("button", name="Edit this list")
    change.click()
    edit = about.get_by_role("form", name="Edit this list")
    edit.get_by_label("Maximum age in days").fill("92")
    edit.get_by_label("Description (optional)").fill("Texas, published quarterly")
    edit.get_by_role("button", name="Save changes").click()
    expect(about.get_by_text("Saved.")).to_be_visible()
    expect(about.get_by_text("Ages out in 92 days")).to_be_visible()
    expect(about).to_contain_text("Texas, published quarterly")
    with console_server.client(officer.headers) as client:
        saved = client.get(f"/v1/dnc/lists/{list_id}").json()
    assert (saved["kind"], saved["max_age_days"]) == ("registry", 92)
    assert saved["description"] == "Texas, published quarterly"

    change.click()
    expect(edit.get_by_label("Maximum age in days")).to_have_value("92")
    edit.get_by_role("button", name="Cancel").click()
    expect(edit).to_have_count(0)
    change.click()
    edit.get_by_label("Litigator").check()
    expect(edit.get_by_label("Maximum age in days")).to_have_count(0)
    edit.get_by_role("button", name="Save changes").click()
    expect(about).to_contain_text("Litigator")
    expect(about.get_by_text("Ages out in")).to_have_count(0)
    with console_server.client(officer.headers) as client:
        saved = client.get(f"/v1/dnc/lists/{list_id}").json()
    assert (saved["kind"], saved["max_age_days"]) == ("litigator", None)

    page.get_by_role("link", name="All lists").click()
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("Litigator")
    expect(row).to_contain_text("Refreshed just now")


def _age(server: Server, list_id: str, days: int) -> None:
    """The list last refreshed `days` ago (no API moves that back: a month is not waited for)."""
    server.in_database(lambda conn: age_list(conn, list_id, timedelta(days=days))).result(30)


def test_a_stale_registry_copy_says_so_until_an_upload_refreshes_it(
    console_server: Server, watched: Watched
) -> None:
    # a tenant of its own: a stale registry copy refuses the checks of its tenant
    tenant = seed_tenant(console_server, unique("Freshness Co"), "Registry keeper")
    stale = create_list(console_server, tenant, unique("Federal registry copy"), [], "registry")
    aging = create_list(console_server, tenant, unique("Florida state list"), [], "registry")
    internal = create_list(console_server, tenant, unique("Front desk"), [], "internal")
    _age(console_server, stale["id"], 40)
    _age(console_server, aging["id"], 27)
    _age(console_server, internal["id"], 400)

    page = watched.page
    watched.sign_in(console_server.base, tenant.key)
    lists = page.get_by_role("region", name="Do-Not-Call lists")  # the overview's
    expect(lists.get_by_role("row").filter(has_text=stale["name"])).to_contain_text(
        "Stale — refresh this copy"
    )
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="DNC lists").click()
    row = page.get_by_role("row").filter(has_text=stale["name"])
    expect(row).to_contain_text("Registry copy")
    expect(row).to_contain_text("Refreshed 40 days ago")
    expect(row).to_contain_text("Stale — refresh this copy")
    expect(page.get_by_role("row").filter(has_text=aging["name"])).to_contain_text(
        "Ages out in 4 days"
    )
    front_desk = page.get_by_role("row").filter(has_text=internal["name"])
    expect(front_desk).to_contain_text("Refreshed 400 days ago")
    expect(front_desk).not_to_contain_text("Stale")
    expect(front_desk).not_to_contain_text("Ages out")

    row.get_by_role("link", name=stale["name"]).click()
    page.get_by_label("File of numbers").set_input_files(
        files=[a_file("registry.csv", b"phone\n+14155552901\n+14155552902\n")]
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_text("Upload finished")).to_contain_text("2 numbers added")
    about = page.get_by_role("region", name="About this list")
    expect(about.get_by_text("Ages out in 31 days")).to_be_visible()
    expect(about).not_to_contain_text("Stale")
