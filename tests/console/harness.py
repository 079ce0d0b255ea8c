"""What the console's browser tests and `make screenshots` share: a real `callguard serve` on a
free port, a tenant seeded through the HTTP API, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    FilePayload,
    Page,
    Playwright,
    ViewportSize,
)
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.core.db import async_url

T = TypeVar("T")

CALLGUARD = str(Path(sys.executable).with_name("callguard"))
CHROMIUM_DEFAULT = "/usr/bin/chromium"
GET_CHROMIUM = (
    "The console tests need Chromium: install Debian's (`apt-get install -y "
    "--no-install-recommends chromium fonts-dejavu-core`, which `make test` does when it can) "
    "or set CALLGUARD_CHROMIUM to a Chromium or Chrome executable."
)
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
TENANT_SCOPES = [
    "checks:write",
    "dnc:read",
    "dnc:write",
    "optouts:read",
    "optouts:write",
    "audit:read",
    "keys:write",
    "policy:write",
    "consents:read",
    "consents:write",
    "webhooks:write",
]
# reported to the page's console, where the tests' listener sees it as an error
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`);
});
"""


def chromium_path() -> str | None:
    """CALLGUARD_CHROMIUM, else Debian's /usr/bin/chromium; None when it is not there."""
    path = os.environ.get("CALLGUARD_CHROMIUM") or CHROMIUM_DEFAULT
    return path if os.access(path, os.X_OK) else None


def launch(playwright: Playwright, executable: str) -> Browser:
    # no sandbox: tests and CI run as root, where Chromium's sandbox refuses to start
    return playwright.chromium.launch(
        executable_path=executable, headless=True, args=["--no-sandbox"]
    )


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    base: str
    admin: dict[str, str]
    log: Path
    database: str | None = None  # its database's URL, when the tests made that database

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=headers or self.admin, timeout=30)

    def in_database(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> Future[T]:
        """Runs `work` on a connection of its own to the server's database, committed at its
        end, in a thread of its own (sync Playwright holds this thread's event loop): for what
        no API does, such as moving a list's last refresh a month back."""
        assert self.database, "this server's database was not made by the tests"
        url = self.database

        async def run() -> T:
            engine = create_async_engine(async_url(url))
            try:
                async with engine.begin() as conn:
                    return await work(conn)
            finally:
                await engine.dispose()

        pool = ThreadPoolExecutor(max_workers=1)
        try:
            return pool.submit(asyncio.run, run())
        finally:
            pool.shutdown(wait=False)


@contextmanager
def serve(database_url: str | None, settings: dict[str, str] | None = None) -> Iterator[Server]:
    """`callguard serve` on a free port: on `database_url` (a database of its own, empty, so
    serve creates the first admin key and prints it), or on an embedded server of its own;
    `settings` are extra environment variables (CALLGUARD_WEBHOOK_ALLOW_HTTP=true, …)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLGUARD_")}
    env.pop("DATABASE_URL", None)
    env.update(settings or {})
    with tempfile.TemporaryDirectory(prefix="callguard-console-") as tmp:
        env["CALLGUARD_DATA_DIR"] = str(Path(tmp) / "state")
        if database_url:
            env["DATABASE_URL"] = database_url
        port = free_port()
        log, out = Path(tmp) / "stderr", Path(tmp) / "stdout"
        # files, not pipes: a pipe nobody reads fills up with the access log and stalls the server
        with open(log, "wb") as stderr, open(out, "wb") as stdout:
            proc = subprocess.Popen(
                [CALLGUARD, "serve", "--port", str(port)], env=env, stdout=stdout, stderr=stderr
            )
        try:
            secret = _admin_key(out, proc, log)
            base = f"http://127.0.0.1:{port}"
            _wait_ready(base, proc, log)
            yield Server(base, {"Authorization": f"Bearer {secret}"}, log, database_url)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _admin_key(out: Path, proc: subprocess.Popen[bytes], log: Path, seconds: float = 90) -> str:
    """The admin key serve prints on its first start, on the line after its announcement."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        lines = out.read_text().splitlines()
        for announced, secret in itertools.pairwise(lines):
            if "first admin key" in announced and secret.startswith("cg_"):
                return secret.strip()
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"callguard serve printed no admin key: {log.read_text()}")


