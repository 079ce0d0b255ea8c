"""`callguard dnc import --kind/--max-age-days`: the list a name makes is of that kind, an
existing list must already be, and each succeeded append or replace refreshes it (commits,
then cleans up)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.dnc.test_import_cli import _run, _sql

NAME = "cli import kinds test"
LIST = f"SELECT * FROM dnc_lists WHERE name = '{NAME}' AND deleted_at IS NULL"


@pytest.fixture(autouse=True)
def cleanup(database_url: str) -> Iterator[None]:
    yield
    lists = f"SELECT id FROM dnc_lists WHERE name = '{NAME}'"
    keys = f"SELECT entry_key FROM dnc_lists WHERE name = '{NAME}'"
    _sql(database_url, f"DELETE FROM dnc_entries WHERE list_key IN ({keys})")
    _sql(database_url, f"DELETE FROM uploads WHERE list_id IN ({lists})")
    _sql(
        database_url,
        f"DELETE FROM change_events WHERE target IN ({lists}) OR details->>'list_id' IN ({lists})",
    )
    _sql(database_url, f"DELETE FROM dnc_lists WHERE name = '{NAME}'")


def _source(tmp_path: Path, body: bytes = b"4155552671\n2125552671\n") -> str:
    source = tmp_path / "state.txt"
    source.write_bytes(body)
    return str(source)


def test_a_state_registry_list_is_made_with_its_kind_and_age_and_refreshed(
    database_url: str, tmp_path: Path
) -> None:
    args = ("--list-name", NAME, "--global", "--kind", "registry", "--max-age-days", "92")
    result = _run(database_url, tmp_path, _source(tmp_path), *args)
    assert result.returncode == 0, result.stderr
    upload = json.loads(result.stdout)
    [row] = _sql(database_url, LIST)
    assert (row["kind"], row["max_age_days"], row["scope"]) == ("registry", 92, "global")
    # a global registry list is compact: its entries carry its negated seq (README)
    assert (row["compact"], row["entry_key"]) == (True, -row["seq"])
    keys = _sql(
        database_url, f"SELECT DISTINCT list_key FROM dnc_entries WHERE list_key = {-row['seq']}"
    )
    assert len(keys) == 1
    finished = datetime.fromisoformat(upload["finished_at"].replace("Z", "+00:00"))
    assert row["created_at"] < row["refreshed_at"] <= finished
    [event] = _sql(
        database_url,
        f"SELECT details FROM change_events WHERE target = '{row['id']}' "
        "AND type = 'dnc_list.created'",
    )
    details = json.loads(event["details"])
    assert (details["kind"], details["max_age_days"]) == ("registry", 92)

    # next quarter: the same list, found by name, replaced and refreshed
    _sql(
        database_url,
        f"UPDATE dnc_lists SET refreshed_at = now() - interval '100 days' WHERE id = '{row['id']}'",
    )
    again = _run(
        database_url, tmp_path, _source(tmp_path), *args[:5], "--mode", "replace", "--force"
    )
    assert again.returncode == 0, again.stderr
    [after] = _sql(database_url, LIST)
    assert after["id"] == row["id"]
    assert after["refreshed_at"] > row["refreshed_at"]
    assert after["refreshed_at"] - after["created_at"] < timedelta(minutes=5)


def test_a_remove_import_does_not_refresh(database_url: str, tmp_path: Path) -> None:
    made = ("--list-name", NAME, "--global", "--kind", "registry")
    assert _run(database_url, tmp_path, _source(tmp_path), *made).returncode == 0
    _sql(database_url, f"UPDATE dnc_lists SET refreshed_at = '2020-01-01Z' WHERE name = '{NAME}'")
    removed = _run(
        database_url, tmp_path, _source(tmp_path, b"4155552671\n"), *made, "--mode", "remove"
    )
    assert removed.returncode == 0, removed.stderr
    [row] = _sql(database_url, LIST)
    assert (row["entry_count"], row["refreshed_at"].year) == (1, 2020)


def test_without_kind_a_new_list_is_internal_and_an_existing_one_keeps_its_kind(
    database_url: str, tmp_path: Path
) -> None:
    named = ("--list-name", NAME, "--global")
    assert _run(database_url, tmp_path, _source(tmp_path), *named).returncode == 0
    [row] = _sql(database_url, LIST)
    assert (row["kind"], row["max_age_days"]) == ("internal", None)
    _sql(
        database_url,
        f"UPDATE dnc_lists SET kind = 'litigator' WHERE name = '{NAME}'",
    )
    assert _run(database_url, tmp_path, _source(tmp_path), *named).returncode == 0
    [row] = _sql(database_url, LIST)
    assert row["kind"] == "litigator"


def test_a_kind_that_does_not_fit_the_list_fails_and_changes_nothing(
    database_url: str, tmp_path: Path
) -> None:
    made = ("--list-name", NAME, "--global", "--kind", "registry")
    assert _run(database_url, tmp_path, _source(tmp_path), *made).returncode == 0
    [before] = _sql(database_url, LIST)
    uploads = f"SELECT count(*) AS n FROM uploads WHERE list_id = '{before['id']}'"
    count = _sql(database_url, uploads)[0]["n"]

    wrong = _run(
        database_url, tmp_path, _source(tmp_path), "--list", before["id"], "--kind", "internal"
    )
    assert wrong.returncode == 1
    assert "is registry, not internal" in wrong.stderr
    assert f"PATCH /v1/dnc/lists/{before['id']}" in wrong.stderr
    older = _run(database_url, tmp_path, _source(tmp_path), *made, "--max-age-days", "92")
    assert older.returncode == 1
    assert "max_age_days 31, not 92" in older.stderr
    [after] = _sql(database_url, LIST)
    assert dict(after) == dict(before)
    assert _sql(database_url, uploads)[0]["n"] == count


@pytest.mark.parametrize(
    "extra",
    [
        ("--kind", "state"),
        ("--max-age-days", "92"),  # without --kind registry
        ("--kind", "internal", "--max-age-days", "92"),
        ("--kind", "registry", "--max-age-days", "0"),
        ("--kind", "registry", "--max-age-days", "3661"),
        ("--kind", "registry", "--max-age-days", "a month"),
    ],
)
def test_usage_errors_exit_2(database_url: str, tmp_path: Path, extra: tuple[str, ...]) -> None:
    result = _run(
        database_url, tmp_path, _source(tmp_path), "--list-name", NAME, "--global", *extra
    )
    assert result.returncode == 2, result.stderr
    assert _sql(database_url, LIST) == []
