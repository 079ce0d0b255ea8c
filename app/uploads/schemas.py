from pydantic import BaseModel, Field

from app.core.schemas import UtcDatetime


class UploadBase(BaseModel):
    id: str
    mode: str
    status: str
    phase: str | None = Field(
        default=None,
        description="While running: `reading` the file, then `merging` it (a long merge is "
        "not stuck); null otherwise.",
    )
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int = Field(
        description="Valid rows whose number came earlier in the file: "
        "rows_read = rows_accepted + rows_rejected + rows_duplicate."
    )
    rows_added: int
    rows_removed: int
    errors: list[dict[str, object]]
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    failure: dict[str, object] | None


class UploadOut(UploadBase):
    """A DNC upload into a list."""

    list_id: str


class OptOutUploadOut(UploadBase):
    """A bulk opt-out upload: `rows_added` counts numbers newly opted out on its channel."""

    channel: str
    source: str


class UploadSummary(BaseModel):
    """An upload in a listing: where it stands and its counts, without its row errors (read the
    one upload for those)."""

    id: str
    kind: str = Field(description="What the file is of: `dnc` numbers into a list, `optout`s, …")
    mode: str
    status: str = Field(description="`queued`, `running`, `succeeded` or `failed`.")
    phase: str | None = Field(
        default=None, description="While running: `reading` the file, then `merging` it."
    )
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rows_duplicate: int
    rows_added: int
    rows_removed: int
    created_at: UtcDatetime
    finished_at: UtcDatetime | None
    failure: dict[str, object] | None


class OptOutUploadSummary(UploadSummary):
    """A bulk opt-out upload in a listing."""

    channel: str
    source: str