def _wait_ready(base: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"callguard serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("callguard serve did not answer in time")


@dataclass
class Tenant:
    """A tenant made through the API, with a key a compliance officer would sign in with."""

    id: str
    name: str
    key: str
    key_name: str
    headers: dict[str, str] = field(default_factory=dict)


def seed_tenant(
    server: Server, name: str, key_name: str, scopes: list[str] | None = None
) -> Tenant:
    with server.client() as admin:
        tenant = _ok(admin.post("/v1/tenants", json={"name": name}))
        key = _ok(
            admin.post(
                "/v1/api-keys",
                json={
                    "name": key_name,
                    "scopes": scopes or TENANT_SCOPES,
                    "tenant_id": tenant["id"],
                },
            )
        )
    return Tenant(
        tenant["id"], name, key["key"], key_name, {"Authorization": f"Bearer {key['key']}"}
    )


def add_key(server: Server, tenant: Tenant, key_name: str, scopes: list[str]) -> Tenant:
    """Another key of the same tenant, with other scopes."""
    with server.client() as admin:
        body = {"name": key_name, "scopes": scopes, "tenant_id": tenant.id}
        key = _ok(admin.post("/v1/api-keys", json=body))
    headers = {"Authorization": f"Bearer {key['key']}"}
    return Tenant(tenant.id, tenant.name, key["key"], key_name, headers)


def create_list(
    server: Server, tenant: Tenant, name: str, numbers: list[str], kind: str = "internal"
) -> dict[str, Any]:
    with server.client(tenant.headers) as client:
        created = _ok(client.post("/v1/dnc/lists", json={"name": name, "kind": kind}))
        for phone in numbers:
            _ok(
                client.put(
                    f"/v1/dnc/lists/{created['id']}/numbers/{phone}",
                    json={"reason": "asked not to be called"},
                )
            )
    return created


def check(server: Server, tenant: Tenant, phone: str, at: str) -> int:
    with server.client(tenant.headers) as client:
        return client.post("/v1/checks", json={"to": phone, "at": at}).status_code


def a_file(name: str, content: bytes, mime_type: str = "text/csv") -> FilePayload:
    """A file for an <input type=file>, made in memory."""
    return {"name": name, "mimeType": mime_type, "buffer": content}


def unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(3)}"


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


# Chromium logs every non-2xx answer as a console error ("Failed to load resource: …"). An API
# refusal (4xx from /v1) is an answer the console shows in words; any other is a problem.
API_REFUSAL = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


class Watched:
    """A page whose console errors, uncaught exceptions and CSP violations are collected
    (`problems`); the API's 4xx answers, which the pages show as envelopes, go to `refusals`."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.refusals: list[str] = []
        self.answers: list[tuple[int, str]] = []  # other statuses a test expects the API to give
        page.add_init_script(CSP_LISTENER)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url", ""))
        if API_REFUSAL.match(message.text) and "/v1/" in url:
            self.refusals.append(url)
        elif any(
            f"status of {status} " in message.text and url.endswith(path)
            for status, path in self.answers
        ):
            self.refusals.append(url)
        else:
            self.problems.append(f"console error: {message.text} ({url})")

    def expect_answer(self, status: int, path: str) -> None:
        """A status other than 4xx that the API gives on purpose in this test, and the page
        shows in words (a 503 refusing checks while a registry copy is stale)."""
        self.answers.append((status, path))

    def sign_in(self, base: str, key: str) -> None:
        self.page.goto(f"{base}/console")
        self.page.get_by_label("API key").fill(key)
        self.page.get_by_role("button", name="Sign in").click()

    def sideways_overflow(self) -> int:
        """How many pixels the page is wider than the window (0: no sideways scrolling)."""
        width: int = self.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        return width
