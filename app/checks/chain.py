"""The hash chain of check records.

Each record's hash is SHA-256 over the previous record's hash and the record's canonical
content. Records chain per tenant and *lane*: a lane is one writer slot of one process (see
docs/ARCHITECTURE.md, "Audit trail"), which writes its records in order and alone, so no lock
is shared between concurrent checks. A lane's first record follows 32 zero bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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


def canonical(record: Mapping[Any, Any]) -> bytes:
    """The record's content as bytes, the same whether built in memory or read back from
    PostgreSQL (details are JSON-native values; timestamps are microsecond UTC instants)."""
    content = [_plain(record[field]) for field in CONTENT]
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link(prev_hash: bytes, record: Mapping[Any, Any]) -> bytes:
    return hashlib.sha256(prev_hash + canonical(record)).digest()
