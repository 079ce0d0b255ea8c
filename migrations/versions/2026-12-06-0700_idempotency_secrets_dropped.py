"""Idempotency records: no stored secrets, keys scoped by API key

Until now a key's creation or rotation stored its answer, the new secret in plain text, for
the Idempotency-Key's 24 hours, shared by every key of the tenant. Those routes no longer take
an Idempotency-Key, and stored answers now belong to the API key that sent them (scope is the
key's id, not its tenant's). This deletes every stored answer that carries a secret and every
record under the old tenant-wide scopes: a client retrying one of those within 24 h runs its
request again instead of replaying, as after the retention ends. Not reversible in content
(the deleted answers are gone); the downgrade does nothing.

Revision ID: 0011_idempotency_secrets_dropped
Revises: 0010_check_records_write_order
Create Date: 2026-12-06 07:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_idempotency_secrets_dropped"
down_revision: str | None = "0010_check_records_write_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_records WHERE scope NOT LIKE 'key\\_%'")


def downgrade() -> None:
    pass
