"""Spooled upload files that no upload will read are removed, live ones never: a process killed
mid-upload, or a request that died while its body arrived, must not leave gigabytes behind."""

from __future__ import annotations

import os
import time

import httpx
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.helpers import tenant_with_key


async def test_spooled_files_no_upload_will_read_are_removed(
    app: FastAPI, client: httpx.AsyncClient, admin: dict[str, str], connection: AsyncConnection
) -> None:
    tenant_id, headers = await tenant_with_key(client, admin)
    created = await client.post("/v1/dnc/lists", json={"name": "spools"}, headers=headers)
    list_id = created.json()["id"]
    for upload_id, status, beat in (
        ("upl_spdead", "failed", "now() - interval '1 hour'"),  # swept: its process died
        ("upl_splive", "running", "now()"),
        ("upl_spdone", "succeeded", "now()"),
    ):
        await connection.execute(
            text(
                "INSERT INTO uploads (id, list_id, tenant_id, mode, status, heartbeat_at) "
                f"VALUES (:id, :l, :t, 'append', :s, {beat})"
            ),
            {"id": upload_id, "l": list_id, "t": tenant_id, "s": status},
        )
    dead = (await client.get("/v1/dnc/uploads/upl_spdead", headers=headers)).json()
    assert dead["status"] == "failed"  # as the API shows it

    runner = app.state.uploads
    runner.spool_dir.mkdir(parents=True, exist_ok=True)
    long_ago = time.time() - 7200
    files = {
        "upl_spdead": long_ago,  # ended: goes
        "upl_splive": long_ago,  # running: stays, however old
        "upl_spdone": time.time(),  # ended just now: stays a while
        "upl_spgone": long_ago,  # never recorded, untouched for two hours: goes
        "upl_spslow": time.time() - 600,  # never recorded yet, a slow body: stays
    }
    for name, mtime in files.items():
        path = runner.spool_dir / f"{name}.upload"
        path.write_bytes(b"4155552671\n")
        os.utime(path, (mtime, mtime))
    try:
        assert await runner.remove_orphan_spools() == 2
        left = {p.name.removesuffix(".upload") for p in runner.spool_dir.glob("upl_sp*.upload")}
        assert left == {"upl_splive", "upl_spdone", "upl_spslow"}
        later = time.time() + 120  # the ended upload's file goes once untouched a minute
        assert await runner.remove_orphan_spools(now=later) == 1
        left = {p.name.removesuffix(".upload") for p in runner.spool_dir.glob("upl_sp*.upload")}
        assert left == {"upl_splive", "upl_spslow"}
    finally:
        for path in runner.spool_dir.glob("upl_sp*.upload"):
            path.unlink()
