"""`callguard scrub`: the scrub path from the command line (commits its scrub row)."""

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
    return subprocess.run(
        [CALLGUARD, "scrub", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_scrub_writes_the_result_and_reports_the_scrub(database_url: str, tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text("name,phone\nann,(415) 555-2671\nbob,555-CALL\ncy,+12125552671\n")
    out = tmp_path / "out.csv"
    at = "2026-11-23T18:30:00Z"  # in calling hours in New York and California
    result = _run(database_url, tmp_path, str(source), "-o", str(out), "--at", at)
    assert result.returncode == 0, result.stderr
    scrub = json.loads(result.stderr[result.stderr.index("{") :])
    assert scrub["status"] == "succeeded"
    assert scrub["summary"]["allowed"] == 2
    assert scrub["summary"]["invalid_phone"] == 1
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0][:3] == ["name", "phone", "callguard_result"]
    assert [r[2] for r in rows[1:]] == ["ok", "invalid_phone", "ok"]
    allowed = tmp_path / "allowed.csv"
    result = _run(
        database_url, tmp_path, str(source), "-o", str(allowed), "--at", at, "--only", "allowed"
    )
    assert result.returncode == 0, result.stderr
    assert [r[0] for r in csv.reader(io.StringIO(allowed.read_text()))] == ["name", "ann", "cy"]
