"""Idempotency records keep the first response's request id, so a replay answers with it

API-2.md clarifies part 1: a replay is the first response exactly, its `X-Request-Id` included,
so an envelope's `request_id` always equals its header. The new nullable `request_id` column holds
the id the first response was sent with. Records stored before this change (at most 24 h of
them) get it back from their body where the body is an error envelope, whose last member is the
request id; the others keep null, and their replays carry the replaying request's own id, as
before. The downgrade drops the column (replays then carry the replaying request's id again).

Revision ID: 0012_idempotency_request_id
Revises: 0011_idempotency_secrets_dropped
Create Date: 2026-12-06 07:15:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_idempotency_request_id"
down_revision: str | None = "0011_idempotency_secrets_dropped"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotency_records", sa.Column("request_id", sa.String(128), nullable=True))
    # `escape` never fails on bytes that are not UTF-8; an envelope ends with its request id,
    # written compactly ({"error":…,"request_id":"…"}), and a request id is 1-128 of A-Za-z0-9._-
    op.execute(
        """
        UPDATE idempotency_records
        SET request_id = substring(
            encode(body, 'escape') FROM '"request_id":"([A-Za-z0-9._-]{1,128})"[}]$'
        )
        WHERE state = 'done' AND status >= 400 AND content_type = 'application/json'
        """
    )


def downgrade() -> None:
    op.drop_column("idempotency_records", "request_id")
