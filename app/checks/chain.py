"""The hash chain of check records.

Each record's hash is SHA-256 over the previous record's hash and the record's canonical
content. Records chain per tenant and *lane*: a lane is one writer slot of one process (see
docs/ARCHITECTURE.md, "Audit trail"), which writes its records in order and alone, so no lock
is shared between concurrent checks. A lane's first record follows 32 zero bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

GENESIS = bytes(32)

# the fields a record's hash covers, in this order
CONTENT = (
    "id",
    "decided_at",
    "tenant_id",
    "api_key_id",
    "request_id",
    "phone",
    "at",
    "channel",
    "recipient_state",
    "batch",
    "outcome",
    "error",
    "details",
    "lane",
    "lane_seq",
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def details_json(details: Any) -> str:
    """The details as stored and as hashed: sorted keys, no spaces, UTF-8 unescaped (jsonb keeps
    the values, not the spelling, so the spelling is fixed here on both sides). orjson writes
    exactly what `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes
    (tests/checks/test_chain_encoding.py holds it to that), several times faster."""
    return orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode()


def canonical(record: Mapping[Any, Any], details: str | None = None) -> bytes:
    """The record's content as bytes, the same whether built in memory or read back from
    PostgreSQL (timestamps are microsecond UTC instants; `details` embedded as its JSON text,
    given when the caller has it already)."""
    content = [
        (details if details is not None else details_json(record[field]))
        if field == "details"
        else _plain(record[field])
        for field in CONTENT
    ]
    return orjson.dumps(content)


def link(prev_hash: bytes, record: Mapping[Any, Any], details: str | None = None) -> bytes:
    return hashlib.sha256(prev_hash + canonical(record, details)).digest()
