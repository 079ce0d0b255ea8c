"""List kinds and registry freshness, consents, the stale-registry policy

- `dnc_lists.kind`: `registry` | `internal` | `litigator`; every existing list becomes `internal`
  (API-2.md section 12). `refreshed_at`: the list's creation, then the finish of each succeeded
  `append` or `replace` upload (existing lists: the newest such finish, else their creation).
  `max_age_days`: set exactly when the list is a registry (31 unless given). A partial index
  finds the live registry lists, whose freshness every check reads.
- `consents` (API-2.md section 13): never deleted, never changed but revoked once (a trigger),
  found by `(tenant_id, number)` in the check's lookup.
- `calling_policies.on_stale_registry`: `refuse` (the default) or `allow`.
- `uploads` take `kind = 'consent'` (a tenant's, append only, each row with its own channel).

Revision ID: 0015_list_kinds_consents
Revises: 0014_upload_duplicates_and_phase
Create Date: 2026-12-06 10:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_list_kinds_consents"
down_revision: str | None = "0014_upload_duplicates_and_phase"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOW = sa.text("now()")
CHANNELS = "('voice', 'sms', 'all')"
SOURCES = "('sms_stop', 'ivr', 'agent', 'web', 'email', 'api')"
BASES = "('express_written_consent', 'ebr_transaction', 'ebr_inquiry')"

REVOKE_ONLY = """
CREATE FUNCTION consents_revoke_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL
       AND (NEW.seq, NEW.id, NEW.tenant_id, NEW.number, NEW.basis, NEW.obtained_at,
            NEW.expires_at, NEW.channel, NEW.source, NEW.evidence, NEW.created_at,
            NEW.created_by, NEW.upload_id)
           IS NOT DISTINCT FROM
           (OLD.seq, OLD.id, OLD.tenant_id, OLD.number, OLD.basis, OLD.obtained_at,
            OLD.expires_at, OLD.channel, OLD.source, OLD.evidence, OLD.created_at,
            OLD.created_by, OLD.upload_id)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consents are never deleted or changed, only revoked once: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""

OLD_UPLOAD_KINDS = (
    "(kind = 'dnc' AND list_id IS NOT NULL AND channel IS NULL) OR "
    f"(kind = 'optout' AND list_id IS NULL AND tenant_id IS NOT NULL "
    f"AND channel IN {CHANNELS} AND source IN {SOURCES} AND mode = 'append')"
)
UPLOAD_KINDS = (
    f"{OLD_UPLOAD_KINDS} OR "
    "(kind = 'consent' AND list_id IS NULL AND tenant_id IS NOT NULL AND mode = 'append')"
)


def upgrade() -> None:
    op.add_column(
        "dnc_lists",
        sa.Column("kind", sa.String(10), server_default="internal", nullable=False),
    )
    op.add_column(
        "dnc_lists",
        sa.Column("refreshed_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
    )
    op.add_column("dnc_lists", sa.Column("max_age_days", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE dnc_lists l SET refreshed_at = greatest(l.created_at, coalesce(("
        "  SELECT max(u.finished_at) FROM uploads u WHERE u.list_id = l.id"
        "  AND u.status = 'succeeded' AND u.mode IN ('append', 'replace')), l.created_at))"
    )
    op.create_check_constraint(
        op.f("ck_dnc_lists_kind"), "dnc_lists", "kind IN ('registry', 'internal', 'litigator')"
    )
    op.create_check_constraint(
        op.f("ck_dnc_lists_max_age_kind"),
        "dnc_lists",
        "(kind = 'registry') = (max_age_days IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_dnc_lists_max_age_days"), "dnc_lists", "max_age_days BETWEEN 1 AND 3660"
    )
    op.create_index(
        "ix_dnc_lists_live_registry",
        "dnc_lists",
        ["tenant_id"],
        postgresql_where=sa.text("kind = 'registry' AND deleted_at IS NULL"),
    )

    op.create_table(
        "consents",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("basis", sa.String(24), nullable=False),
        sa.Column("obtained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel", sa.String(5), server_default="all", nullable=False),
        sa.Column("source", sa.Text(), server_default="api", nullable=False),
        sa.Column("evidence", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=NOW, nullable=False),
        sa.Column("created_by", sa.String(40), nullable=True),
        sa.Column("upload_id", sa.String(40), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(40), nullable=True),
        sa.CheckConstraint(f"basis IN {BASES}", name=op.f("ck_consents_basis")),
        sa.CheckConstraint(f"channel IN {CHANNELS}", name=op.f("ck_consents_channel")),
        sa.CheckConstraint(
            "expires_at IS NULL OR expires_at > obtained_at", name=op.f("ck_consents_expires_after")
        ),
        sa.CheckConstraint(
            "char_length(evidence) <= 1000", name=op.f("ck_consents_evidence_length")
        ),
        sa.CheckConstraint("char_length(source) <= 200", name=op.f("ck_consents_source_length")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_consents_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index("ix_consents_tenant_number", "consents", ["tenant_id", "number"])
    op.create_index("ix_consents_tenant_created", "consents", ["tenant_id", "created_at", "id"])
    op.execute(REVOKE_ONLY)
    op.execute(
        "CREATE TRIGGER consents_revoke_only BEFORE UPDATE OR DELETE ON consents "
        "FOR EACH ROW EXECUTE FUNCTION consents_revoke_only()"
    )

    op.add_column(
        "calling_policies",
        sa.Column("on_stale_registry", sa.String(6), server_default="refuse", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_calling_policies_on_stale_registry"),
        "calling_policies",
        "on_stale_registry IN ('refuse', 'allow')",
    )

    op.drop_constraint(op.f("ck_uploads_kind"), "uploads")
    op.create_check_constraint(op.f("ck_uploads_kind"), "uploads", UPLOAD_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM uploads WHERE kind = 'consent'")
    op.drop_constraint(op.f("ck_uploads_kind"), "uploads")
    op.create_check_constraint(op.f("ck_uploads_kind"), "uploads", OLD_UPLOAD_KINDS)
    op.drop_constraint(op.f("ck_calling_policies_on_stale_registry"), "calling_policies")
    op.drop_column("calling_policies", "on_stale_registry")
    op.execute("DROP TRIGGER consents_revoke_only ON consents")
    op.execute("DROP FUNCTION consents_revoke_only()")
    op.drop_table("consents")
    op.drop_index("ix_dnc_lists_live_registry", table_name="dnc_lists")
    op.drop_constraint(op.f("ck_dnc_lists_max_age_days"), "dnc_lists")
    op.drop_constraint(op.f("ck_dnc_lists_max_age_kind"), "dnc_lists")
    op.drop_constraint(op.f("ck_dnc_lists_kind"), "dnc_lists")
    op.drop_column("dnc_lists", "max_age_days")
    op.drop_column("dnc_lists", "refreshed_at")
    op.drop_column("dnc_lists", "kind")
