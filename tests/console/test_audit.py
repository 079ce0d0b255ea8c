"""Audit: filter the decisions, download the filter as CSV (its content checked), open one
decision's full record, verify the chain, and see the changes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import expect

from tests.console.harness import Server, Tenant, Watched, check

AT = "2026-12-02T20:00:00Z"  # a Wednesday, noon in California
OPTED_OUT = "+14155552701"
ALLOWED = "+14155552702"


def test_filter_download_the_csv_open_a_decision_and_verify_the_chain(
    console_server: Server, officer: Tenant, watched: Watched
) -> None:
    with console_server.client(officer.headers) as client:
        made = client.post("/v1/opt-outs", json={"phone": OPTED_OUT, "source": "agent"})
        assert made.status_code == 201, made.text
        me = client.get("/v1/me").json()
    assert check(console_server, officer, OPTED_OUT, AT) == 422
    assert check(console_server, officer, ALLOWED, AT) == 200

    page = watched.page
    watched.sign_in(console_server.base, officer.key)
    page.get_by_role("navigation", name="Pages").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()

    filters = page.get_by_role("form", name="Filter decisions")
    filters.get_by_label("Reason").select_option(label="Opted out")
    filters.get_by_label("Phone number").fill("(415) 555-2701")
    key = f"{officer.key_name} ({me['prefix']}\u2026)"
    filters.get_by_label("API key").select_option(label=key)
    filters.get_by_role("button", name="Apply filters").click()
    decisions = page.get_by_role("region", name="Decisions")
    row = decisions.get_by_role("row").filter(has_text=OPTED_OUT)
    expect(row).to_contain_text("Blocked")
    expect(row).to_contain_text("Opted out")
    expect(decisions.get_by_role("row")).to_have_count(2)  # the header and the one decision

    with page.expect_download() as caught:
        filters.get_by_role("button", name="Download CSV").click()
    download = caught.value
    assert download.suggested_filename == "callguard-audit.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert [(r["phone"], r["outcome"], r["error"]) for r in rows] == [
        (OPTED_OUT, "blocked", "opted_out")
    ]
    expect(page.get_by_text("The CSV file")).to_contain_text("was downloaded")

    row.get_by_role("button", name="Details").click()
    record = page.get_by_role("region", name=f"Decision {rows[0]['check_id']}")
    expect(record).to_contain_text("Blocked — Opted out")
    expect(record).to_contain_text(rows[0]["request_id"])
    expect(record).to_contain_text("violations")
    record.get_by_role("button", name="Close").click()
    expect(record).to_have_count(0)

    filters.get_by_role("button", name="Clear").click()
    expect(decisions.get_by_role("row").filter(has_text=ALLOWED)).to_contain_text("Allowed")

    page.get_by_role("button", name="Verify the chain").click()
    expect(page.get_by_text("The audit trail is intact")).to_be_visible()

    changes = page.get_by_role("region", name="Changes")
    changes.get_by_label("Show").select_option(label="Opt-out recorded")
    change = changes.get_by_role("row").filter(has_text=OPTED_OUT)
    expect(change).to_contain_text("Opt-out recorded")
