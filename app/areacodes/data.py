"""The NANP area-code table: data/area_codes.csv, built by scripts/build_area_codes.py."""

from __future__ import annotations

import csv
from pathlib import Path

from app.reference.snapshot import AreaCode

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "data" / "area_codes.csv"
COLUMNS = (
    "npa",
    "country",
    "region",
    "time_zones",
    "geographic",
    "in_service",
    "parent_npa",
    "source",
)


class AreaCodeDataError(ValueError):
    """The area-code file is not in the shape the build script writes."""


def _flag(value: str, *, column: str, npa: str) -> bool:
    if value == "true":
        return True
    if value == "false":
        return False
    raise AreaCodeDataError(f"{npa}: {column} must be 'true' or 'false', got {value!r}")


def _area_code(row: dict[str, str]) -> AreaCode:
    npa = row["npa"]
    time_zones = tuple(row["time_zones"].split())
    if not time_zones:
        raise AreaCodeDataError(f"{npa}: no time zone")
    return AreaCode(
        npa=npa,
        country=row["country"],
        region=row["region"] or None,
        time_zones=time_zones,
        geographic=_flag(row["geographic"], column="geographic", npa=npa),
        in_service=_flag(row["in_service"], column="in_service", npa=npa),
        parent_npa=row["parent_npa"] or None,
        source=row["source"],
    )


def load_area_codes(path: Path = DEFAULT_PATH) -> dict[str, AreaCode]:
    """Every NPA in the file, keyed by its three digits."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise AreaCodeDataError(f"{path}: header {reader.fieldnames} is not {COLUMNS}")
        return {row["npa"]: _area_code(row) for row in reader}
