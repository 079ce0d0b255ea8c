"""`callguard serve` as a real process: embedded start, stop on SIGTERM / Ctrl-C, DATABASE_URL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from app.core.embedded import MIB, EmbeddedPostgres, shared_buffers_mib

CALLGUARD = str(Path(sys.executable).with_name("callguard"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(port: int, proc: subprocess.Popen[bytes], seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("callguard serve did not answer in time")


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A directory the embedded server's own system user can reach: a plain temporary directory,
    not pytest's tmp_path (pytest keeps its base directory private, mode 0700)."""
    with tempfile.TemporaryDirectory(prefix="callguard-serve-") as tmp:
        yield Path(tmp)


@pytest.fixture
def serve(state_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CALLGUARD_DATA_DIR"] = str(state_dir / "state")
    proc = subprocess.Popen(
        [CALLGUARD, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield proc, port, state_dir / "state"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for leftover in EmbeddedPostgres(state_dir / "state").processes():
            leftover.terminate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_embedded_serve_stops_cleanly_with_no_stray_process(
    serve: tuple[subprocess.Popen[bytes], int, Path], signum: signal.Signals
) -> None:
    proc, port, data_dir = serve
    response = _wait_ready(port, proc)
    assert response.status_code == 200, response.text
    embedded = EmbeddedPostgres(data_dir)
    assert len(embedded.processes()) == 1

    proc.send_signal(signum)
    _out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0  # an operator-requested stop is a clean exit

    assert embedded.processes() == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_the_embedded_server_is_sized_for_registry_lists(
    serve: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    """A new embedded cluster gets shared_buffers for the machine, not the stock 128 MiB."""
    proc, port, data_dir = serve
    assert _wait_ready(port, proc).status_code == 200
    embedded = EmbeddedPostgres(data_dir)
    try:
        url = embedded.start()  # adopts the running server

        async def shared_buffers() -> int:
            connection = await asyncpg.connect(url)
            try:
                sql = "SELECT setting::bigint * 8 / 1024 FROM pg_settings WHERE name = $1"
                return int(await connection.fetchval(sql, "shared_buffers"))
            finally:
                await connection.close()

        assert asyncio.run(shared_buffers()) == shared_buffers_mib()
    finally:
        embedded.close()
    assert shared_buffers_mib(512 * MIB) == 128
    assert shared_buffers_mib(2048 * MIB) == 512
    assert shared_buffers_mib(64 * 1024 * MIB) == 1024


def test_first_serve_prints_a_working_admin_key(
    serve: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    proc, port, _ = serve
    _wait_ready(port, proc)
    assert proc.stdout is not None
    announced = proc.stdout.readline().decode()
    assert "first admin key" in announced
    secret = proc.stdout.readline().decode().strip()
    assert secret.startswith("cg_")
    response = httpx.get(
        f"http://127.0.0.1:{port}/v1/tenants", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert secret.encode() not in out  # printed once, never logged again


def test_serve_uses_database_url_without_embedded(tmp_path: Path, database_url: str) -> None:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "CALLGUARD_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [CALLGUARD, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE
    )
    try:
        assert _wait_ready(port, proc).status_code == 200
        assert not (tmp_path / "pgdata").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def _callguard(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CALLGUARD, *args],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_migrate_command_reports_success(database_url: str) -> None:
    result = _callguard(database_url, "migrate")
    assert result.returncode == 0, result.stderr
    assert "newest migration" in result.stderr


def test_bad_database_url_fails_with_one_sentence() -> None:
    result = _callguard("sqlite:///x.db", "migrate")
    assert result.returncode == 1
    assert result.stderr.strip() == "callguard: DATABASE_URL must be a postgresql:// URL."


def test_unreachable_database_fails_with_one_sentence() -> None:
    result = _callguard("postgresql://postgres@127.0.0.1:1/none", "migrate")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "callguard: the database cannot be reached (ConnectionRefusedError)."
    ]


def test_port_in_use_fails_with_exit_1(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [CALLGUARD, "serve", "--port", str(port)],
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"callguard: the server could not start on 127.0.0.1:{port} (see the log above)."
    )


def test_usage_error_exits_2() -> None:
    result = subprocess.run([CALLGUARD, "frobnicate"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2


def test_revocation_reaches_every_worker_process(state_dir: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CALLGUARD_DATA_DIR"] = str(state_dir / "state")
    proc = subprocess.Popen(
        [CALLGUARD, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(port, proc)
        assert proc.stdout is not None
        proc.stdout.readline()
        admin = {"Authorization": "Bearer " + proc.stdout.readline().decode().strip()}
        with httpx.Client(base_url=base, timeout=5) as client:
            tenant = client.post("/v1/tenants", json={"name": "t"}, headers=admin).json()["id"]
            created = client.post(
                "/v1/api-keys", json={"scopes": ["keys:write"], "tenant_id": tenant}, headers=admin
            ).json()
            key = {"Authorization": f"Bearer {created['key']}"}
            # many fresh connections, so both workers verify (and cache) the key
            for _ in range(40):
                with httpx.Client(base_url=base, timeout=5) as fresh:
                    assert fresh.get("/v1/api-keys", headers=key).status_code == 200
            assert client.delete(f"/v1/api-keys/{created['id']}", headers=admin).status_code == 200
            time.sleep(1.0)
            for _ in range(9):  # a tenth failed attempt would block this address (429)
                with httpx.Client(base_url=base, timeout=5) as fresh:
                    response = fresh.get("/v1/api-keys", headers=key)
                    assert response.status_code == 401
                    assert response.json()["error"] == "key_revoked"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        for leftover in EmbeddedPostgres(state_dir / "state").processes():
            leftover.terminate()
