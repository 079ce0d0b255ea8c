"""The chain's canonical JSON is orjson's; records hashed before it was used were hashed over
the standard library's spelling. The two must agree byte for byte on everything a record can
hold, or old chains would stop verifying."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.checks import chain

TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40)
LEAF = st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | TEXT
VALUES = st.recursive(
    LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4)
)


def _stdlib(value: Any, sort_keys: bool) -> bytes:
    return json.dumps(
        value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False
    ).encode()


@settings(max_examples=1000, deadline=None)
@given(VALUES)
def test_orjson_spells_json_as_the_standard_library_does(value: Any) -> None:
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == _stdlib(value, sort_keys=True)
    assert orjson.dumps(value) == _stdlib(value, sort_keys=False)


@settings(max_examples=300, deadline=None)
@given(
    details=st.dictionaries(TEXT, VALUES, max_size=5),
    phone=TEXT,
    seq=st.integers(min_value=1, max_value=2**62),
    micros=st.integers(min_value=0, max_value=10**12),
)
def test_a_record_hashes_as_it_did_with_the_standard_library(
    details: dict[str, Any], phone: str, seq: int, micros: int
) -> None:
    instant = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    record = {
        "id": "chk_x",
        "decided_at": instant,
        "tenant_id": None,
        "api_key_id": "key_x",
        "request_id": "req_x",
        "phone": phone,
        "at": instant,
        "channel": "voice",
        "recipient_state": None,
        "batch": True,
        "outcome": "blocked",
        "error": "dnc_blocked",
        "details": details,
        "lane": "ln_x",
        "lane_seq": seq,
    }
    text = _stdlib(details, sort_keys=True).decode()
    content = [
        text
        if field == "details"
        else (value.isoformat() if isinstance(value := record[field], datetime) else value)
        for field in chain.CONTENT
    ]
    assert chain.details_json(details) == text
    assert chain.canonical(chain.content(record)) == _stdlib(content, sort_keys=False)
    assert chain.canonical(chain.content(record, text)) == _stdlib(content, sort_keys=False)
