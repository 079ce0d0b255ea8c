"""How `callguard serve` runs uvicorn: its options, built from Settings, and the HTTP protocol.

uvicorn's httptools protocol has no limit on the size of a request's headers (httptools keeps
whatever arrives until the blank line) and no timeout for them: a client can send an endless
header, or open connections and never finish a request. GuardedHttpToolsProtocol adds both:

- request line and headers larger than `max_header_bytes` get `431` (the error envelope) and the
  connection is closed; bytes are counted per read while the headers are unfinished, so an
  unfinished header holds at most the limit plus one read (256 KiB) in memory;
- a connection whose request headers are not complete `header_timeout_s` after they began (or
  after the connection opened, or after the last response on a kept-alive connection began to
  wait for more) is closed;
- connections beyond `limit_concurrency` are closed as they are accepted (uvicorn itself answers
  their requests `503` only once they send one, holding a file handle until then).

X-Forwarded-For is believed only from `CALLGUARD_TRUSTED_PROXIES` (none by default).
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

from uvicorn._types import ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from app.core.config import Settings

HEADERS_TOO_LARGE = 431


def trusted_proxies(settings: Settings) -> list[str]:
    return [item.strip() for item in settings.trusted_proxies.split(",") if item.strip()]


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for uvicorn.run / uvicorn.Config (besides the app, host, port, workers)."""
    proxies = trusted_proxies(settings)
    return {
        "http": functools.partial(  # a partial of a module-level class: picklable for workers
            GuardedHttpToolsProtocol,
            max_header_bytes=settings.max_header_bytes,
            header_timeout_s=settings.header_timeout_s,
        ),
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": proxies,  # a list, even empty: never FORWARDED_ALLOW_IPS
        "limit_concurrency": settings.max_connections,
        "backlog": max(2048, settings.max_connections),  # uvicorn's default, or more
        "timeout_keep_alive": settings.keep_alive_s,
    }


@functools.cache
def _too_large(limit: int) -> bytes:
    message = f"The request line and headers are larger than {limit} bytes."
    body = {"error": "headers_too_large", "message": message, "details": None, "request_id": None}
    return json.dumps(body, separators=(",", ":")).encode()


LINGER_S = 2.0  # how long a refused connection's late bytes are read before it is closed


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self, *args: Any, max_header_bytes: int, header_timeout_s: float, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_header_bytes = max_header_bytes
        self.header_timeout_s = header_timeout_s
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0  # of the unfinished headers, counted a whole read at a time
        self._chunk_len = 0  # the read being parsed
        self._count_chunk = False  # the read so far holds nothing of an earlier message
        self._mid_message = False  # from the request's first byte until its body ends
        self._reading_headers = False  # from the request's first byte until its blank line
        self._lingering = False  # refused: what the client still sends is read and dropped

    # connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.limit_concurrency is not None and len(self.connections) > self.limit_concurrency:
            self.logger.warning("Exceeded concurrency limit; connection closed.")
            transport.close()
            return
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        self._chunk_len = len(data)
        self._count_chunk = self._reading_headers or not self._mid_message
        super().data_received(data)
        if self._reading_headers:
            if self.transport.is_closing():
                return
            if self._count_chunk:
                self._header_bytes += len(data)
                if self._header_bytes > self.max_header_bytes:
                    self._refuse_unfinished_headers()
                    return
            self._arm_header_timer()
        elif self._waiting_for_request() and not self.transport.is_closing():
            self._arm_header_timer()  # only blank lines between requests so far

    # parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._mid_message = True
        self._reading_headers = True
        self._header_bytes = 0

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        if self._header_timer is not None:
            self._disarm_header_timer()
        if (
            self._header_bytes + self._chunk_len > self.max_header_bytes
            and self._header_size() > self.max_header_bytes
        ):
            # answered in turn (after any pipelined request before it) by an app of its own
            app, self.app = self.app, self._headers_too_large
            try:
                super().on_headers_complete()
            finally:
                self.app = app
            return
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._mid_message = False
        self._count_chunk = False  # whatever follows in this read comes after this message
        super().on_message_complete()

    # limits

    def _header_size(self) -> int:
        """Request line and headers as sent (give or take whitespace)."""
        size = len(self.parser.get_method()) + len(self.url) + 13
        for name, value in self.headers:
            size += len(name) + len(value) + 4
        return size

    def _waiting_for_request(self) -> bool:
        return not self._mid_message and (self.cycle is None or self.cycle.response_complete)

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing() and (
            self._reading_headers or self._waiting_for_request()
        ):
            self.transport.close()

    def _refuse_unfinished_headers(self) -> None:
        self.logger.warning(
            "Request headers over %d bytes; connection closed.", self.max_header_bytes
        )
        if self.cycle is None or self.cycle.response_complete:
            body = _too_large(self.max_header_bytes)
            head = [STATUS_LINE[HEADERS_TOO_LARGE]]
            for name, value in self.server_state.default_headers:
                head += [name, b": ", value, b"\r\n"]
            head += [
                b"content-type: application/json\r\n",
                b"content-length: %d\r\n" % len(body),
                b"connection: close\r\n\r\n",
                body,
            ]
            self.transport.write(b"".join(head))
        # else a response is still being written on this connection: close without one
        self._linger_close()

    def _linger_close(self) -> None:
        """Shut our side now (the client reads the answer, then end of stream) and close the
        socket LINGER_S later, or when the client closes first: a socket closed at once with
        the client's bytes unread is reset (RST), and the client can lose the answer written
        just before. Reading stops, so a client still sending meets full buffers, not a
        server that takes in all it sends."""
        self._lingering = True
        self._disarm_header_timer()
        transport = self.transport
        transport.pause_reading()
        if transport.can_write_eof():
            transport.write_eof()
        self.loop.call_later(LINGER_S, transport.close)

    async def _headers_too_large(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        self.logger.warning("Request headers over %d bytes; answered 431.", self.max_header_bytes)
        body = _too_large(self.max_header_bytes)
        await send(
            {
                "type": "http.response.start",
                "status": HEADERS_TOO_LARGE,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body, "more_body": False})
