"""DNC lists: create, add, find and remove a number, upload a file, a hostile name kept inert."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.console.harness import Server, Tenant, Watched, a_file, create_list, unique


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
