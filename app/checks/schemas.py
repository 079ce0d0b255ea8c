from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field

from app.core.channels import Channel
from app.core.schemas import DateTimeText, StrictInput, not_a_number
from app.core.text import unstorable

State = Annotated[str, Field(min_length=2, max_length=2, description="e.g. CA, TX, ON")]


def _storable(value: str) -> str:
    problem = unstorable(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Purpose = Annotated[
    str,
    AfterValidator(_storable),
    Field(
        min_length=1,
        max_length=64,
        description="The call's subject: frequency caps count attempts per purpose "
        "(API-2.md section 14).",
        examples=["renewal"],
    ),
]
RESERVE = Field(
    default=False,
    description="An allowed check records its attempt at `at` atomically with its audit "
    "record, so concurrent reserving checks never together pass a frequency cap.",
)


class CheckIn(StrictInput):
    to: Annotated[str, Field(max_length=256, description="E.164, e.g. +14155551234")]
    at: Annotated[AwareDatetime, BeforeValidator(not_a_number)] | None = Field(
        default=None,
        description="When the call would be placed: RFC 3339 with its offset (an epoch "
        "number is refused).",
    )
    recipient_state: State | None = None
    channel: Channel = "voice"
    reserve: bool = RESERVE
    purpose: Purpose = "default"


class BatchItemIn(StrictInput):
    to: Annotated[str, Field(max_length=256)]
    recipient_state: State | None = None


class BatchIn(StrictInput):
    items: Annotated[list[BatchItemIn], Field(min_length=1, max_length=10_000)]
    at: Annotated[AwareDatetime, BeforeValidator(not_a_number)] | None = None
    channel: Channel = "voice"
    reserve: bool = RESERVE
    purpose: Purpose = "default"


class Zone(BaseModel):
    time_zone: str
    local_time: DateTimeText


class Exemption(BaseModel):
    """A consent in force at `at` that waived every match of the number, all on registry lists
    (API-2.md section 13)."""

    consent_id: Annotated[str, Field(examples=["cns_2Vb8xQ1mZ9"])]
    basis: Literal["express_written_consent", "ebr_transaction", "ebr_inquiry"]
    obtained_at: DateTimeText
    expires_at: DateTimeText | None
    waived_lists: Annotated[list[str], Field(examples=[["lst_national"]])]


class RegistryWarning(BaseModel):
    """A registry list that applies is within 7 days of its maximum age, or past it while the
    policy's on_stale_registry is allow (API-2.md section 12)."""

    code: Literal["registry_aging", "registry_stale"]
    list_id: str
    list_name: str
    refreshed_at: DateTimeText
    stale_at: DateTimeText


class Reservation(BaseModel):
    attempt_id: Annotated[str, Field(examples=["att_2Vb8xQ1mZ9"])]
    purpose: str


class CheckOk(BaseModel):
    ok: Literal[True]
    check_id: str
    to: str
    at: DateTimeText
    zones: list[Zone]
    jurisdictions: list[str]
    allowed_until: DateTimeText | None
    exemption: Exemption | None = Field(
        default=None, description="Present when a consent waived registry-list matches."
    )
    warnings: list[RegistryWarning] | None = Field(
        default=None, description="Present while a registry list that applies ages or is stale."
    )
    reservation: Reservation | None = Field(
        default=None, description="With `reserve`: the attempt this allowed check recorded."
    )


class BatchFailedItem(BaseModel):
    to: str
    ok: Literal[False]
    error: str
    message: str
    details: dict[str, object]
    check_id: str


class BatchSummary(BaseModel):
    allowed: int
    invalid_phone: int
    opted_out: int
    dnc_blocked: int
    call_hours_violation: int


class BatchOut(BaseModel):
    results: list[CheckOk | BatchFailedItem]
    summary: BatchSummary
