"""`callguard serve`'s HTTP protocol writes each small answer in one write (issue 22): the status
line and headers leave with the body's first part, not before it. A real uvicorn server with the
protocol, on a real socket; the server's transport counts its writes. What the client reads must
be what uvicorn writes without the joining: HEAD, 204, streamed bodies, `Expect: 100-continue`,
pipelined requests and `Connection: close` included."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import uvicorn

from app.core.server import GuardedHttpToolsProtocol

WRITES: list[bytes] = []


class Counted(GuardedHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        write = transport.write

        def counted(data: bytes | bytearray | memoryview) -> None:
            WRITES.append(bytes(data))
            write(data)

        transport.write = counted  # type: ignore[method-assign]
        super().connection_made(transport)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    if path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/slow":  # a streamed response whose first part takes a while
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await asyncio.sleep(1)
        await send({"type": "http.response.body", "body": b"late"})
        return
    if path == "/fail":  # the app fails once its response has begun
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("failed mid-response")
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one", b"two"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    answer = b'{"ok":true,"echo":"' + body + b'"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=cast(Any, functools.partial(Counted, max_header_bytes=16_384, header_timeout_s=5)),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    sockets = [s for srv in server.servers for s in srv.sockets]
    try:
        yield int(sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        await task


async def _exchange(port: int, request: bytes, until: bytes, wait: float = 0) -> bytes:
    """Send the request (after a 100 Continue if `wait`), read until `until` ends the bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head, _, body = request.partition(b"\r\n\r\n")
    if wait:
        writer.write(head + b"\r\n\r\n")
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(body)
    else:
        writer.write(request)
    got = b""
    while not got.endswith(until):
        chunk = await asyncio.wait_for(reader.read(65536), 5)
        if not chunk:
            break
        got += chunk
    writer.close()
    return got


def _responses() -> list[bytes]:
    return [w for w in WRITES if not w.startswith(b"HTTP/1.1 100 ")]


async def test_a_small_answer_is_one_write(port: int) -> None:
    WRITES.clear()
    request = b"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: 2\r\n\r\nhi"
    got = await _exchange(port, request, b"}")
    assert got.startswith(b"HTTP/1.1 200 OK\r\n")
    assert got.endswith(b'\r\n\r\n{"ok":true,"echo":"hi"}')
    assert b"content-length: 23\r\n" in got
    assert WRITES == [got]  # status line, headers and body: one write


async def test_pipelined_requests_each_answered_in_one_write(port: int) -> None:
    WRITES.clear()
    one = b"POST /x HTTP/1.1\r\nhost: t\r\ncontent-length: 1\r\n\r\n"
    request = one + b"a" + one + b"b" + b"HEAD /x HTTP/1.1\r\nhost: t\r\n\r\n" + one + b"c"
    got = await _exchange(port, request, b'"c"}')
    assert got.count(b"HTTP/1.1 200 OK\r\n") == 4
    assert b'"a"}' in got
    assert b'"b"}' in got
    assert len(WRITES) == 4
    assert b"".join(WRITES) == got


@pytest.mark.parametrize(
    ("request_bytes", "until", "writes"),
    [
        # HEAD: no body is written, the headers still leave when the response ends
        (b"HEAD /x HTTP/1.1\r\nhost: t\r\n\r\n", b"\r\n\r\n", 1),
        (b"GET /empty HTTP/1.1\r\nhost: t\r\n\r\n", b"\r\n\r\n", 1),
        # streamed: the headers with the first part, then each part as it comes
        (b"GET /stream HTTP/1.1\r\nhost: t\r\n\r\n", b"0\r\n\r\n", 3),
        # the server closes after the answer: the answer is whole first
        (b"GET /x HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n", b'""}', 1),
    ],
)
async def test_answers_without_a_body_streamed_or_closing(
    port: int, request_bytes: bytes, until: bytes, writes: int
) -> None:
    WRITES.clear()
    got = await _exchange(port, request_bytes, until)
    assert got.startswith(b"HTTP/1.1 20")
    assert got.endswith(until)
    assert len(WRITES) == writes
    assert b"".join(WRITES) == got
    if b"/stream" in request_bytes:
        assert got.endswith(b"\r\n\r\n3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n")


async def test_100_continue_is_not_held(port: int) -> None:
    WRITES.clear()
    request = b"POST /x HTTP/1.1\r\nhost: t\r\nexpect: 100-continue\r\ncontent-length: 2\r\n\r\nok"
    got = await _exchange(port, request, b'"ok"}', wait=1)
    assert got.endswith(b'{"ok":true,"echo":"ok"}')
    assert len(_responses()) == 1


async def test_held_headers_leave_without_waiting_for_a_slow_body(port: int) -> None:
    WRITES.clear()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /slow HTTP/1.1\r\nhost: t\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.5)  # long before the body
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in head
    rest = await asyncio.wait_for(reader.readuntil(b"0\r\n\r\n"), 5)
    assert rest == b"4\r\nlate\r\n0\r\n\r\n"
    writer.close()
    assert WRITES[0] == head


async def test_a_response_that_fails_midway_sends_its_headers_then_closes(port: int) -> None:
    WRITES.clear()
    got = await _exchange(port, b"GET /fail HTTP/1.1\r\nhost: t\r\n\r\n", b"never")
    assert got.startswith(b"HTTP/1.1 200 OK\r\n")
    assert got.endswith(b"\r\n\r\n")  # the headers, then the end of the stream
    assert WRITES == [got]
