"""data/area_codes.csv matches spec/RULES.md sections 2 and 3 and its build script's output."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import pytz

from app.areacodes.data import DEFAULT_PATH, load_area_codes
from app.reference.snapshot import AreaCode

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_area_codes.py"
ALASKA = {"America/Anchorage", "America/Juneau", "America/Sitka", "America/Nome", "America/Adak"}
MULTI_ZONE = (
    "208 986 219 250 270 364 308 418 423 729 541 458 574 605 606 620 701 709 879 775 785 807 "
    "812 930 850 448 867 906 907 915 928 931"
).split()
OVERLAYS = [
    ("364", "270"),
    ("448", "850"),
    ("458", "541"),
    ("930", "812"),
    ("729", "423"),
    ("986", "208"),
]
REJECTED_BY_PHONENUMBERS = "357 436 457 621 624 679 729 837 861 924".split()


@pytest.fixture(scope="module")
def codes() -> dict[str, AreaCode]:
    return load_area_codes()


def zones(codes: dict[str, AreaCode], npa: str) -> set[str]:
    return set(codes[npa].time_zones)


@pytest.mark.parametrize("npa", ["602", "480", "623", "520"])
def test_arizona_is_phoenix_only(codes: dict[str, AreaCode], npa: str) -> None:
    assert zones(codes, npa) == {"America/Phoenix"}


def test_928_adds_denver_for_the_navajo_nation(codes: dict[str, AreaCode]) -> None:
    assert zones(codes, "928") == {"America/Phoenix", "America/Denver"}


def test_474_is_regina(codes: dict[str, AreaCode]) -> None:
    assert zones(codes, "474") == {"America/Regina"}


def test_879_is_like_709(codes: dict[str, AreaCode]) -> None:
    assert zones(codes, "879") == {"America/St_Johns", "America/Halifax"} == zones(codes, "709")


def test_907_is_alaska_and_never_honolulu(codes: dict[str, AreaCode]) -> None:
    assert zones(codes, "907") == ALASKA
    assert "Pacific/Honolulu" not in zones(codes, "907")


def test_867_spans_the_territories(codes: dict[str, AreaCode]) -> None:
    expected = {"America/Whitehorse", "America/Edmonton", "America/Winnipeg", "America/Toronto"}
    assert zones(codes, "867") == expected


def test_250_includes_fort_nelson(codes: dict[str, AreaCode]) -> None:
    expected = {"America/Vancouver", "America/Edmonton", "America/Fort_Nelson"}
    assert zones(codes, "250") == expected


@pytest.mark.parametrize(("overlay", "parent"), OVERLAYS)
def test_overlay_has_its_parents_zones(
    codes: dict[str, AreaCode], overlay: str, parent: str
) -> None:
    assert zones(codes, overlay) == zones(codes, parent)


def test_915_is_mountain_and_central(codes: dict[str, AreaCode]) -> None:
    assert zones(codes, "915") == {"America/Denver", "America/Chicago"}


def test_775_includes_west_wendover(codes: dict[str, AreaCode]) -> None:
    assert zones(codes, "775") == {"America/Los_Angeles", "America/Denver"}


@pytest.mark.parametrize("npa", MULTI_ZONE)
def test_multi_zone_npa_has_several_zones(codes: dict[str, AreaCode], npa: str) -> None:
    assert len(codes[npa].time_zones) > 1


def test_in_service_counts(codes: dict[str, AreaCode]) -> None:
    live = [code for code in codes.values() if code.in_service]
    geographic = [code for code in live if code.geographic]
    assert len(live) == 481
    assert len(geographic) == 451
    assert sum(code.country == "US" for code in geographic) == 375
    assert sum(code.country == "CA" for code in geographic) == 55
    assert sum(code.country not in {"US", "CA"} for code in geographic) == 21


@pytest.mark.parametrize("npa", REJECTED_BY_PHONENUMBERS)
def test_npa_phonenumbers_rejects_is_in_service(codes: dict[str, AreaCode], npa: str) -> None:
    assert codes[npa].in_service


@pytest.mark.parametrize("npa", ["800", "888"])
def test_toll_free_has_every_us_zone(codes: dict[str, AreaCode], npa: str) -> None:
    us_zones = {
        zone
        for code in codes.values()
        if code.geographic and code.country == "US"
        for zone in code.time_zones
    }
    assert {"Pacific/Honolulu", "America/Anchorage", "America/Puerto_Rico", "Pacific/Guam"} <= (
        us_zones
    )
    assert zones(codes, npa) == us_zones


def test_every_zone_is_an_iana_name(codes: dict[str, AreaCode]) -> None:
    unknown = {zone for code in codes.values() for zone in code.time_zones} - (
        pytz.all_timezones_set
    )
    assert not unknown


def load_build_script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_area_codes", BUILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve the script's annotations through sys.modules.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


def test_csv_equals_a_fresh_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = load_build_script(monkeypatch)
    fresh = tmp_path / "area_codes.csv"
    assert script.main(["--out", str(fresh)]) == 0
    assert fresh.read_bytes() == DEFAULT_PATH.read_bytes()
