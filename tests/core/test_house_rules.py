"""`make lint` holds the house's rules: each contract in .importlinter, and SQL only in
repositories, fails on a deliberate violation in a copy of the tree and passes on the tree."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))

# (contract name as lint-imports prints it, file to add a line to, the violating line)
VIOLATIONS = [
    ("core imports no feature", "app/core/text.py", "import app.dnc.service"),
    (
        "the rules engine is pure: it imports nothing of ours but core",
        "app/rules/model.py",
        "import app.numbers.parsing",
    ),
    (
        "the shared leaves (events, reference) import no feature",
        "app/events/repository.py",
        "import app.auth.principal",
    ),
    (
        "features in layers: the check path above what it consults, no cycles",
        "app/auth/scoping.py",
        "import app.dnc.service",
    ),
    (
        "a feature's tables are its own: no other feature imports its models",
        "app/optouts/service.py",
        "import app.dnc.models",
    ),
    (
        "features use each other through their public surface only",
        "app/optouts/service.py",
        "import app.checks.outcome",
    ),
]


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    shutil.copytree(ROOT / "app", tree / "app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "scripts", tree / "scripts")
    shutil.copy(ROOT / ".importlinter", tree / ".importlinter")
    return tree


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_every_contract_and_its_sql_in_repositories(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    result = _lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
    sql = subprocess.run(
        [sys.executable, "scripts/check_sql.py", str(tree)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert sql.returncode == 0, sql.stdout


@pytest.mark.parametrize(("contract", "path", "line"), VIOLATIONS, ids=[v[0] for v in VIOLATIONS])
def test_a_violation_breaks_its_contract(
    tmp_path: Path, contract: str, path: str, line: str
) -> None:
    tree = _copy(tmp_path)
    with (tree / path).open("a", encoding="utf-8") as module:
        module.write(f"\n{line}  # a deliberate violation\n")
    result = _lint_imports(tree)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout


def test_sql_outside_a_repository_is_refused(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    with (tree / "app/dnc/service.py").open("a", encoding="utf-8") as module:
        module.write('\nQUERY = "SELECT id FROM dnc_lists WHERE name = $1"\n')
    with (tree / "app/optouts/router.py").open("a", encoding="utf-8") as module:
        module.write("\nfrom sqlalchemy import select\n")
    result = subprocess.run(
        [sys.executable, "scripts/check_sql.py", str(tree)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "app/dnc/service.py" in result.stdout
    assert "app/optouts/router.py" in result.stdout
    assert "query builder imported: select" in result.stdout
