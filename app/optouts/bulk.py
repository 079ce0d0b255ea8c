"""Bulk opt-outs: the merge of an upload's numbers into a tenant's events and state."""

from __future__ import annotations

from typing import Any

from app.optouts.repository import apply_events

# one opt-out event per number of the upload (ids made in SQL: 'oo_' and 128 random bits)
INSERT_UPLOADED = apply_events(
    "INSERT INTO optout_events "
    "(id, tenant_id, number, channel, kind, source, occurred_at, actor_key_id, upload_id) "
    "SELECT 'oo_' || replace(gen_random_uuid()::text, '-', ''), $1, number, $2, 'opt_out', "
    "$3, now(), $4, $5 FROM upload_numbers ORDER BY number"
)


def _already_out(channel: str) -> str:
    covered = ("voice", "sms") if channel == "all" else (channel,)
    return " AND ".join(f"s.{c}_out" for c in covered)


class OptOutTarget:
    finished_event = "optout_upload.finished"

    def __init__(
        self, upload_id: str, tenant_id: str, channel: str, source: str, actor: str | None
    ) -> None:
        self.upload_id = upload_id
        self.tenant_id = tenant_id
        self.channel = channel
        self.source = source
        self.actor = actor
        self.details: dict[str, object] = {"channel": channel, "source": source}

    async def merge(self, raw: Any, mode: str) -> tuple[int, int]:
        """(numbers newly opted out on the upload's channel, 0)."""
        assert mode == "append", "opt-out uploads only append"
        already = await raw.fetchval(
            "SELECT count(*) FROM upload_numbers u JOIN optout_state s "
            f"ON s.tenant_id = $1 AND s.number = u.number WHERE {_already_out(self.channel)}",
            self.tenant_id,
        )
        inserted = await raw.fetchval(
            INSERT_UPLOADED,
            self.tenant_id,
            self.channel,
            self.source,
            self.actor,
            self.upload_id,
        )
        return int(inserted) - int(already), 0
