"""An upload's database session ends soon after its process dies: PostgreSQL would otherwise
run the statement in progress (a merge of millions of rows, holding the list row) to its end."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import asyncpg

from app.core.db import async_url, plain_url

CLIENT = """
import asyncio, sys
import asyncpg
from app.uploads.importer import UPLOAD_SESSION

async def main():
    conn = await asyncpg.connect(sys.argv[1], server_settings=UPLOAD_SESSION)
    print(conn.get_server_pid(), flush=True)
    await conn.execute("SELECT pg_sleep(60)")

asyncio.run(main())
"""


async def test_a_killed_uploaders_statement_ends_within_seconds(database_url: str) -> None:
    url = plain_url(async_url(database_url))
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, url], stdout=subprocess.PIPE, text=True
    )
    assert client.stdout is not None
    backend = int(await asyncio.to_thread(client.stdout.readline))
    watcher = await asyncpg.connect(url)
    try:
        query = "SELECT state FROM pg_stat_activity WHERE pid = $1"
        deadline = time.monotonic() + 10
        while await watcher.fetchval(query, backend) != "active":
            assert time.monotonic() < deadline, "the client's statement never started"
            await asyncio.sleep(0.05)
        os.kill(client.pid, signal.SIGKILL)
        client.wait()
        killed = time.monotonic()
        while await watcher.fetchval(query, backend) is not None:
            # without client_connection_check_interval it would run the whole 60 s
            assert time.monotonic() - killed < 10, "the dead client's statement ran on"
            await asyncio.sleep(0.1)
    finally:
        await watcher.close()
        if client.poll() is None:
            client.kill()
