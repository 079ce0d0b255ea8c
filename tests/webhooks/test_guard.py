"""The SSRF guard with the allow flags off: every refusal, at creation and at send time, and
the address an attempt connects to is the one that was checked."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from app.webhooks import guard
from app.webhooks.delivery import Sender
from tests.envelope import assert_envelope
from tests.helpers import tenant_with_key
from tests.webhooks.receiver import Receiver

REFUSED_URLS = {
    "http://hooks.example.com/a": "must be an https:// URL",
    "ftp://hooks.example.com/a": "must be an https:// URL",
    "https://127.0.0.1/a": "loopback",
    "https://127.9.9.9:8443/a": "loopback",
    "https://[::1]/a": "loopback",
    "https://localhost/a": "loopback name",
    "https://api.localhost/a": "loopback name",
    "https://10.1.2.3/a": "private",
    "https://172.16.0.9/a": "private",
    "https://192.168.1.1/a": "private",
    "https://[fd00::1]/a": "private",
    "https://169.254.169.254/latest/meta-data": "link-local",
    "https://[fe80::1]/a": "link-local",
    "https://224.0.0.1/a": "multicast",
    "https://[ff02::1]/a": "multicast",
    "https://0.0.0.0/a": "unspecified",
    "https://[::]/a": "unspecified",
    "https://240.0.0.1/a": "reserved",
    "https://100.64.0.1/a": "not a public",  # shared address space (carrier-grade NAT)
    "https://[::ffff:127.0.0.1]/a": "loopback",  # IPv4-mapped IPv6
    "https://[::ffff:10.0.0.1]/a": "private",
    "https://[64:ff9b::a00:1]/a": "private",  # NAT64 of 10.0.0.1
    "https://[2002:7f00:1::1]/a": "loopback",  # 6to4 of 127.0.0.1
    "https://2130706433/a": "loopback",  # 127.0.0.1 as one number
    "https://127.1/a": "loopback",
    "https://0x7f.0.0.1/a": "loopback",
    "https://user:secret@hooks.example.com/a": "user name or password",
    "https:///a": "no host",
    "https://hooks.example.com:99999/a": "port out of range",
}


@pytest.mark.parametrize(("url", "problem"), REFUSED_URLS.items())
def test_refused_urls(url: str, problem: str) -> None:
    with pytest.raises(guard.Refused, match=problem):
        guard.checked_url(url, allow_http=False, allow_private=False)


def test_public_https_urls_pass() -> None:
    for url in (
        "https://hooks.example.com/callguard?x=1",
        "https://93.184.215.14:8443/a",
        "https://[2606:4700:4700::1111]/a",
    ):
        guard.checked_url(url, allow_http=False, allow_private=False)
    # the flags let the rest through (tests, local set-ups)
    guard.checked_url("http://127.0.0.1:8080/a", allow_http=True, allow_private=True)
    with pytest.raises(guard.Refused, match="https"):
        guard.checked_url("http://127.0.0.1:8080/a", allow_http=False, allow_private=True)
    with pytest.raises(guard.Refused, match="loopback"):
        guard.checked_url("http://127.0.0.1:8080/a", allow_http=True, allow_private=False)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.1.1",
        "224.0.0.251",
        "0.0.0.0",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff05::2",
        "::",
        "::ffff:192.168.0.1",
        "192.0.2.1",
        "198.18.0.1",
        "2001:db8::1",
    ],
)
def test_every_non_public_address_is_refused(address: str) -> None:
    assert guard.refusal(ipaddress.ip_address(address)) is not None


def test_public_addresses_are_not() -> None:
    for address in ("93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert guard.refusal(ipaddress.ip_address(address)) is None


async def test_a_name_resolving_to_a_private_address_is_refused_at_send_time() -> None:
    """Rebinding: the name passed creation (it is a name), and resolves to a private address
    when sent; one private answer among public ones refuses them all."""

    async def resolve(host: str, port: int) -> list[str]:
        return {"rebind.example": ["10.0.0.7"], "mixed.example": ["93.184.215.14", "127.0.0.1"]}[
            host
        ]

    url = guard.checked_url("https://rebind.example/a", allow_http=False, allow_private=False)
    with pytest.raises(guard.Refused, match=r"10\.0\.0\.7 is a private"):
        await guard.addresses(url, allow_private=False, resolve=resolve)
    url = guard.checked_url("https://mixed.example/a", allow_http=False, allow_private=False)
    with pytest.raises(guard.Refused, match=r"127\.0\.0\.1 is a loopback"):
        await guard.addresses(url, allow_private=False, resolve=resolve)


async def test_the_sender_refuses_before_connecting_and_connects_to_the_checked_address(
    receiver: Receiver,
) -> None:
    """The receiver on 127.0.0.1 is reached under another name: with private addresses refused
    nothing reaches it; allowed, the attempt connects to the one address resolved (once) and
    checked, with the name's Host header."""
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"]

    url = receiver.script("/pinned", 204).replace("127.0.0.1", "hooks.internal.example")
    strict = Sender(timeout_s=2, allow_http=True, allow_private=False, resolve=resolve)
    try:
        outcome = await strict.send(url, {"webhook-id": "evt_1"}, b"{}")
    finally:
        await strict.close()
    assert (outcome.ok, outcome.status_code) == (False, None)
    assert outcome.error == "refused: 127.0.0.1 is a loopback address"
    assert receiver.at("/pinned") == []
    lenient = Sender(timeout_s=2, allow_http=True, allow_private=True, resolve=resolve)
    try:
        outcome = await lenient.send(url, {"webhook-id": "evt_1"}, b"{}")
    finally:
        await lenient.close()
    assert (outcome.ok, outcome.status_code) == (True, 204)
    [got] = receiver.at("/pinned")
    assert got.headers["host"] == f"hooks.internal.example:{receiver.port}"
    assert got.headers["webhook-id"] == "evt_1"
    assert calls == ["hooks.internal.example", "hooks.internal.example"]  # once per attempt


async def test_an_http_url_is_refused_at_send_time_with_the_flag_off(receiver: Receiver) -> None:
    url = receiver.script("/plain", 200)
    sender = Sender(timeout_s=2, allow_http=False, allow_private=True)
    try:
        outcome = await sender.send(url, {}, b"{}")
    finally:
        await sender.close()
    assert outcome.error == "refused: must be an https:// URL"
    assert receiver.at("/plain") == []


async def test_creation_refuses_each_with_the_flags_off(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    _, headers = await tenant_with_key(client, admin)
    for url, problem in REFUSED_URLS.items():
        response = await client.post(
            "/v1/webhooks", json={"url": url, "events": ["optout.recorded"]}, headers=headers
        )
        body = assert_envelope(response, 400, "validation_failed")
        [field] = body["details"]["fields"]
        assert field["field"] == "url", (url, body)
        assert problem in field["problem"], (url, body)
    listed = await client.get("/v1/webhooks", headers=headers)
    assert listed.json()["data"] == []
