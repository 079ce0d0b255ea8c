"""`callguard dnc import`: the upload path from the command line (commits, then cleans up)."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

CALLGUARD = str(Path(sys.executable).with_name("callguard"))
NAME = "cli import test"


def _run(database_url: str, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CALLGUARD_DATA_DIR": str(state)}
    return subprocess.run(
        [CALLGUARD, "dnc", "import", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _sql(database_url: str, query: str) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetch(query)
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
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


@pytest.mark.usefixtures("cleanup")
def test_import_creates_the_global_list_and_reports_the_upload(
    database_url: str, tmp_path: Path
) -> None:
    source = tmp_path / "ftc.txt.gz"
    source.write_bytes(gzip.compress(b"415,5552671\n212,5552671\nbad\n"))
    result = _run(database_url, tmp_path, str(source), "--list-name", NAME, "--global")
    assert result.returncode == 0, result.stderr
    upload = json.loads(result.stdout)
    assert upload["status"] == "succeeded"
    assert (upload["rows_added"], upload["rows_rejected"]) == (2, 1)
    assert upload["errors"] == [{"line": 3, "value": "bad", "reason": "not_a_phone_number"}]
    count = _sql(database_url, f"SELECT entry_count FROM dnc_lists WHERE name = '{NAME}'")
    assert [r["entry_count"] for r in count] == [2]

    again = _run(
        database_url, tmp_path, str(source), "--list-name", NAME, "--global", "--mode", "replace"
    )
    assert again.returncode == 1  # a third of the rows rejected: the safety check refuses
    assert json.loads(again.stdout)["failure"]["error"] == "upload_rejected"
    assert "over 1%" in again.stderr


def test_usage_errors_exit_2(database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "n.txt"
    source.write_text("4155552671\n")
    assert _run(database_url, tmp_path, str(source), "--list-name", NAME).returncode == 2
    assert _run(database_url, tmp_path, str(source)).returncode == 2
    assert (
        _run(database_url, tmp_path, str(tmp_path / "missing.txt"), "--list", "lst_x").returncode
        == 2
    )


def test_unknown_list_fails_with_one_sentence(database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "n.txt"
    source.write_text("4155552671\n")
    result = _run(database_url, tmp_path, str(source), "--list", "lst_nope")
    assert result.returncode == 1
    assert result.stderr.strip() == "callguard: no DNC list lst_nope."
