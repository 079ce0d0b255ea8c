"""`callguard serve` against hostile connections (review M2, M3), with raw sockets on a real server:
a header size limit, a timeout for request headers and for idle kept-alive connections, a cap on
connections, and X-Forwarded-For believed only from CALLGUARD_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import pickle
import secrets
import select
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.core.db import async_url, drop_database, ensure_database, plain_url
from tests.core.test_serve import CALLGUARD, _free_port, _wait_ready

KIB = 1024
MIB = 1024 * KIB
LIMITS = {
    "CALLGUARD_MAX_HEADER_BYTES": str(16 * KIB),
    "CALLGUARD_HEADER_TIMEOUT_S": "1",
    "CALLGUARD_KEEP_ALIVE_S": "1",
    "CALLGUARD_MAX_CONNECTIONS": "20",
}
OURS = (*LIMITS, "CALLGUARD_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS")
BAD_KEY = {"Authorization": "Bearer cg_" + "x" * 40}


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int

    def connect(self, source: str = "127.0.0.1") -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), 5, (source, 0))

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * KIB
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def scratch_url(server_url: str) -> Iterator[str]:
    """A database of this module's own: `serve` leaves an admin key behind."""
    name = f"callguard_limits_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(ensure_database(server_url, name))
    try:
        yield plain_url(async_url(server_url).set(database=name))
    finally:
        asyncio.run(drop_database(server_url, name))


