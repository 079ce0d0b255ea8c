"""The hash chain of check records.

Each record's hash is SHA-256 over the previous record's hash and the record's canonical
content. Records chain per tenant and *lane*: a lane is one writer slot of one process (see
docs/ARCHITECTURE.md, "Audit trail"), which writes its records in order and alone, so no lock
is shared between concurrent checks. A lane's first record follows 32 zero bytes.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from app.core.schemas import utc_isoformat

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


DETAILS = CONTENT.index("details")
INSTANTS = (CONTENT.index("decided_at"), CONTENT.index("at"))  # the timestamptz fields
_values = operator.itemgetter(*CONTENT)


def details_json(details: Any) -> str:
    """The details as stored and as hashed: sorted keys, no spaces, UTF-8 unescaped (records
    written before migration 0010 were jsonb, which keeps the values, not the spelling, so
    verification re-spells what it reads; the spelling is fixed here on both sides). orjson writes
    exactly what `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes
    (tests/checks/test_chain_encoding.py holds it to that), several times faster."""
    return orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode()


def content(record: Mapping[Any, Any], details: str | None = None) -> list[Any]:
    """The record's CONTENT values in order, `details` as its JSON text (given when the caller
    has it already)."""
    values = list(_values(record))
    values[DETAILS] = details if details is not None else details_json(values[DETAILS])
    return values


def canonical(values: Sequence[Any]) -> bytes:
    """A record's content (as `content` gives it) as bytes, the same whether built in memory or
    read back from PostgreSQL (timestamps are microsecond UTC instants)."""
    plain = list(values)
    for field in INSTANTS:
        plain[field] = utc_isoformat(plain[field])
    return orjson.dumps(plain)


def link(prev_hash: bytes, values: Sequence[Any]) -> bytes:
    return hashlib.sha256(prev_hash + canonical(values)).digest()
