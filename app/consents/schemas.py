from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.core.channels import OptOutChannel
from app.core.schemas import RequestTime, TextInput, UtcDatetime
from app.uploads.schemas import UploadBase

Basis = Literal["express_written_consent", "ebr_transaction", "ebr_inquiry"]
MAX_EVIDENCE = 1000
MAX_SOURCE = 200


class ConsentIn(TextInput):
    phone: Annotated[str, Field(max_length=64, description="E.164, e.g. +14155551234")]
    basis: Basis = Field(
        description="`express_written_consent` (a signed written agreement), `ebr_transaction` "
        "(a purchase or contract: the last transaction) or `ebr_inquiry` (an inquiry or "
        "application)."
    )
    obtained_at: RequestTime = Field(
        description="When it was obtained, with its offset (not in the future)."
    )
    expires_at: RequestTime | None = Field(
        default=None,
        description="When it lapses; after `obtained_at`. Default by basis and the number's "
        "country, in calendar months in UTC: `ebr_transaction` 18, `ebr_inquiry` 3 (6 for a "
        "Canadian number), `express_written_consent` none (until revoked).",
    )
    channel: OptOutChannel = Field(default="all", description="What it allows: calls, texts.")
    source: Annotated[str, Field(min_length=1, max_length=MAX_SOURCE)] = Field(
        default="api", description="Where it came from (free text, e.g. `web form`)."
    )
    evidence: Annotated[str, Field(max_length=MAX_EVIDENCE)] = Field(
        default="", description="Proof to find it again: a document id, a URL."
    )


class ConsentOut(BaseModel):
    id: str
    phone: str
    basis: str
    obtained_at: UtcDatetime
    expires_at: UtcDatetime | None = Field(description="null: until revoked.")
    channel: str
    source: str
    evidence: str
    created_at: UtcDatetime = Field(description="When callguard recorded it.")
    created_by: str | None = Field(description="The key that recorded it.")
    upload_id: str | None = Field(description="The bulk upload it came from, if any.")
    revoked_at: UtcDatetime | None
    revoked_by: str | None = Field(description="The key that revoked it.")
    active: bool = Field(
        description="In force now: obtained, not expired (`obtained_at <= now < expires_at`) "
        "and not revoked."
    )


class ConsentUploadOut(UploadBase):
    """A bulk consent upload: each accepted row is a consent; `rows_added` counts the consents
    it recorded (an accepted row identical to a consent the tenant already holds, revoked or
    not, records none)."""

    rows_duplicate: int = Field(
        description="Valid rows identical (after defaults) to an earlier row of the file: "
        "rows_read = rows_accepted + rows_rejected + rows_duplicate."
    )


EXAMPLE: dict[str, Any] = {
    "id": "cns_4Fh2Kq9LmP0sT7vX",
    "phone": "+14155552671",
    "basis": "ebr_inquiry",
    "obtained_at": "2026-11-30T17:05:00Z",
    "expires_at": "2027-02-28T17:05:00Z",
    "channel": "all",
    "source": "web form",
    "evidence": "https://crm.example.com/leads/8812",
    "created_at": "2026-12-01T09:12:40Z",
    "created_by": "key_7Hc2",
    "upload_id": None,
    "revoked_at": None,
    "revoked_by": None,
    "active": True,
}
REVOKED_EXAMPLE: dict[str, Any] = {
    **EXAMPLE,
    "revoked_at": "2026-12-03T14:00:02Z",
    "revoked_by": "key_7Hc2",
    "active": False,
}
UPLOAD_EXAMPLE: dict[str, Any] = {
    "id": "upl_8Rt3Wc1",
    "mode": "append",
    "status": "succeeded",
    "phase": None,
    "rows_read": 4,
    "rows_accepted": 2,
    "rows_rejected": 1,
    "rows_duplicate": 1,
    "rows_added": 2,
    "rows_removed": 0,
    "errors": [{"line": 4, "value": "ebr_purchase", "reason": "unknown_basis"}],
    "created_at": "2026-12-01T09:12:40Z",
    "finished_at": "2026-12-01T09:12:41Z",
    "failure": None,
}
