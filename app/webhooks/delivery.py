"""One delivery attempt over HTTP: `POST` the signed body to the hook's URL, at one of the
addresses the SSRF guard resolved and checked (the URL's host replaced by that address, with the
`Host` header and TLS server name of the real host, so the certificate is verified for the name),
within a timeout for the whole attempt, never following a redirect, never reading the answer's
body (a receiver cannot make the sender read a gigabyte)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from app.webhooks import guard
from app.webhooks.guard import Resolver

USER_AGENT = "callguard-webhooks/1"
MAX_ADDRESSES = 3  # tried in the resolver's order when one refuses the connection


@dataclass(frozen=True, slots=True)
class Outcome:
    """How an attempt ended: `ok` on a 2xx answer; otherwise the status code of the answer,
    if there was one, and a short reason."""

    ok: bool
    status_code: int | None = None
    error: str | None = None


class Sender:
    """The HTTP side of the delivery worker: one client per process, no connection kept alive
    (each attempt connects to the address it was given), no proxy from the environment."""

    def __init__(
        self,
        *,
        timeout_s: float,
        allow_http: bool,
        allow_private: bool,
        resolve: Resolver = guard.system_resolver,
    ) -> None:
        self.timeout_s = timeout_s
        self.allow_http = allow_http
        self.allow_private = allow_private
        self.resolve = resolve
        self.client = httpx.AsyncClient(
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would connect where it likes
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._send(url, headers, body)
        except TimeoutError:
            return Outcome(False, None, f"timed out after {self.timeout_s:g} s")

    async def _send(self, url: str, headers: dict[str, str], body: bytes) -> Outcome:
        try:
            parsed = guard.checked_url(
                url, allow_http=self.allow_http, allow_private=self.allow_private
            )
            addresses = await guard.addresses(
                parsed, allow_private=self.allow_private, resolve=self.resolve
            )
        except guard.Refused as exc:
            return Outcome(False, None, f"refused: {exc.problem}")
        except guard.Unresolved as exc:
            return Outcome(False, None, str(exc))
        host = parsed.raw_host.decode("ascii")
        sent_headers = {
            **headers,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "host": parsed.netloc.decode("ascii"),
        }
        extensions = {"sni_hostname": host} if parsed.scheme == "https" else {}
        error = "no address to connect to"
        for address in addresses[:MAX_ADDRESSES]:
            pinned = parsed.copy_with(host=str(address), fragment=None)
            try:
                async with self.client.stream(
                    "POST", pinned, content=body, headers=sent_headers, extensions=extensions
                ) as response:
                    status = response.status_code
            except httpx.ConnectError as exc:
                error = f"could not connect to {address}: {_reason(exc)}"
                continue
            except httpx.TimeoutException:
                return Outcome(False, None, f"timed out after {self.timeout_s:g} s")
            except httpx.HTTPError as exc:
                return Outcome(False, None, f"{type(exc).__name__}: {_reason(exc)}")
            if 200 <= status < 300:
                return Outcome(True, status)
            if 300 <= status < 400:
                return Outcome(False, status, f"answered {status}: redirects are not followed")
            return Outcome(False, status, f"answered {status}")
        return Outcome(False, None, error)


def _reason(exc: BaseException) -> str:
    return (str(exc) or type(exc).__name__)[:200]
