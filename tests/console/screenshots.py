"""`make screenshots`: every console page at 1280x800, from a demo tenant seeded through the API
on a `callguard serve` of its own (an embedded PostgreSQL in a temporary directory), written as
PNG files to the directory given (docs/console)."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from tests.console.harness import (
    DESKTOP,
    GET_CHROMIUM,
    Server,
    Tenant,
    Watched,
    a_file,
    check,
    chromium_path,
    create_list,
    launch,
    seed_tenant,
    serve,
)

AT = "2026-12-02T20:00:00Z"  # a Wednesday, noon in California
BLOCKED = "+12125550247"
UPLOAD = (
    "phone,name\n"
    + "".join(f"+1415555{3000 + n},customer {n}\n" for n in range(40))
    + "555-CALL,front desk\n(415) 555-01,typo\n"
)


def seed(server: Server) -> tuple[Tenant, dict[str, str]]:
    tenant = seed_tenant(server, "Northwind Lending", "Maria Lopez (compliance)")
    requests = create_list(
        server,
        tenant,
        "Customer do-not-call requests",
        [BLOCKED, "+13125550282", "+16175550293", "+17135550264"],
    )
    create_list(server, tenant, "Known litigators", ["+13055550211", "+14045550222"])
    with server.client(tenant.headers) as client:
        client.post("/v1/opt-outs", json={"phone": BLOCKED, "channel": "sms", "source": "sms_stop"})
    for n in range(24):
        check(server, tenant, f"+1415555{3100 + n}", AT)
    for phone in (BLOCKED, "+13125550282", "+16175550293"):
        check(server, tenant, phone, AT)
    check(server, tenant, "+14155550150", AT)  # fictional: an invalid number
    return tenant, {"requests": requests["id"]}


def shoot(page: Page, out: Path, name: str) -> None:
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"screenshots: {out / name}.png")


def main(out: Path) -> int:
    executable = chromium_path()
    if executable is None:
        print(f"screenshots: {GET_CHROMIUM}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with serve(None) as server, sync_playwright() as playwright:
        tenant, lists = seed(server)
        browser = launch(playwright, executable)
        context = browser.new_context(viewport=DESKTOP)
        watched = Watched(context.new_page())
        page = watched.page
        page.goto(f"{server.base}/console")
        expect(page.get_by_label("API key")).to_be_visible()
        shoot(page, out, "sign-in")
        watched.sign_in(server.base, tenant.key)
        expect(page.get_by_role("img", name="Chart of checks per hour by outcome")).to_be_visible()
        shoot(page, out, "overview")

        page.goto(f"{server.base}/console#/lookup/{BLOCKED}")
        expect(page.get_by_role("region", name="History")).to_be_visible()
        shoot(page, out, "lookup")

        page.goto(f"{server.base}/console#/lists")
        expect(page.get_by_role("heading", name="Create a list")).to_be_visible()
        shoot(page, out, "lists")

        page.goto(f"{server.base}/console#/lists/{lists['requests']}")
        page.get_by_label("File of numbers").set_input_files(
            files=[a_file("requests.csv", UPLOAD.encode())]
        )
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_text("Upload finished")).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, out, "list")

        page.goto(f"{server.base}/console#/optouts/{BLOCKED}")
        expect(page.get_by_role("row").filter(has_text="STOP reply")).to_be_visible()
        shoot(page, out, "optouts")

        page.goto(f"{server.base}/console#/audit")
        page.get_by_role("button", name="Verify the chain").click()
        expect(page.get_by_text("The audit trail is intact")).to_be_visible()
        blocked = page.get_by_role("row").filter(has_text="On a Do-Not-Call list")
        blocked.get_by_role("button", name="Details").first.click()
        expect(page.get_by_text("Details recorded with the decision")).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, out, "audit")

        page.goto(f"{server.base}/console#/rules")
        expect(page.get_by_role("button", name="Save calling policy")).to_be_visible()
        shoot(page, out, "rules")

        page.goto(f"{server.base}/console#/keys")
        expect(page.get_by_role("heading", name="Create a key")).to_be_visible()
        shoot(page, out, "keys")
        browser.close()
        if watched.problems:
            print("screenshots: the console reported problems:", *watched.problems, sep="\n  ")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console")))
