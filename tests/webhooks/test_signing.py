"""Signatures as the Standard Webhooks reference makes and verifies them."""

from __future__ import annotations

import base64
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.webhooks import catalog, signing
from tests.webhooks.receiver import verify

# the reference libraries' own vector (standard-webhooks: libraries/go/webhook_test.go
# TestWebhookSign, the same in the C# and Java tests)
REFERENCE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
REFERENCE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
REFERENCE_TIMESTAMP = 1614265330
REFERENCE_PAYLOAD = b'{"test": 2432232314}'
REFERENCE_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_reference_vector() -> None:
    key = base64.b64decode(REFERENCE_SECRET.removeprefix("whsec_"))
    got = signing.signature(key, REFERENCE_ID, REFERENCE_TIMESTAMP, REFERENCE_PAYLOAD)
    assert got == REFERENCE_SIGNATURE
    headers = signing.headers(key, REFERENCE_ID, REFERENCE_TIMESTAMP, REFERENCE_PAYLOAD)
    assert headers == {
        "webhook-id": REFERENCE_ID,
        "webhook-timestamp": str(REFERENCE_TIMESTAMP),
        "webhook-signature": REFERENCE_SIGNATURE,
    }
    # and the reference verification (reimplemented in tests/webhooks/receiver.py) takes it
    assert verify(REFERENCE_SECRET, headers, REFERENCE_PAYLOAD) == {"test": 2432232314}


def test_a_secret_is_whsec_and_the_base64_of_32_random_bytes() -> None:
    key = signing.new_secret()
    text = signing.secret_text(key)
    assert text.startswith("whsec_")
    assert base64.b64decode(text.removeprefix("whsec_"), validate=True) == key
    assert len(key) == 32
    assert signing.new_secret() != key


def test_our_signature_verifies_and_a_changed_byte_does_not() -> None:
    key = signing.new_secret()
    body = catalog.payload(
        change_type="optout.opted_out",
        at=datetime(2026, 12, 8, 9, 31, 2, 123456, tzinfo=UTC),
        tenant_id="ten_1",
        target="+14155552671",
        details={"event_id": "ooe_1", "channel": "all", "source": "agent"},
    )
    headers = signing.headers(key, "evt_abc", 1765186262, body)
    assert verify(signing.secret_text(key), headers, body) == {
        "type": "optout.recorded",
        "timestamp": "2026-12-08T09:31:02.123456Z",
        "data": {
            "phone": "+14155552671",
            "channel": "all",
            "source": "agent",
            "tenant_id": "ten_1",
        },
    }
    with pytest.raises(AssertionError):
        verify(signing.secret_text(key), headers, body.replace(b"agent", b"agenT"))
    with pytest.raises(AssertionError):
        verify(signing.secret_text(key), {**headers, "webhook-id": "evt_abd"}, body)
    with pytest.raises(AssertionError):
        verify(signing.secret_text(signing.new_secret()), headers, body)


def test_every_event_type_stands_for_change_events_and_reads_back() -> None:
    for event in catalog.EVENT_TYPES:
        for change in catalog.CHANGE_TYPES[event]:
            assert catalog.EVENT_TYPE_OF[change] == event
    assert catalog.change_types_of(["upload.finished", "webhook.test"]) == [
        "consent_upload.finished",
        "dnc_upload.finished",
        "optout_upload.finished",
    ]


def test_the_readmes_receiver_verifies_a_delivery() -> None:
    """The few lines of Python the README shows a receiver: they take our signature, and refuse
    a body changed by one byte."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"```python\n(import base64, hashlib.*?)```", readme, re.DOTALL)
    assert code is not None, "the README's receiver"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    key = signing.new_secret()
    body = b'{"type":"optout.recorded","timestamp":"2026-12-08T09:31:02Z","data":{}}'
    headers = signing.headers(key, "evt_4Kq9", int(time.time()), body)
    assert namespace["verify"](signing.secret_text(key), headers, body)["type"] == (
        "optout.recorded"
    )
    with pytest.raises(ValueError, match="bad signature"):
        namespace["verify"](signing.secret_text(key), headers, body.replace(b"{}", b"{ }"))
