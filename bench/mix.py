"""Single checks as a dialer sends them (issue 22): a different valid number every request,
over hundreds of area codes in several time zones, 90% allowed, 5% on the list, 3% opted out by the
tenant, 2% outside calling hours, against the same instant. The numbers, the tenant's opt-outs
(loaded straight into the tables by COPY) and the wrk script that walks them."""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from harness import us_npas

from app.rules.data import load_jurisdictions

# a Monday: 10:30 in New York, 09:30 in Chicago (in hours everywhere there); 07:30 in Los
# Angeles (before 8:00: outside calling hours)
AT = "2026-11-23T15:30:00Z"
INSIDE_ZONES = frozenset({"America/New_York", "America/Chicago"})
OUTSIDE_ZONES = frozenset({"America/Los_Angeles"})
SHARES = {"allowed": 90, "listed": 5, "opted_out": 3, "outside_hours": 2}  # per 100 requests
# the answers each share must get: a listed number may hold one of the tenant's consents (then
# it is allowed, with its exemption)
EXPECTED = {
    "allowed": {"ok"},
    "listed": {"dnc_blocked", "ok, exempt"},
    "opted_out": {"opted_out"},
    "outside_hours": {"call_hours_violation"},
}


def npas(zones: frozenset[str], in_hours: bool) -> list[str]:
    """US area codes whose every zone is one of these, and which are (or are not) inside the
    federal and their state's calling windows at AT in each of their zones (Kentucky's, from
    10:00, is not at 09:30 in its Central half)."""
    laws = load_jurisdictions()
    at = datetime.fromisoformat(AT.replace("Z", "+00:00"))

    def allowed(zone: str, region: str | None) -> bool:
        local = at.astimezone(ZoneInfo(zone))
        for law in (laws.get("US"), laws.get(f"US-{region}")):
            window = law.windows[local.weekday()] if law is not None else None
            if law is not None and (
                window is None or not window.start <= local.time() < window.end
            ):
                return False
        return True

    return sorted(
        npa
        for npa, code in us_npas(zones).items()
        if all(allowed(zone, code.region) for zone in code.time_zones) == in_hours
    )


def pick(on_list: list[int], off_list: list[int], size: int) -> dict[str, list[int]]:
    """`size` distinct numbers in SHARES: listed ones from the list, the others off it, each in
    the area codes of its share; `opted_out` are to be opted out by the tenant."""
    inside = {int(n) for n in npas(INSIDE_ZONES, in_hours=True)}
    outside = {int(n) for n in npas(OUTSIDE_ZONES, in_hours=False)}
    rng = random.Random(22)
    off_inside = [n for n in off_list if n // 10_000_000 in inside]
    off_outside = [n for n in off_list if n // 10_000_000 in outside]
    listed = [n for n in on_list[: size * 40] if n // 10_000_000 in inside]
    want = {share: size * part // 100 for share, part in SHARES.items()}
    clean = rng.sample(off_inside, want["allowed"] + want["opted_out"])
    picked = {
        "allowed": clean[: want["allowed"]],
        "opted_out": clean[want["allowed"] :],
        "listed": rng.sample(listed, want["listed"]),
        "outside_hours": rng.sample(off_outside, want["outside_hours"]),
    }
    for share, numbers in picked.items():
        if len(numbers) < want[share]:
            raise RuntimeError(f"too few numbers for {share}: make the list bigger")
    return picked


def write_numbers(path: Path, picked: dict[str, list[int]]) -> Path:
    """The numbers in a random order, one a line, for the wrk script."""
    numbers = [n for share in picked.values() for n in share]
    random.Random(23).shuffle(numbers)
    path.write_text("".join(f"{n}\n" for n in numbers))
    return path


async def load_optouts(dsn: str, numbers: list[int], count: int) -> None:
    """`count` voice opt-outs of the bench tenant: `numbers` first (the ones checks will ask
    about), then others of their area codes; events and state, as the API would leave them."""
    conn = await asyncpg.connect(dsn)
    try:
        tenant = await conn.fetchval("SELECT id FROM tenants LIMIT 1")
        rng = random.Random(31)
        chosen = set(numbers)
        prefixes = sorted({n // 10_000 for n in numbers})
        while len(chosen) < count:
            chosen.add(rng.choice(prefixes) * 10_000 + rng.randrange(10_000))
        at = datetime.fromisoformat("2026-10-01T12:00:00+00:00")
        rows = sorted(chosen)
        await conn.copy_records_to_table(
            "optout_events",
            records=(
                (f"opt_bench{k:010d}", tenant, n, "voice", "opt_out", "api", at)
                for k, n in enumerate(rows)
            ),
            columns=["id", "tenant_id", "number", "channel", "kind", "source", "occurred_at"],
        )
        await conn.copy_records_to_table(
            "optout_state",
            records=(
                (tenant, n, True, at, f"opt_bench{k:010d}", "voice", "api")
                for k, n in enumerate(rows)
            ),
            columns=[
                "tenant_id",
                "number",
                "voice_out",
                "voice_at",
                "voice_event_id",
                "voice_channel",
                "voice_source",
            ],
        )
        await conn.execute("VACUUM ANALYZE optout_state")
        await conn.execute("VACUUM ANALYZE optout_events")
        print(f"{len(rows):,} opt-outs of the bench tenant loaded")
    finally:
        await conn.close()


def wrk_script(path: Path, token: str, numbers: Path, reserve: bool) -> Path:
    """Each request checks the next number of the file (each wrk thread from its own place in
    it, so no number is asked twice in a run of fewer requests than the file has)."""
    script = path / "mix.lua"
    reserving = ',"reserve":true' if reserve else ""
    body = '\'{"to":"+1\' .. n .. \'","at":"' + AT + '"' + reserving
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        "local threads = 0\n"
        "function setup(thread)\n"
        '  thread:set("offset", threads * 100003)\n'
        "  threads = threads + 1\n"
        "end\n"
        "local numbers = {}\n"
        f'for line in io.lines("{numbers}") do numbers[#numbers + 1] = line end\n'
        "local i = 0\n"
        "request = function()\n"
        "  i = i + 1\n"
        "  local n = numbers[((offset or 0) + i) % #numbers + 1]\n"
        f"  return wrk.format(nil, nil, nil, {body}}}')\n"
        "end\n"
    )
    return script


def answers_as_designed(
    base: str, token: str, picked: dict[str, list[int]], sample: int = 200
) -> dict[str, Counter[str]]:
    """Checks `sample` numbers of each share (plain checks, at AT) and raises unless each got
    an answer its share expects: the mix is what it says before it is timed."""
    headers = {"Authorization": f"Bearer {token}"}
    seen: dict[str, Counter[str]] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for share, numbers in picked.items():
            kinds: Counter[str] = Counter()
            for number in numbers[:sample]:
                answer = client.post("/v1/checks", json={"to": f"+1{number}", "at": AT})
                data = answer.json()
                if answer.status_code == 200:
                    kinds["ok, exempt" if "exemption" in data else "ok"] += 1
                else:
                    kinds[str(data.get("error"))] += 1
            if not kinds.keys() <= EXPECTED[share]:
                raise RuntimeError(f"the {share} numbers were answered {dict(kinds)}")
            seen[share] = kinds
    return seen
