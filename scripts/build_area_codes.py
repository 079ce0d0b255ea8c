"""Build data/area_codes.csv from NANPA's NPA report and phonenumbers' time-zone metadata.

Usage: python scripts/build_area_codes.py [--nanpa PATH] [--out PATH]

Rows: every NPA that NANPA lists as in service (IN_SERVICE=Y) plus every NPA it lists as assigned
(ASSIGNED=Yes) but not yet in service, geographic or not. Assigned codes are kept (with
in_service=false) so a planned overlay is known before its first number is dialled; codes that are
neither assigned nor in service are not area codes and are left out.

Time zones follow spec/RULES.md section 2:
1. geographic NPA: NANPA's TIME_ZONE letters UNION phonenumbers' zones over every prefix that
   starts with "1" + NPA;
2. an NPA named in the corrections gets exactly the corrected set (nothing is added afterwards,
   because corrections are the most trusted source);
3. any other overlay (OVERLAY=Yes and PARENT_NPA_ID is in its OVERLAY_COMPLEX) adds the zones of
   every code in its overlay complex, since it is dialled across the whole complex's area;
4. a non-geographic NPA gets every zone of the country that uses it.

The output is sorted by npa, UTF-8 with LF line endings, so re-running it is byte-identical.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from phonenumbers.timezone import UNKNOWN_TIMEZONE
from phonenumbers.tzdata import TIMEZONE_DATA

from app.areacodes.data import COLUMNS  # the loader owns the file's shape

REPO_ROOT = Path(__file__).resolve().parents[1]
# NANPA's public NPA report, kept in the repo so the table can always be rebuilt and checked
DEFAULT_NANPA = REPO_ROOT / "data" / "sources" / "nanpa_npa_report_2025-11-26.csv"
DEFAULT_OUT = REPO_ROOT / "data" / "area_codes.csv"

COUNTRIES = {
    "US": "US",
    "CANADA": "CA",
    "ANGUILLA": "AI",
    "ANTIGUA/BARBUDA": "AG",
    "BAHAMAS": "BS",
    "BARBADOS": "BB",
    "BERMUDA": "BM",
    "BRITISH VIRGIN ISLANDS": "VG",
    "CAYMAN ISLANDS": "KY",
    "DOMINICA": "DM",
    "DOMINICAN REPUBLIC": "DO",
    "GRENADA": "GD",
    "JAMAICA": "JM",
    "MONTSERRAT": "MS",
    "SINT MAARTEN": "SX",
    "ST. KITTS & NEVIS": "KN",
    "ST. VINCENT & GRENADINES": "VC",
    "ST.LUCIA": "LC",
    "TRINIDAD & TOBAGO": "TT",
    "TURKS & CAICOS ISLANDS": "TC",
}

# NANPA spells out Canadian provinces; two of its locations span several territories, and the
# first one named stands for the whole area (Canada has no provincial calling rules to pick).
CANADIAN_REGIONS = {
    "ALBERTA": "AB",
    "BRITISH COLUMBIA": "BC",
    "MANITOBA": "MB",
    "NEW BRUNSWICK": "NB",
    "NEWFOUNDLAND AND LABRADOR": "NL",
    "NORTHWEST TERRITORIES -YUKON - NUNAVUT": "NT",
    "NOVA SCOTIA - PRINCE EDWARD ISLAND": "NS",
    "ONTARIO": "ON",
    "QUEBEC": "QC",
    "SASKATCHEWAN": "SK",
}
US_REGION_ALIASES = {"CNMI": "MP"}

LETTER_ZONES = {
    "E": "America/New_York",
    "C": "America/Chicago",
    "M": "America/Denver",
    "P": "America/Los_Angeles",
    "N": "America/St_Johns",
}
WHOLE_VALUE_ZONES = {
    "AK": "America/Anchorage",
    "(UTC-10)": "Pacific/Honolulu",
    "(UTC+10)": "Pacific/Guam",
    "UTC-11": "Pacific/Pago_Pago",
}
# NANPA writes a sentence instead of letters for 775; read it as the letters it means.
FREE_TEXT_LETTERS = {"PT/MT only for W Wendover": "PM"}

CORRECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "602": ("Arizona", ("America/Phoenix",)),
    "480": ("Arizona", ("America/Phoenix",)),
    "623": ("Arizona", ("America/Phoenix",)),
    "520": ("Arizona", ("America/Phoenix",)),
    "928": ("Arizona and Navajo Nation", ("America/Phoenix", "America/Denver")),
    "474": ("Saskatchewan", ("America/Regina",)),
    "879": ("Newfoundland and Labrador", ("America/St_Johns", "America/Halifax")),
    "907": (
        "Alaska",
        ("America/Anchorage", "America/Juneau", "America/Sitka", "America/Nome", "America/Adak"),
    ),
    "867": (
        "Yukon/NWT/Nunavut",
        ("America/Whitehorse", "America/Edmonton", "America/Winnipeg", "America/Toronto"),
    ),
    "250": ("BC", ("America/Vancouver", "America/Edmonton", "America/Fort_Nelson")),
    "915": ("El Paso", ("America/Denver", "America/Chicago")),
    "775": ("Nevada", ("America/Los_Angeles", "America/Denver")),
}


@dataclass
class Row:
    npa: str
    country: str
    region: str
    geographic: bool
    in_service: bool
    parent_npa: str
    overlay_of: tuple[str, ...]
    zones: set[str]
    source: str


def nanpa_zones(value: str, country: str) -> set[str]:
    """Map NANPA's TIME_ZONE value; an unknown spelling stops the build rather than guess."""
    value = FREE_TEXT_LETTERS.get(value.strip(), value.strip())
    if value in WHOLE_VALUE_ZONES:
        return {WHOLE_VALUE_ZONES[value]}
    zones = set()
    for letter in value:
        if letter == "A":
            # Atlantic in Canada keeps DST; in the Caribbean it does not.
            zones.add("America/Halifax" if country == "CA" else "America/Puerto_Rico")
        elif letter in LETTER_ZONES:
            zones.add(LETTER_ZONES[letter])
        else:
            raise ValueError(f"unknown NANPA TIME_ZONE value {value!r}")
    return zones


