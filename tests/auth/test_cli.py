"""`callguard keys create` against the session's database (commits for real, then cleans up)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from app.auth.principal import hash_secret

CALLGUARD = str(Path(sys.executable).with_name("callguard"))


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CALLGUARD, "keys", "create", *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def _sql(database_url: str, query: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetch(query, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


@pytest.fixture
def tenant(database_url: str) -> Iterator[str]:
    _sql(database_url, "INSERT INTO tenants (id, name) VALUES ('ten_cli', 'cli tenant')")
    try:
        yield "ten_cli"
    finally:
        _sql(database_url, "DELETE FROM change_events WHERE tenant_id = 'ten_cli'")
        _sql(database_url, "DELETE FROM api_keys WHERE tenant_id = 'ten_cli'")
        _sql(database_url, "DELETE FROM tenants WHERE id = 'ten_cli'")


def test_admin_key_is_printed_alone_on_the_last_line(database_url: str) -> None:
    result = _run(database_url, "--admin", "--name", "ops")
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("cg_")
    rows = _sql(
        database_url,
        "SELECT id, scopes, name FROM api_keys WHERE secret_hash = $1",
        hash_secret(secret),
    )
    assert [(r["scopes"], r["name"]) for r in rows] == [(["admin"], "ops")]
    _sql(database_url, "DELETE FROM change_events WHERE target = $1", rows[0]["id"])
    _sql(database_url, "DELETE FROM api_keys WHERE id = $1", rows[0]["id"])


def test_tenant_key_with_scopes(database_url: str, tenant: str) -> None:
    result = _run(database_url, "--tenant", tenant, "--scopes", "checks:write,dnc:read")
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip().splitlines()[-1]
    rows = _sql(
        database_url,
        "SELECT tenant_id, scopes FROM api_keys WHERE secret_hash = $1",
        hash_secret(secret),
    )
    assert [(r["tenant_id"], sorted(r["scopes"])) for r in rows] == [
        (tenant, ["checks:write", "dnc:read"])
    ]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--tenant", "ten_x"],
        ["--tenant", "ten_x", "--scopes", "sudo"],
        ["--admin", "--tenant", "ten_x"],
        ["--admin", "--scopes", "dnc:read"],
    ],
)
def test_usage_errors_exit_2(database_url: str, args: list[str]) -> None:
    assert _run(database_url, *args).returncode == 2


def test_unknown_tenant_fails_with_one_sentence(database_url: str) -> None:
    result = _run(database_url, "--tenant", "ten_nope", "--scopes", "dnc:read")
    assert result.returncode == 1
    assert result.stderr.strip() == "callguard: No such tenant."
