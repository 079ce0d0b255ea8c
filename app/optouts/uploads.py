"""A bulk opt-out upload's target: the tenant's opt-outs on one channel (app/uploads runs it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.optouts import repository


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
        already = await repository.count_uploaded_already_out(raw, self.tenant_id, self.channel)
        inserted = await repository.opt_out_uploaded(
            raw,
            tenant_id=self.tenant_id,
            channel=self.channel,
            source=self.source,
            actor=self.actor,
            upload_id=self.upload_id,
        )
        return inserted - already, 0


async def target(raw: Any, upload: Mapping[str, Any]) -> OptOutTarget:
    return OptOutTarget(
        upload["id"], upload["tenant_id"], upload["channel"], upload["source"], upload["created_by"]
    )
