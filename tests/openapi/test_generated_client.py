"""A client generated from /openapi.json with openapi-python-client (issue 21, item 12) works:
it generates without a warning, and a DNC list creation, an upload in each documented form and
checks go through it against the app, typed (timestamps are datetimes).

The generated client talks to the ASGI app through httpx's transport (its httpx_args), with
its own bearer header; the app runs its lifespan on committed data (the `workers` fixture), so
uploads merge as they do in service."""

from __future__ import annotations

import importlib
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.helpers import tenant_with_key
from tests.workers import Workers, client_of

PACKAGE = "callguard_client"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"


@pytest.fixture
def generated(workers: Workers, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package, generated into tmp_path and importable while the test runs."""
    app = workers[0]
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(app.openapi()))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter run: faster, no PATH needs
    command = [str(GENERATOR), "generate", "--path", str(spec), "--meta", "none"]
    command += ["--output-path", str(tmp_path / PACKAGE), "--config", str(config)]
    result = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # e.g. "Unsupported content type text/csv": a part of the API the client would lack
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_client_creates_a_list_uploads_and_checks(
    workers: Workers, generated: ModuleType
) -> None:
    app, _, admin, _ = workers
    async with client_of(app) as plain:
        _, headers = await tenant_with_key(plain, admin)
    token = headers["Authorization"].removeprefix("Bearer ")
    client = generated.AuthenticatedClient(
        base_url="http://callguard.test",
        token=token,
        httpx_args={"transport": httpx.ASGITransport(app=app)},
    )
    models, types = _module("models"), _module("types")
    create_dnc_list = _module("api.dnc_lists.create_dnc_list")
    upload_dnc_numbers = _module("api.dnc_lists.upload_dnc_numbers")
    get_dnc_upload = _module("api.dnc_lists.get_dnc_upload")
    create_check = _module("api.checks.create_check")
    at = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # 11:00 in San Francisco, a Tuesday

    async with client.get_async_httpx_client():
        made = await create_dnc_list.asyncio_detailed(
            client=client, body=models.ListIn(name="generated client")
        )
        assert made.status_code == 201, made.content
        dnc_list = made.parsed
        assert isinstance(dnc_list, models.ListOut)
        assert isinstance(dnc_list.created_at, datetime)

        allowed = await create_check.asyncio_detailed(
            client=client, body=models.CheckIn(to="+14155552671", at=at)
        )
        assert allowed.status_code == 200, allowed.content
        assert isinstance(allowed.parsed, models.CheckOk)
        assert allowed.parsed.ok is True
        assert isinstance(allowed.parsed.at, datetime)

        # both documented forms: the raw body (application/octet-stream) and the form. The raw
        # payload is bytes: the generated async code hands it to httpx as `content`, where a
        # file object is a sync stream an AsyncClient refuses (the sync client takes BytesIO).
        raw = types.File(payload=b"+14155552671\n", file_name="numbers.txt")
        form = models.UploadDncNumbersFilesBody(
            file=types.File(payload=io.BytesIO(b"phone\n+14155552672\n"), file_name="n.csv")
        )
        for body in (raw, form):
            queued = await upload_dnc_numbers.asyncio_detailed(
                dnc_list.id, client=client, body=body
            )
            assert queued.status_code == 202, queued.content
            await app.state.uploads.wait()
            done = await get_dnc_upload.asyncio(queued.parsed.id, client=client)
            assert isinstance(done, models.UploadOut)
            assert done.status == "succeeded", done
            assert done.rows_accepted == 1
            assert isinstance(done.finished_at, datetime)

        for phone in ("+14155552671", "+14155552672"):
            blocked = await create_check.asyncio_detailed(
                client=client, body=models.CheckIn(to=phone, at=at)
            )
            assert blocked.status_code == 422, blocked.content
            assert isinstance(blocked.parsed, models.ErrorEnvelope)
            assert blocked.parsed.error == "dnc_blocked"
