"""Opt-outs: record one and see it, opt the number back in, a bulk upload with its progress bar
and rejected rows, and the numbers opted out now."""

from __future__ import annotations

from playwright.sync_api import FilePayload, expect

from tests.console.harness import Server, Tenant, Watched


def test_record_an_opt_out_see_it_then_opt_back_in(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Opt-outs").click()
    expect(page.get_by_role("heading", name="Opt-outs", level=1)).to_be_visible()

    # a refusal is said with the API's own words and the request id to quote
    page.get_by_label("Phone number").fill("555-CALL")
    page.get_by_role("button", name="Record opt-out").click()
    refused = page.get_by_role("alert").filter(has_text="The opt-out was not recorded:")
    expect(refused).to_contain_text("Request id: req_")

    page.get_by_label("Phone number").fill("(415) 555-2601")
    page.get_by_label("Opted out of", exact=True).select_option(label="Calls only")
    page.get_by_label("How the person asked", exact=True).select_option(label="Website form")
    page.get_by_label("Note (optional)").fill("asked on the contact form")
    page.get_by_role("button", name="Record opt-out").click()
    recorded = page.get_by_role("status").filter(has_text="+14155552601 is opted out of calls")
    expect(recorded).to_be_visible()

    # the number's state and history, opened by the recording
    expect(page.get_by_role("heading", name="+14155552601", level=3)).to_be_visible()
    state = page.get_by_role("list").filter(has_text="Calls:")
    expect(state).to_contain_text("Calls: Opted out")
    expect(state).to_contain_text("Texts: may be contacted")
    event = page.get_by_role("row").filter(has_text="asked on the contact form")
    expect(event).to_contain_text("Opted out")
    expect(event).to_contain_text("website")
    listed = page.get_by_role("region", name="Numbers opted out now")
    expect(listed.get_by_role("link", name="+14155552601")).to_be_visible()

    page.get_by_label("The person gave consent again for").select_option(label="Calls only")
    page.get_by_role("button", name="Opt back in").click()
    expect(state).to_contain_text("Calls: may be contacted")
    expect(page.get_by_role("row").filter(has_text="Opted in again")).to_contain_text("calls")
    expect(page.get_by_role("button", name="Opt back in")).to_have_count(0)
    expect(listed.get_by_role("link", name="+14155552601")).to_have_count(0)

    # looking a number up by hand reaches the same view
    page.get_by_label("Look up a number").fill("415.555.2601")
    page.get_by_role("button", name="Look up").click()
    expect(page).to_have_url(f"{console_server.base}/console#/optouts/%2B14155552601")


def test_a_bulk_upload_shows_progress_and_rejected_rows(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/optouts")
    body = "phone,name\n+14155552611,Ann\n(415) 555-2612,Bo\n555-CALL,front desk\n415.555.2613,Cy\n"
    stop = FilePayload(name="stop.csv", mimeType="text/csv", buffer=body.encode())
    page.get_by_label("File of numbers").set_input_files(files=[stop])
    page.get_by_label("How these people asked").select_option(label="Reply STOP to a text")
    page.get_by_role("button", name="Upload opt-outs").click()
    expect(page.get_by_text("Upload finished")).to_contain_text("3 numbers newly opted out")
    expect(page.get_by_text("Upload succeeded")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "1")
    rejected = page.get_by_role("row").filter(has_text="555-CALL")
    expect(rejected).to_contain_text("not a phone number")
    listed = page.get_by_role("region", name="Numbers opted out now")
    expect(listed.get_by_role("link", name="+14155552613")).to_be_visible()
    listed.get_by_role("link", name="+14155552612").click()
    expect(page.get_by_role("row").filter(has_text="STOP reply")).to_contain_text("Opted out")


def test_a_note_written_like_html_is_shown_as_text(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    with console_server.client(officer.headers) as client:
        made = client.post("/v1/opt-outs", json={"phone": "+14155552621", "note": hostile})
        assert made.status_code == 201, made.text
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/optouts/+14155552621")
    expect(page.get_by_role("cell", name=hostile)).to_be_visible()
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.pwned") is None
