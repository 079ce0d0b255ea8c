"""Scrubs: a campaign file uploaded with its progress bar, its summary as bars (may be called,
blocked by reason, not valid), a result file downloaded (its content checked), the scrub found
again among the recent ones; the page offered only to keys that may place checks."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import expect

from tests.console.harness import (
    Server,
    Watched,
    a_file,
    create_list,
    seed_tenant,
    unique,
)

LISTED = "+14155553501"
OPTED_OUT = "+14155553502"
ALLOWED = "+14155553503"
CAMPAIGN = f"phone,name\n{ALLOWED},Ada\n{LISTED},Ben\n{OPTED_OUT},Cy\n555-CALL,front desk\n"


def test_scrub_a_campaign_file_see_the_summary_and_download_the_callable_rows(
    console_server: Server, watched: Watched
) -> None:
    dialer = seed_tenant(console_server, unique("Campaign Co"), "Compliance officer")
    create_list(console_server, dialer, "Customer requests", [LISTED])
    with console_server.client(dialer.headers) as client:
        made = client.post("/v1/opt-outs", json={"phone": OPTED_OUT, "source": "agent"})
        assert made.status_code == 201, made.text
    page = watched.page
    watched.sign_in(console_server.base, dialer.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Scrubs").click()
    expect(page.get_by_role("heading", name="Campaign scrubs", level=1)).to_be_visible()
    expect(page.get_by_text("No file was scrubbed yet.")).to_be_visible()

    page.get_by_label(
        "Campaign file (CSV with a phone column, or one number per line)"
    ).set_input_files(files=[a_file("campaign.csv", CAMPAIGN.encode())])
    # a Wednesday, noon in California: within calling hours
    page.get_by_label("Calls planned for (optional; empty: now)").fill("2026-12-02T20:00")
    page.get_by_role("button", name="Scrub the file").click()
    expect(page.get_by_text("Scrub finished")).to_contain_text("4 rows decided")
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "1")
    summary = page.get_by_role("group", name="What the scrub decided")
    expect(summary).to_contain_text("4 rows decided as checks at Dec 2, 2026, 08:00 PM")
    bars = summary.get_by_role("listitem")
    expect(bars.filter(has_text="May be called")).to_contain_text("1 (25%)")
    expect(bars.filter(has_text=re.compile(r"^Blocked"))).to_contain_text("2 (50%)")
    expect(bars.filter(has_text="On a Do-Not-Call list")).to_contain_text("1 (25%)")
    expect(bars.filter(has_text="Opted out")).to_contain_text("1 (25%)")
    expect(bars.filter(has_text="Not a valid number")).to_contain_text("1 (25%)")

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download the numbers that may be called").first.click()
    download = caught.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [(r["phone"], r["name"], r["callguard_result"]) for r in rows] == [
        (ALLOWED, "Ada", "ok")
    ]
    expect(page.get_by_text("The file of the numbers that may be called")).to_contain_text(
        "was downloaded"
    )

    with page.expect_download() as caught:
        page.get_by_role("button", name="Download the blocked numbers").first.click()
    blocked = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text())))
    assert {r["phone"]: r["callguard_result"] for r in blocked} == {
        LISTED: "dnc_blocked",
        OPTED_OUT: "opted_out",
    }

    # found again among the recent scrubs, with its summary and files
    recent = page.get_by_role("region", name="Recent scrubs")
    row = recent.get_by_role("row").filter(has_text="Finished")
    expect(row).to_contain_text("1 may be called, 2 blocked, 1 not valid")
    row.get_by_role("link", name=re.compile(r"^The scrub started")).click()
    details = page.get_by_role("region", name=re.compile(r"^Scrub started "))
    expect(details).to_contain_text("Finished")
    expect(details).to_contain_text("Calls")
    expect(details.get_by_role("group", name="What the scrub decided")).to_contain_text("1 (25%)")
    expect(details.get_by_role("button", name="Download every row")).to_be_visible()


def test_scrubs_are_offered_only_to_keys_that_may_place_checks(
    console_server: Server, watched: Watched
) -> None:
    reader = seed_tenant(console_server, unique("Readers"), "Auditor", ["audit:read", "dnc:read"])
    page = watched.page
    watched.sign_in(console_server.base, reader.key)
    nav = page.get_by_role("navigation", name="Pages")
    expect(nav.get_by_role("link", name="Audit")).to_be_visible()
    expect(nav.get_by_role("link", name="Scrubs")).to_have_count(0)
    page.goto(f"{console_server.base}/console#/scrubs")
    expect(page.get_by_role("heading", name="Campaign scrubs")).to_have_count(0)
