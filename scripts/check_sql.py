"""`make lint`: SQL lives in repositories. Refuses SQL text, and SQLAlchemy's query builders,
in any module of app/ but a feature's `repository.py` (or the modules of a `repository` package)
or `models.py` (its tables' DDL) and the listed exceptions; migrations/ is not app/. Prints each
finding; exit 1 if any.

    python scripts/check_sql.py [ROOT]
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

# SQL as written in this code base: upper-case keywords in their usual places
SQL = re.compile(
    r"\b(SELECT\s.+\sFROM|SELECT\s+(set_config|pg_\w+|1\b|count)|INSERT\s+INTO|UPDATE\s+\w+\s+SET|"
    r"DELETE\s+FROM|CREATE\s+(TEMP\s+|UNIQUE\s+)?(TABLE|INDEX|ROLE|DATABASE)|ALTER\s+(TABLE|ROLE|"
    r"SYSTEM|DATABASE)|DROP\s+(TABLE|DATABASE)|SET\s+LOCAL|LISTEN\s|ANALYZE\s)",
    re.DOTALL,
)
BUILDERS = {"select", "insert", "update", "delete", "text", "tuple_", "literal_column"}
ALLOWED_NAMES = {"repository.py", "models.py"}
EXCEPTIONS = {
    # the server itself, not a feature's tables: create and drop a database (tests, embedded)
    "app/core/db.py",
    # the embedded cluster's set-up as its superuser: roles, ownership, settings
    "app/core/embedded.py",
    "app/core/embedded_security.py",
    # LISTEN on the notification channels: the connection's own protocol
    "app/core/listener.py",
    # the read replica's replay lag: the server's own recovery state, no table
    "app/core/replica.py",
}


def findings(path: Path, root: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if SQL.search(node.value):
                found.append(f"{node.lineno}: SQL text {node.value.strip()[:60]!r}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            builders = sorted(a.name for a in node.names if a.name in BUILDERS)
            if builders:
                found.append(f"{node.lineno}: query builder imported: {', '.join(builders)}")
    return [f"{path.relative_to(root)}:{line}" for line in found]


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    problems = []
    for path in sorted((root / "app").rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        in_repository = path.parent.name == "repository"  # a repository split in modules
        if path.name in ALLOWED_NAMES or in_repository or relative in EXCEPTIONS:
            continue
        problems += findings(path, root)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} place(s) with SQL outside a repository (see scripts/check_sql.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
