"""Consents: record one (with its default expiry said in words), find it, see its details,
revoke it after a confirmation, a bulk upload with its progress bar and rejected rows, the page
offered by the key's scopes, and evidence written like HTML kept inert."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.console.harness import (
    TENANT_SCOPES,
    Server,
    Tenant,
    Watched,
    a_file,
    add_key,
    seed_tenant,
    unique,
)


def test_record_a_consent_find_it_and_revoke_it_after_a_confirmation(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Consents").click()
    expect(page.get_by_role("heading", name="Consents", level=1)).to_be_visible()
    record = page.get_by_role("region", name="Record a consent")
    help_text = record.get_by_text("Leave it empty")

    # the default expiry, said for the basis chosen and, once the number is whole, its country
    expect(help_text).to_contain_text("lasts until it is revoked")
    record.get_by_label("Inquiry or application").check()
    expect(help_text).to_contain_text("3 months after it was obtained (6 months for a Canadian")
    record.get_by_label("Phone number").fill("(415) 555-3001")
    expect(help_text).to_contain_text("3 months after it was obtained (")
    expect(help_text).to_contain_text("as this is a US number")
    record.get_by_label("Phone number").fill("(416) 555-3001")  # Toronto
    expect(help_text).to_contain_text("6 months after it was obtained")
    expect(help_text).to_contain_text("as this is a Canadian number")

    # a refusal in the API's words, with the request id to quote
    record.get_by_label("Phone number").fill("(415) 555-3001")
    record.get_by_label("Obtained at").fill("2026-11-02T10:30")
    record.get_by_label("Ends at (optional)").fill("2026-11-01T10:30")
    record.get_by_role("button", name="Record consent").click()
    refused = page.get_by_role("alert").filter(has_text="The consent was not recorded:")
    expect(refused).to_contain_text("Request id: req_")

    record.get_by_label("Ends at (optional)").fill("")
    record.get_by_label("It covers").select_option(label="Calls only")
    record.get_by_label("Where it was obtained (optional)").fill("web form")
    record.get_by_label("Evidence (optional)").fill("https://crm.example.com/leads/8812")
    record.get_by_role("button", name="Record consent").click()
    done = record.get_by_role("status")
    expect(done).to_contain_text("Consent recorded for +14155553001: Inquiry or application")
    expect(done).to_contain_text("in force until Feb 2, 2027")

    # its details, opened by the recording
    details = page.get_by_role("region", name="Consent for +14155553001")
    expect(details).to_contain_text("Inquiry or application")
    expect(details).to_contain_text("calls")
    expect(details).to_contain_text("Nov 2, 2026")
    expect(details).to_contain_text("Feb 2, 2027")
    expect(details).to_contain_text("web form")
    expect(details).to_contain_text("https://crm.example.com/leads/8812")
    consent_id = page.url.rsplit("/", 1)[-1]

    details.get_by_role("button", name="Revoke this consent").click()
    confirm = details.get_by_role("group", name="Confirm the revocation")
    expect(confirm).to_contain_text("It stays in the history, marked as revoked.")
    confirm.get_by_role("button", name="Keep it").click()
    expect(details).to_contain_text("In force")
    details.get_by_role("button", name="Revoke this consent").click()
    details.get_by_role("button", name="Yes, revoke it").click()
    expect(details).to_contain_text("Revoked")
    expect(details.get_by_role("button", name="Revoke this consent")).to_have_count(0)
    with console_server.client(officer.headers) as client:
        kept = client.get(f"/v1/consents/{consent_id}").json()
    assert kept["revoked_at"] is not None
    assert kept["active"] is False

    # found again: not among the consents in force, but among all of them
    find = page.get_by_role("form", name="Find consents")
    find.get_by_label("Phone number").fill("415.555.3001")
    find.get_by_role("button", name="Find").click()
    found = page.get_by_role("region", name="Find consents")
    expect(found.get_by_text("No consent matches.")).to_be_visible()
    find.get_by_label("Show").select_option(label="All, also revoked or expired")
    find.get_by_role("button", name="Find").click()
    row = found.get_by_role("row").filter(has_text="+14155553001")
    expect(row).to_contain_text("Inquiry or application")
    expect(row).to_contain_text("Revoked")


def test_a_bulk_upload_shows_progress_and_rejected_rows(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/consents")
    body = (
        "phone,basis,obtained_at,expires_at,channel,evidence\n"
        "+14155553101,express_written_consent,2026-10-01T12:00:00Z,,all,signed form 17\n"
        "+14155553102,ebr_transaction,2026-09-15T12:00:00Z,,voice,order 5521\n"
        "+14155553103,ebr_purchase,2026-09-15T12:00:00Z,,all,\n"
        "+14155553104,ebr_inquiry,2026-11-20T12:00:00Z,2026-11-10T12:00:00Z,all,\n"
    )
    page.get_by_label("CSV file of consents").set_input_files(
        files=[a_file("consents.csv", body.encode())]
    )
    page.get_by_role("button", name="Upload consents").click()
    expect(page.get_by_text("Upload finished")).to_contain_text("2 consents recorded")
    expect(page.get_by_text("Upload succeeded")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "1")
    unknown = page.get_by_role("row").filter(has_text="ebr_purchase")
    expect(unknown).to_contain_text("not a basis callguard knows")
    expect(unknown).to_contain_text("4")
    backwards = page.get_by_role("row").filter(has=page.get_by_role("cell", name="5", exact=True))
    expect(backwards).to_contain_text("expires_at is not after obtained_at")

    found = page.get_by_role("region", name="Find consents")
    row = found.get_by_role("row").filter(has_text="+14155553102")
    expect(row).to_contain_text("Customer (purchase or payment)")
    expect(row).to_contain_text("Mar 15, 2028")  # 18 calendar months after the purchase
    row.get_by_role("link", name=re.compile(r"^Consent for \+14155553102")).click()
    expect(page.get_by_role("region", name="Consent for +14155553102")).to_contain_text(
        "order 5521"
    )


def test_consents_are_offered_only_to_keys_that_may_read_or_write_them(
    console_server: Server, watched: Watched
) -> None:
    without = [s for s in TENANT_SCOPES if s not in ("consents:read", "consents:write")]
    blind = seed_tenant(console_server, unique("No Consents Co"), "Lists only", without)
    page = watched.page
    watched.sign_in(console_server.base, blind.key)
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="DNC lists")).to_be_visible()
    expect(nav.get_by_role("link", name="Consents")).to_have_count(0)
    page.get_by_role("button", name="Sign out").click()

    writer = seed_tenant(console_server, unique("Auditor Co"), "Compliance officer")
    with console_server.client(writer.headers) as client:
        made = client.post(
            "/v1/consents",
            json={
                "phone": "+14155553301",
                "basis": "ebr_transaction",
                "obtained_at": "2026-11-01T12:00:00Z",
            },
        )
        assert made.status_code == 201, made.text
    auditor = add_key(console_server, writer, "Auditor", ["consents:read"])
    watched.sign_in(console_server.base, auditor.key)
    expect(nav.get_by_role("link", name="Consents")).to_be_visible()
    nav.get_by_role("link", name="Consents").click()
    row = page.get_by_role("row").filter(has_text="+14155553301")
    expect(row).to_contain_text("Customer (purchase or payment)")
    expect(page.get_by_role("heading", name="Record a consent")).to_have_count(0)
    expect(page.get_by_role("heading", name="Upload consents from a file")).to_have_count(0)
    row.get_by_role("link", name=re.compile(r"^Consent for \+14155553301")).click()
    details = page.get_by_role("region", name="Consent for +14155553301")
    expect(details).to_contain_text("In force")
    expect(details.get_by_role("button", name="Revoke this consent")).to_have_count(0)


def test_evidence_written_like_html_is_shown_as_text(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    hostile = '<img src=x onerror="window.pwned=1">'
    with console_server.client(officer.headers) as client:
        made = client.post(
            "/v1/consents",
            json={
                "phone": "+14155553201",
                "basis": "express_written_consent",
                "obtained_at": "2026-11-01T12:00:00Z",
                "evidence": hostile,
            },
        )
        assert made.status_code == 201, made.text
    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.goto(f"{console_server.base}/console#/consents/{made.json()['id']}")
    details = page.get_by_role("region", name="Consent for +14155553201")
    expect(details.get_by_text(hostile)).to_be_visible()
    assert page.locator("main img").count() == 0
    assert page.evaluate("window.pwned") is None
