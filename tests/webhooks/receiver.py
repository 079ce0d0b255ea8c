"""A real HTTP receiver on 127.0.0.1 in the test process (a thread per request), scripted per
path: each request gets the next of its path's answers (the last one repeats), and every
request is kept with its headers, body and arrival time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Hang:
    """Answer 200, but only after this long (past the sender's timeout)."""

    seconds: float


@dataclass(frozen=True)
class Redirect:
    status: int
    location: str


Answer = int | Hang | Redirect


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                answer = receiver._take(
                    Received(
                        self.path,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                        time.monotonic(),
                    )
                )
                if isinstance(answer, Hang):
                    time.sleep(answer.seconds)
                    answer = 200
                if isinstance(answer, Redirect):
                    self.send_response(answer.status)
                    self.send_header("location", answer.location)
                else:
                    self.send_response(answer)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def script(self, path: str, *answers: Answer) -> str:
        """Answer requests to `path` so, in turn (the last repeats); the URL of the path."""
        with self._lock:
            self._scripts[path] = list(answers)
        return self.base + path

    def _take(self, request: Received) -> Answer:
        with self._lock:
            self.received.append(request)
            script = self._scripts.get(request.path, [200])
            return script.pop(0) if len(script) > 1 else script[0]

    def at(self, path: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.path == path]

    @contextmanager
    def running(self) -> Iterator[Receiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(5)


def verify(secret: str, headers: dict[str, str], body: bytes) -> Any:
    """The Standard Webhooks reference verification (standardwebhooks/webhooks.py, Webhook.verify
    and Webhook.sign, Python library), reimplemented in a few lines without its timestamp
    window: the payload if a `v1` signature matches, else AssertionError."""
    if secret.startswith("whsec_"):
        secret = secret[len("whsec_") :]
    key = base64.b64decode(secret + "==")  # as the reference: tolerates missing padding
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    to_sign = f"{msg_id}.{int(float(timestamp))}.{body.decode()}".encode()
    expected = hmac.new(key, to_sign, hashlib.sha256).digest()
    for versioned in headers["webhook-signature"].split(" "):
        version, signature = versioned.split(",")
        if version == "v1" and hmac.compare_digest(expected, base64.b64decode(signature)):
            return json.loads(body)
    raise AssertionError("no matching signature")
