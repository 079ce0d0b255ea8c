"""A bulk consent upload (app/uploads runs it): its rows' parser and its target.

The file is a CSV with a header naming `phone`, `basis` and `obtained_at`, and optionally
`expires_at`, `channel` and `evidence` (other columns are ignored; one row a line). Each row is
checked as `POST /v1/consents` checks a body (numbers in the lenient forms of files) and turned
into a line of COPY text with its expiry already decided (the default of its basis and its
number's country, when the row gives none); a bad row is rejected with its line and a reason.
Identical rows count once (the rest are `rows_duplicate`), and a row identical to a consent the
tenant holds already, revoked or not, records nothing (`rows_accepted` but not `rows_added`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, get_args

from pydantic import TypeAdapter, ValidationError

from app.consents import repository
from app.consents.schemas import MAX_EVIDENCE, Basis
from app.consents.service import MAX_CLOCK_SKEW, expiry_of
from app.core.channels import OPTOUT_CHANNELS
from app.core.schemas import RequestTime, rfc3339_utc
from app.core.text import unstorable
from app.numbers.errors import InvalidPhone
from app.numbers.parsing import parse_lenient
from app.reference.snapshot import AreaCode, Snapshot
from app.uploads.importer import Rejected

REQUIRED = ("phone", "basis", "obtained_at")
OPTIONAL = ("expires_at", "channel", "evidence")
SOURCE = "upload"  # the `source` of every consent an upload records
BASES = frozenset(get_args(Basis))
CHANNELS = frozenset(OPTOUT_CHANNELS)
_TIME: TypeAdapter[datetime] = TypeAdapter(RequestTime)
# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _time(value: str) -> datetime | None:
    """An RFC 3339 time with its offset, as the API takes one; None if it is not."""
    try:
        return _TIME.validate_python(value)
    except ValidationError:
        return None


class ConsentRows:
    """Turns each row of a consent file into COPY text for `repository.UPLOAD_COLUMNS`."""

    columns: Sequence[tuple[str, str]] = repository.UPLOAD_COLUMNS

    def __init__(self, area_codes: Mapping[str, AreaCode], in_service: frozenset[str]) -> None:
        self._area_codes = area_codes
        self._in_service = in_service
        self._latest = datetime.now(UTC) + MAX_CLOCK_SKEW
        self._at: dict[str, int] = {}

    def header(self, names: Sequence[str]) -> str | None:
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            return (
                f"the CSV header has no column named {' or '.join(missing)} (a consent file "
                "has a header naming phone, basis and obtained_at, and optionally expires_at, "
                "channel and evidence)"
            )
        self._at = {name: names.index(name) for name in (*REQUIRED, *OPTIONAL) if name in names}
        return None

    def _field(self, fields: Sequence[str], name: str) -> str:
        index = self._at.get(name)
        return fields[index].strip() if index is not None and index < len(fields) else ""

    def parse(self, fields: Sequence[str]) -> str | Rejected:
        phone = self._field(fields, "phone")
        try:
            number = parse_lenient(phone, self._in_service)
        except InvalidPhone as exc:
            return Rejected(exc.reason, phone)
        basis = self._field(fields, "basis")
        if basis not in BASES:
            return Rejected("unknown_basis", basis)
        text = self._field(fields, "obtained_at")
        obtained_at = _time(text)
        if obtained_at is None:
            return Rejected("invalid_obtained_at", text)
        if obtained_at > self._latest:
            return Rejected("obtained_at_in_future", text)
        text = self._field(fields, "expires_at")
        given = _time(text) if text else None
        if text and given is None:
            return Rejected("invalid_expires_at", text)
        if given is not None and given <= obtained_at:
            return Rejected("expires_not_after_obtained", text)
        channel = self._field(fields, "channel") or "all"
        if channel not in CHANNELS:
            return Rejected("unknown_channel", channel)
        evidence = self._field(fields, "evidence")
        if len(evidence) > MAX_EVIDENCE:
            return Rejected("evidence_too_long", evidence)
        if unstorable(evidence):
            return Rejected("unstorable_evidence", evidence)
        expires_at = expiry_of(basis, obtained_at, given, number.npa, self._area_codes)
        return (
            "\t".join(
                (
                    str(number.as_int),
                    basis,
                    rfc3339_utc(obtained_at),
                    NULL if expires_at is None else rfc3339_utc(expires_at),
                    channel,
                    evidence.translate(_COPY_ESCAPES),
                )
            )
            + "\n"
        )


def row_parser(snapshot: Snapshot) -> ConsentRows:
    return ConsentRows(snapshot.area_codes, snapshot.in_service)


class ConsentTarget:
    finished_event = "consent_upload.finished"

    def __init__(self, upload_id: str, tenant_id: str, actor: str | None) -> None:
        self.upload_id = upload_id
        self.tenant_id = tenant_id
        self.actor = actor
        self.details: dict[str, object] = {"source": SOURCE}

    async def merge(self, raw: Any, mode: str) -> tuple[int, int]:
        """(consents recorded, 0)."""
        assert mode == "append", "consent uploads only append"
        added = await repository.add_uploaded(
            raw,
            tenant_id=self.tenant_id,
            source=SOURCE,
            actor=self.actor,
            upload_id=self.upload_id,
        )
        return added, 0


async def target(raw: Any, upload: Mapping[str, Any]) -> ConsentTarget:
    return ConsentTarget(upload["id"], upload["tenant_id"], upload["created_by"])
