"""kill -9 during an upload: after a restart the list is exactly as before and the upload
reads `failed`, never stuck in `running`. A real server process, killed for real."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.embedded import EmbeddedPostgres
from tests.core.test_serve import _free_port, _wait_ready

CALLGUARD = str(Path(sys.executable).with_name("callguard"))


def _start(state: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["CALLGUARD_DATA_DIR"] = str(state)
    return subprocess.Popen(
        [CALLGUARD, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def wait_running(client: httpx.Client, path: str, headers: dict[str, str]) -> None:
    """Until the job at `path` runs (it must not have ended: the kill is to come mid-way)."""
    deadline = time.monotonic() + 60
    while True:
        now = client.get(path, headers=headers).json()
        assert now["status"] in ("queued", "running"), now
        if now["status"] == "running":
            return
        assert time.monotonic() < deadline
        time.sleep(0.05)


def ended_after_restart(client: httpx.Client, path: str, headers: dict[str, str]) -> Any:
    """The job at `path` once the restarted server's sweeper moved it on from `running`."""
    deadline = time.monotonic() + 40
    while True:
        after = client.get(path, headers=headers).json()
        if after["status"] != "running":
            return after
        assert time.monotonic() < deadline, f"{path} stayed running after a restart"
        time.sleep(0.5)


@pytest.fixture
def state() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="callguard-crash-") as tmp:
        try:
            yield Path(tmp) / "state"
        finally:
            for leftover in EmbeddedPostgres(Path(tmp) / "state").processes():
                leftover.terminate()


def test_kill_9_during_an_upload_changes_nothing(state: Path) -> None:
    port = _free_port()
    server = _start(state, port)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(port, server)
        assert server.stdout is not None
        server.stdout.readline()
        admin = {"Authorization": "Bearer " + server.stdout.readline().decode().strip()}
        with httpx.Client(base_url=base, timeout=30) as client:
            list_id = client.post(
                "/v1/dnc/lists", json={"name": "federal", "scope": "global"}, headers=admin
            ).json()["id"]
            for phone in ("+14155552671", "+12125552671"):
                client.put(f"/v1/dnc/lists/{list_id}/numbers/{phone}", headers=admin)
            rng = random.Random(7)
            # 3M valid numbers (no N11 exchange: the upload must not end by refusing its
            # rejects): several seconds of work, even on a fast machine
            big = "".join(
                f"212{nxx}{rng.randint(0, 9999):04d}\n"
                for nxx in (rng.randint(200, 999) for _ in range(3_000_000))
                if nxx % 100 != 11
            )
            upload = client.post(
                f"/v1/dnc/lists/{list_id}/uploads?mode=replace",
                content=big.encode(),
                headers={**admin, "content-type": "text/plain"},
            ).json()
            wait_running(client, f"/v1/dnc/uploads/{upload['id']}", admin)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)

        server = _start(state, port)
        _wait_ready(port, server)
        with httpx.Client(base_url=base, timeout=30) as client:
            after = ended_after_restart(client, f"/v1/dnc/uploads/{upload['id']}", admin)
            assert after["status"] == "failed"
            assert after["failure"]["error"] == "interrupted"
            numbers = client.get(f"/v1/dnc/lists/{list_id}/numbers", headers=admin).json()["data"]
            assert [n["phone"] for n in numbers] == ["+12125552671", "+14155552671"]
            listed = client.get(f"/v1/dnc/lists/{list_id}", headers=admin).json()
            assert listed["entry_count"] == 2
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
