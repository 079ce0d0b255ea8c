"""kill -9 during a scrub: after a restart the scrub reads `failed` (the sweeper), never
`running`, and it has no result. A real server process, killed for real."""

from __future__ import annotations

import random
import signal
from pathlib import Path

import httpx

from tests.core.test_serve import _free_port, _wait_ready
from tests.dnc.test_crash import _start, ended_after_restart, wait_running
from tests.dnc.test_crash import state as state  # the fixture: a scratch data folder


def test_kill_9_during_a_scrub_leaves_it_failed(state: Path) -> None:
    port = _free_port()
    server = _start(state, port)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(port, server)
        assert server.stdout is not None
        server.stdout.readline()
        admin = {"Authorization": "Bearer " + server.stdout.readline().decode().strip()}
        with httpx.Client(base_url=base, timeout=60) as client:
            rng = random.Random(9)
            big = "name,phone\n" + "".join(  # 3M rows: several seconds of work, even alone
                f"n{k},212{rng.randint(2000000, 9999999)}\n" for k in range(3_000_000)
            )
            scrub = client.post(
                "/v1/scrubs", content=big.encode(), headers={**admin, "content-type": "text/csv"}
            ).json()
            wait_running(client, f"/v1/scrubs/{scrub['id']}", admin)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)

        server = _start(state, port)
        _wait_ready(port, server)
        with httpx.Client(base_url=base, timeout=30) as client:
            after = ended_after_restart(client, f"/v1/scrubs/{scrub['id']}", admin)
            assert after["status"] == "failed"
            assert after["failure"]["error"] == "interrupted"
            assert after["result_sha256"] is None
            result = client.get(f"/v1/scrubs/{scrub['id']}/result", headers=admin)
            assert result.status_code == 409
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