def phonenumbers_zones(npa: str) -> set[str]:
    prefix = "1" + npa
    return {
        zone
        for key, zones in TIMEZONE_DATA.items()
        if key.startswith(prefix)
        for zone in zones
        if zone != UNKNOWN_TIMEZONE
    }


def country_and_region(record: Mapping[str, str]) -> tuple[str, str]:
    country_name = record["COUNTRY"].strip()
    location = record["LOCATION"].strip()
    if record["USE"] != "G":
        # NANPA leaves most non-geographic codes without a country; only 600/622/633 say CANADA.
        return ("CA" if country_name == "CANADA" else "US"), ""
    country = COUNTRIES[country_name]
    if country == "CA":
        return country, CANADIAN_REGIONS[location]
    if country == "US":
        region = US_REGION_ALIASES.get(location, location)
        if not re.fullmatch(r"[A-Z]{2}", region):
            raise ValueError(f"unexpected US location {location!r} for {record['NPA_ID']}")
        return country, region
    return country, ""


def read_nanpa(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
        if not first.startswith("File Date"):
            raise ValueError(f"{path}: expected a 'File Date' line first, got {first!r}")
        return list(csv.DictReader(handle))


def select(records: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    return [r for r in records if r["IN_SERVICE"] == "Y" or r["ASSIGNED"] == "Yes"]


def base_row(record: Mapping[str, str]) -> Row:
    npa = record["NPA_ID"].strip()
    country, region = country_and_region(record)
    parent = record["PARENT_NPA_ID"].strip()
    complex_members = re.findall(r"\d{3}", record["OVERLAY_COMPLEX"])
    is_overlay = record["OVERLAY"] == "Yes" and parent != npa and parent in complex_members
    row = Row(
        npa=npa,
        country=country,
        region=region,
        geographic=record["USE"] == "G",
        in_service=record["IN_SERVICE"] == "Y",
        parent_npa=parent if parent != npa else "",
        overlay_of=tuple(sorted(set(complex_members) - {npa})) if is_overlay else (),
        zones=set(),
        source="",
    )
    if row.geographic:
        from_nanpa = nanpa_zones(record["TIME_ZONE"], country)
        from_phonenumbers = phonenumbers_zones(npa)
        row.zones = from_nanpa | from_phonenumbers
        row.source = "+".join(
            name
            for name, zones in (("nanpa", from_nanpa), ("phonenumbers", from_phonenumbers))
            if zones
        )
    return row


def resolve_zones(rows: dict[str, Row]) -> None:
    for npa, (label, zones) in CORRECTIONS.items():
        rows[npa].zones = set(zones)
        rows[npa].source = f"correction: RULES.md §2 {label}"
    settled = {npa: frozenset(row.zones) for npa, row in rows.items()}
    for row in rows.values():
        if row.overlay_of and row.npa not in CORRECTIONS:
            members = [m for m in row.overlay_of if m in rows and rows[m].geographic]
            for member in members:
                row.zones |= settled[member]
            row.source = f"{row.source}; overlay of {' '.join(members)}"
    country_zones: dict[str, set[str]] = {}
    for row in rows.values():
        if row.geographic:
            country_zones.setdefault(row.country, set()).update(row.zones)
    for row in rows.values():
        if not row.geographic:
            row.zones = set(country_zones[row.country])
            row.source = f"non-geographic: all {row.country} zones"
    empty = sorted(row.npa for row in rows.values() if not row.zones)
    if empty:
        raise ValueError(f"no time zone for NPAs {empty}")


def build(nanpa: Path) -> list[Row]:
    rows = {row.npa: row for row in map(base_row, select(read_nanpa(nanpa)))}
    missing = sorted(set(CORRECTIONS) - set(rows))
    if missing:
        raise ValueError(f"corrections name NPAs NANPA does not list: {missing}")
    resolve_zones(rows)
    return [rows[npa] for npa in sorted(rows)]


def write(rows: Iterable[Row], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                (
                    row.npa,
                    row.country,
                    row.region,
                    " ".join(sorted(row.zones)),
                    str(row.geographic).lower(),
                    str(row.in_service).lower(),
                    row.parent_npa,
                    row.source,
                )
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanpa", type=Path, default=DEFAULT_NANPA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    rows = build(args.nanpa)
    write(rows, args.out)
    live = [row for row in rows if row.in_service]
    geographic = [row for row in live if row.geographic]
    by_country = {"US": 0, "CA": 0}
    for row in geographic:
        key = row.country if row.country in by_country else "other"
        by_country[key] = by_country.get(key, 0) + 1
    print(
        f"wrote {len(rows)} NPAs to {args.out}: {len(live)} in service, "
        f"{len(geographic)} geographic ({by_country})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
