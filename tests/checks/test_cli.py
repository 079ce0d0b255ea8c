"""`callguard check` and `callguard audit export` (they commit: records are append-only, so the
platform records they leave stay in the session's scratch database)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

CALLGUARD = str(Path(sys.executable).with_name("callguard"))


def _run(database_url: str, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CALLGUARD_DATA_DIR": str(state)}
    return subprocess.run([CALLGUARD, *args], env=env, capture_output=True, text=True, timeout=120)


def test_check_prints_the_answer_and_records_it(database_url: str, tmp_path: Path) -> None:
    ok = _run(
        database_url,
        tmp_path,
        "check",
        "+14155552671",
        "--at",
        "2026-11-23T18:30:00Z",
        "--state",
        "CA",
    )
    assert ok.returncode == 0, ok.stderr
    body = json.loads(ok.stdout)
    assert body["ok"] is True
    assert body["jurisdictions"] == ["US", "US-CA"]

    blocked = _run(database_url, tmp_path, "check", "+14155552671", "--at", "2026-11-23T12:00:00Z")
    assert blocked.returncode == 1
    assert json.loads(blocked.stdout)["error"] == "call_hours_violation"

    invalid = _run(database_url, tmp_path, "check", "+1415")
    assert invalid.returncode == 1
    invalid_id = json.loads(invalid.stdout)["details"]["check_id"]

    export = _run(database_url, tmp_path, "audit", "export", "--outcome", "invalid")
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert invalid_id in [row["check_id"] for row in rows]
    assert {row["outcome"] for row in rows} == {"invalid"}
    everything = _run(database_url, tmp_path, "audit", "export")
    ids = [row["check_id"] for row in csv.DictReader(io.StringIO(everything.stdout))]
    assert body["check_id"] in ids


def test_usage_errors_exit_2(database_url: str, tmp_path: Path) -> None:
    bad_at = _run(database_url, tmp_path, "check", "+14155552671", "--at", "tomorrow")
    assert bad_at.returncode == 2
    naive = _run(database_url, tmp_path, "check", "+14155552671", "--at", "2026-11-23T12:00:00")
    assert naive.returncode == 2
    bad_state = _run(database_url, tmp_path, "check", "+14155552671", "--state", "ZZ")
    assert bad_state.returncode == 1
    assert "recipient_state" in bad_state.stderr


def test_audit_export_of_an_unknown_tenant_says_so(database_url: str, tmp_path: Path) -> None:
    """As the API answers 404: exit 1 with one sentence, not an empty CSV."""
    result = _run(database_url, tmp_path, "audit", "export", "--tenant", "ten_nope")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == "callguard: no tenant ten_nope."
