"""Replicated PostgreSQL (issue 20). These tests drive the same machinery as the drills: the
servers of bench/pgnodes.py and the `callguard serve` of bench/harness.py, imported by the names
the bench scripts give them (bench/ is a folder of scripts, not a package)."""

import sys
from pathlib import Path

BENCH = str(Path(__file__).resolve().parents[2] / "bench")
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
