"""`make screenshots`: every console page at 1280x800, from a demo tenant seeded through the API
on a `callguard serve` of its own (an embedded PostgreSQL in a temporary directory), written as
PNG files to the directory given (docs/console). `--phone` takes each whole page at 390 wide
instead, to look at (`python -m tests.console.screenshots /tmp/phone --phone`)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from playwright.sync_api import FloatRect, Page, expect, sync_playwright

from tests.console.harness import (
    DESKTOP,
    GET_CHROMIUM,
    PHONE,
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


CAMPAIGN = (
    "phone,name\n"
    + "".join(f"+1415555{3200 + n},prospect {n}\n" for n in range(30))
    + f"{BLOCKED},opted out and listed\n+13125550282,on the company's list\n"
    + "+16175550293,on the company's list\n+17135550264,on the company's list\n"
    + "+12025550243,on the registry\n+15035550277,on the registry\n555-CALL,front desk\n"
)
HOOK = "https://dialer.northwind.example/hooks/callguard"  # .example: its deliveries fail

CONSENTED = "+16465550288"  # on the registry copy, with a signed consent
CAPPED = "+13055550307"  # Florida: called three times in the hours before AT


def seed(server: Server) -> tuple[Tenant, dict[str, str]]:
    tenant = seed_tenant(server, "Northwind Lending", "Maria Lopez (compliance)")
    requests = create_list(
        server,
        tenant,
        "Customer do-not-call requests",
        [BLOCKED, "+13125550282", "+16175550293", "+17135550264"],
    )
    create_list(server, tenant, "Known litigators", ["+13055550211", "+14045550222"], "litigator")
    registry = create_list(
        server,
        tenant,
        "National DNC Registry (FTC copy)",
        [BLOCKED, CONSENTED, "+12025550243", "+15035550277"],
        "registry",
    )
    with server.client(tenant.headers) as client:
        texas = client.post(
            "/v1/dnc/lists",
            json={
                "name": "Texas no-call list",
                "kind": "registry",
                "max_age_days": 92,
                "description": "Published quarterly by the Texas PUC",
            },
        )
        assert texas.status_code == 201, texas.text
        client.post("/v1/opt-outs", json={"phone": BLOCKED, "channel": "sms", "source": "sms_stop"})
        consents = [
            (CONSENTED, "express_written_consent", "2026-10-14T16:20:00Z", "e-signed form 4410"),
            ("+13125550282", "ebr_transaction", "2026-08-03T18:00:00Z", "order 10-5521"),
            ("+17135550264", "ebr_inquiry", "2026-11-20T15:45:00Z", "https://crm.example.com/l/88"),
            ("+16175550293", "ebr_inquiry", "2026-05-02T13:00:00Z", "quote request"),
        ]
        made = {}
        for phone, basis, obtained, evidence in consents:
            body = {"phone": phone, "basis": basis, "obtained_at": obtained, "evidence": evidence}
            answer = client.post("/v1/consents", json={**body, "source": "web form"})
            assert answer.status_code == 201, answer.text
            made[phone] = answer.json()["id"]
        client.delete(f"/v1/consents/{made['+13125550282']}")
        attempts = [
            {"phone": CAPPED, "at": f"2026-12-02T{hour}:00:00Z", "disposition": ended}
            for hour, ended in (("14", "no_answer"), ("16", "voicemail"), ("18", "busy"))
        ]
        reported = client.post("/v1/attempts", json={"items": attempts})
        assert reported.status_code == 201, reported.text
    for n in range(24):
        check(server, tenant, f"+1415555{3100 + n}", AT)
    for phone in (BLOCKED, "+13125550282", "+16175550293", CONSENTED):
        check(server, tenant, phone, AT)
    check(server, tenant, "+14155550150", AT)  # fictional: an invalid number
    return tenant, {
        "requests": requests["id"],
        "registry": registry["id"],
        "consent": made[CONSENTED],
    }


def shoot(page: Page, out: Path, name: str, full: bool = False, phone: bool = False) -> None:
    """The window (or the `full` page) as `name`.png; on a phone, the page's first 4,500
    pixels in slices of 1,500 (name-1.png, …), each small enough to read."""
    page.wait_for_timeout(300)
    if not phone:
        page.screenshot(path=str(out / f"{name}.png"), full_page=full)
        print(f"screenshots: {out / name}.png")
        return
    height: int = page.evaluate("document.documentElement.scrollHeight")
    for n, top in enumerate(range(0, min(height, 4500), 1500), start=1):
        clip = FloatRect(x=0, y=top, width=PHONE["width"], height=min(1500, height - top))
        page.screenshot(path=str(out / f"{name}-{n}.png"), full_page=True, clip=clip)
        print(f"screenshots: {out / name}-{n}.png")


def main(out: Path, phone: bool = False) -> int:
    """Each page at 1280x800 into `out`; with `phone`, each page at 390 wide instead, in
    slices (to look at, not committed)."""
    executable = chromium_path()
    if executable is None:
        print(f"screenshots: {GET_CHROMIUM}", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    with serve(None) as server, sync_playwright() as playwright:
        tenant, ids = seed(server)
        browser = launch(playwright, executable)
        context = browser.new_context(viewport=PHONE if phone else DESKTOP, timezone_id="UTC")
        watched = Watched(context.new_page())
        page = watched.page

        def at(route: str) -> None:
            page.goto(f"{server.base}/console#/{route}")

        page.goto(f"{server.base}/console")
        expect(page.get_by_label("API key")).to_be_visible()
        shoot(page, out, "sign-in", phone=phone)
        watched.sign_in(server.base, tenant.key)
        expect(page.get_by_role("img", name="Chart of checks per hour by outcome")).to_be_visible()
        shoot(page, out, "overview", phone=phone)

        at(f"lookup/{BLOCKED}")
        expect(page.get_by_role("region", name="History")).to_be_visible()
        shoot(page, out, "lookup", phone=phone)

        at(f"lookup/{CONSENTED}")
        page.get_by_label("For a call at (optional; empty: now)").fill("2026-12-09T19:00")
        page.get_by_role("button", name=re.compile(r"^Check now")).click()
        expect(page.get_by_text("A consent waived the registry copy")).to_be_visible()
        shoot(page, out, "lookup-consent", True, phone)  # the whole page: the verdict and the check

        at(f"lookup/{CAPPED}")
        expect(page.get_by_role("region", name="Recent call attempts")).to_be_visible()
        page.get_by_label("For a call at (optional; empty: now)").fill("2026-12-02T20:00")
        page.get_by_role("button", name=re.compile(r"^Check now")).click()
        expect(page.get_by_text("this number was called too often")).to_be_visible()
        shoot(page, out, "lookup-cap", True, phone)  # the whole page: the attempts and the check

        at("lists")
        expect(page.get_by_role("heading", name="Create a list")).to_be_visible()
        shoot(page, out, "lists", phone=phone)

        at(f"lists/{ids['registry']}")
        page.get_by_label("File of numbers").set_input_files(
            files=[a_file("registry.csv", UPLOAD.encode())]
        )
        page.get_by_role("button", name="Upload", exact=True).click()
        expect(page.get_by_text("Upload finished")).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, out, "list", phone=phone)

        at(f"optouts/{BLOCKED}")
        expect(page.get_by_role("row").filter(has_text="STOP reply")).to_be_visible()
        shoot(page, out, "optouts", phone=phone)

        at(f"consents/{ids['consent']}")
        expect(page.get_by_text("e-signed form 4410")).to_be_visible()
        shoot(page, out, "consents", phone=phone)

        at("audit")
        page.get_by_role("button", name="Verify the chain").click()
        expect(page.get_by_text("The audit trail is intact")).to_be_visible()
        blocked = page.get_by_role("row").filter(has_text="On a Do-Not-Call list")
        blocked.get_by_role("button", name="Details").first.click()
        expect(page.get_by_text("Details recorded with the decision")).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, out, "audit", phone=phone)

        at("rules")
        expect(page.get_by_role("button", name="Save calling policy")).to_be_visible()
        page.get_by_role("button", name="Add a limit").click()  # a limit of the company's own
        if not phone:  # the end of the policy editor: its dates and the stale-registry choice
            stale = page.get_by_role("group", name="When a registry copy is stale")
            stale.evaluate("e => e.scrollIntoView({block: 'center'})")
        shoot(page, out, "rules", phone=phone)
        caps = page.get_by_role("region", name="How often a number may be called, set by law")
        caps.evaluate("e => e.scrollIntoView({block: 'center'})")
        shoot(page, out, "rules-caps", phone=phone)

        at("keys")
        expect(page.get_by_role("heading", name="Create a key")).to_be_visible()
        shoot(page, out, "keys", phone=phone)

        at("scrubs")
        page.get_by_label(
            "Campaign file (CSV with a phone column, or one number per line)"
        ).set_input_files(files=[a_file("campaign-december.csv", CAMPAIGN.encode())])
        page.get_by_label("Calls planned for (optional; empty: now)").fill("2026-12-02T20:00")
        page.get_by_role("button", name="Scrub the file").click()
        expect(page.get_by_text("Scrub finished")).to_be_visible()
        expect(page.get_by_role("region", name="Recent scrubs")).to_contain_text("Finished")
        shoot(page, out, "scrubs", True, phone)  # the whole page: the summary and the files

        at("webhooks")
        page.get_by_label("Address to send messages to (URL)").fill(HOOK)
        page.get_by_label("Description (optional)").fill("Dialer fleet: stop calling at once")
        page.get_by_label("Someone opted out").check()
        page.get_by_label("A consent or customer relationship was revoked").check()
        page.get_by_role("button", name="Add webhook").click()
        expect(page.get_by_role("region", name="The new webhook's secret")).to_be_visible()
        page.evaluate("window.scrollTo(0, 0)")
        shoot(page, out, "webhooks", phone=phone)
        page.get_by_role("button", name="I have copied it").click()
        page.get_by_role("button", name=f"Send a test to {HOOK}").click()
        deliveries = page.get_by_role("region", name=f"Deliveries to {HOOK}")
        expect(deliveries).to_contain_text("does not resolve", timeout=15_000)
        expect(page.get_by_role("row").filter(has_text=HOOK)).to_contain_text("Failing since")
        page.evaluate("window.scrollTo(0, 0)")
        shoot(
            page, out, "webhooks-deliveries", True, phone
        )  # the whole page: the list and its deliveries
        browser.close()
        if watched.problems:
            print("screenshots: the console reported problems:", *watched.problems, sep="\n  ")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(
        main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/console"), "--phone" in sys.argv)
    )