def _serve(url: str, **extra: str) -> Iterator[Server]:
    env = {k: v for k, v in os.environ.items() if k not in OURS}
    with tempfile.TemporaryDirectory(prefix="callguard-limits-") as tmp:
        env.update(DATABASE_URL=url, CALLGUARD_DATA_DIR=tmp, **LIMITS, **extra)
        port = _free_port()
        with open(Path(tmp) / "stderr", "wb") as log:
            proc = subprocess.Popen(
                [CALLGUARD, "serve", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            try:
                assert _wait_ready(port, proc).status_code == 200
            except AssertionError:
                raise AssertionError((Path(tmp) / "stderr").read_text()) from None
            yield Server(proc, port)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(scratch_url: str) -> Iterator[Server]:
    """CALLGUARD_TRUSTED_PROXIES unset (the default)."""
    yield from _serve(scratch_url)


@pytest.fixture(scope="module")
def proxied(scratch_url: str) -> Iterator[Server]:
    """A proxy at 127.0.0.2 (also loopback, so the test can be it), not 127.0.0.1."""
    yield from _serve(scratch_url, CALLGUARD_TRUSTED_PROXIES="127.0.0.2")


def _responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """The next `count` responses on `sock`, and nothing more. Pipelined responses can come in
    one read (a busy server writes them all before the test reads): the bytes after one response
    are the start of the next, kept for it."""
    responses = []
    data = b""
    for _ in range(count):
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed without a response: {data!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        length = int(headers.get("content-length", "0"))
        while len(data) < length:
            chunk = sock.recv(65536)
            assert chunk, "closed mid-body"
            data += chunk
        responses.append((int(status_line.split()[1]), headers, data[:length]))
        data = data[length:]
    assert data == b"", f"more than {count} responses: {data!r}"
    return responses


def _response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    return _responses(sock, 1)[0]


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (None: still open after `seconds`)."""
    started = time.monotonic()
    sock.setblocking(False)
    while (left := started + seconds - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0]:
            try:
                if not sock.recv(65536):
                    return time.monotonic() - started
            except ConnectionResetError:
                return time.monotonic() - started
    return None


def test_uvicorn_options_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.server import GuardedHttpToolsProtocol, uvicorn_options

    for name in OURS:
        monkeypatch.delenv(name, raising=False)
    plain = uvicorn_options(Settings(_env_file=None))
    assert plain["proxy_headers"] is False  # uvicorn's default believes 127.0.0.1
    assert plain["forwarded_allow_ips"] == []  # not None: uvicorn would read FORWARDED_ALLOW_IPS
    assert plain["limit_concurrency"] == 2048
    assert plain["backlog"] == 2048
    assert plain["timeout_keep_alive"] == 5
    http = plain["http"]
    assert isinstance(http, functools.partial)
    assert http.func is GuardedHttpToolsProtocol
    assert http.keywords == {"max_header_bytes": 16 * KIB, "header_timeout_s": 10.0}
    pickle.dumps(http)  # goes to spawned worker processes with uvicorn's Config

    proxied = uvicorn_options(
        Settings(
            _env_file=None,
            trusted_proxies=" 10.0.0.7, 192.168.0.0/16 ",
            max_connections=100,
            keep_alive_s=2,
            max_header_bytes=8 * KIB,
            header_timeout_s=3,
        )
    )
    assert proxied["proxy_headers"] is True
    assert proxied["forwarded_allow_ips"] == ["10.0.0.7", "192.168.0.0/16"]
    assert (proxied["limit_concurrency"], proxied["timeout_keep_alive"]) == (100, 2)
    assert proxied["http"].keywords == {"max_header_bytes": 8 * KIB, "header_timeout_s": 3.0}
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(_env_file=None, trusted_proxies="10.0.0.7,proxy.internal")


def test_oversized_headers_get_431_and_the_connection_closes(server: Server) -> None:
    big = b"X-Big: " + b"a" * (20 * KIB) + b"\r\n"
    # complete headers, in one read or several
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + big + b"\r\n")
        status, headers, body = _response(sock)
        assert status == 431
        assert headers["content-type"] == "application/json"
        assert headers["connection"] == "close"
        assert json.loads(body) == {
            "error": "headers_too_large",
            "message": "The request line and headers are larger than 16384 bytes.",
            "details": None,
            "request_id": None,
        }
        assert _closed_within(sock, 2) is not None
    # headers not finished: answered as soon as they pass the limit
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + big)
        assert _response(sock)[0] == 431
        assert _closed_within(sock, 2) is not None
    # under the limit, on a kept-alive connection, and pipelined after a body: served
    with server.connect() as sock:
        fine = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Fine: " + b"a" * (12 * KIB) + b"\r\n\r\n"
        body = b"b" * (300 * KIB)
        post = b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(body)
        sock.sendall(fine + post + body + fine)
        assert [status for status, _, _ in _responses(sock, 3)] == [200, 405, 200]


def test_unfinished_headers_do_not_grow_the_server(server: Server) -> None:
    """Four clients each try to send 32 MiB of one header; each is cut off near the limit."""
    before = server.rss()
    sent = []
    socks = [server.connect() for _ in range(4)]
    try:
        for sock in socks:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: ")
            total = 0
            chunk = b"a" * (256 * KIB)
            try:
                while total < 32 * MIB:
                    sock.sendall(chunk)
                    total += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            sent.append(total)
        time.sleep(0.5)
        after = server.rss()  # with the connections still open on this side
    finally:
        for sock in socks:
            sock.close()
    print(f"sent {[n // KIB for n in sent]} KiB; RSS {before // MIB} -> {after // MIB} MiB")
    assert all(n < 8 * MIB for n in sent), sent  # the rest was refused (socket buffers took some)
    assert after - before < 16 * MIB  # not the 128 MiB the clients tried to send


def test_connections_that_do_not_finish_their_headers_close_after_the_timeout(
    server: Server,
) -> None:
    silent, half, dribble = (server.connect() for _ in range(3))
    half.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
    started = time.monotonic()
    closed: dict[str, float] = {}
    socks = {"silent": silent, "half": half, "dribble": dribble}
    for sock in socks.values():
        sock.setblocking(False)
    with silent, half, dribble:
        dribble.sendall(b"GET /healthz HTTP/1.1\r\n")
        while len(closed) < 3 and time.monotonic() - started < 4:
            for name, sock in socks.items():
                if name in closed:
                    continue
                try:
                    if sock.recv(65536) == b"":
                        closed[name] = time.monotonic() - started
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    closed[name] = time.monotonic() - started
            if "dribble" not in closed:
                try:
                    dribble.sendall(b"X-Slow: 1\r\n")  # a header line every 0.1 s never ends
                except (BrokenPipeError, ConnectionResetError):
                    closed["dribble"] = time.monotonic() - started
            time.sleep(0.1)
    assert set(closed) == {"silent", "half", "dribble"}, closed
    assert all(0.8 < seconds < 2.5 for seconds in closed.values()), closed  # timeout: 1 s


def test_idle_kept_alive_connections_close_after_keep_alive_s(server: Server) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
    with server.connect() as sock:
        sock.sendall(request)
        assert _response(sock)[0] == 200
        time.sleep(0.6)  # idle for less than the keep-alive time: still served
        sock.sendall(request)
        assert _response(sock)[0] == 200
        seconds = _closed_within(sock, 3)
    assert seconds is not None  # uvicorn's default would keep it for 5 s
    assert 0.8 < seconds < 2.0


def test_connections_beyond_the_limit_are_closed_at_once(server: Server) -> None:
    socks = [server.connect() for _ in range(24)]  # CALLGUARD_MAX_CONNECTIONS=20
    try:
        time.sleep(0.3)  # well within the 1 s header timeout
        readable, _, _ = select.select(socks, [], [], 0)
        closed = [sock for sock in readable if _closed_within(sock, 0.01) is not None]
        assert len(closed) == 4
        assert len(socks) - len(readable) == 20
    finally:
        for sock in socks:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(f"http://127.0.0.1:{server.port}/healthz").status_code == 200


def _statuses_until_blocked(
    client: httpx.Client, forwarded_for: list[str], attempts: int = 30
) -> list[int]:
    """Bad keys, each with the next X-Forwarded-For, until one is answered 429."""
    statuses = []
    for i in range(attempts):
        headers = {**BAD_KEY, "X-Forwarded-For": forwarded_for[i % len(forwarded_for)]}
        statuses.append(client.get("/v1/api-keys", headers=headers).status_code)
        if statuses[-1] == 429:
            break
    return statuses


def test_forwarded_for_is_ignored_without_trusted_proxies(server: Server) -> None:
    """A client at 127.0.0.1 naming a new address each time is still blocked as 127.0.0.1."""
    forged = [f"203.0.113.{i}" for i in range(1, 31)]
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=5) as client:
        statuses = _statuses_until_blocked(client, forged)
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) == {401}


def test_forwarded_for_is_believed_from_a_trusted_proxy_only(proxied: Server) -> None:
    base = f"http://127.0.0.1:{proxied.port}"
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=base, timeout=5, transport=transport) as via_proxy:
        statuses = _statuses_until_blocked(via_proxy, ["203.0.113.9"])
        assert statuses[-1] == 429, statuses
        assert set(statuses[:-1]) == {401}
        # the blocked address is the forwarded one, not the proxy's
        other = {**BAD_KEY, "X-Forwarded-For": "203.0.113.10"}
        assert via_proxy.get("/v1/api-keys", headers=other).status_code == 401
        repeat = {**BAD_KEY, "X-Forwarded-For": "203.0.113.9"}
        assert via_proxy.get("/v1/api-keys", headers=repeat).status_code == 429
    # 127.0.0.1 is not a configured proxy: its X-Forwarded-For is not believed
    with httpx.Client(base_url=base, timeout=5) as direct:
        repeat = {**BAD_KEY, "X-Forwarded-For": "203.0.113.9"}
        assert direct.get("/v1/api-keys", headers=repeat).status_code == 401
