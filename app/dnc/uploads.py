"""A DNC upload's target: the list it merges into (app/uploads runs it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.dnc import repository
from app.uploads.errors import UploadFailed


class DncTarget:
    finished_event = "dnc_upload.finished"

    def __init__(self, list_id: str, key: int, count: int) -> None:
        self.list_id = list_id
        self.key = key  # the list's entry key
        self.count = count  # its entries as the upload began (its row is locked)
        self.details: dict[str, object] = {"list_id": list_id}

    async def merge(self, raw: Any, mode: str) -> tuple[int, int]:
        added, removed = await repository.merge_upload(raw, mode, self.key, self.count)
        # a remove takes numbers off but brings no new copy of the registry: no refresh
        refreshed = mode in ("append", "replace")
        await repository.adjust_count_on(raw, self.list_id, added - removed, refreshed=refreshed)
        return added, removed


async def target(raw: Any, upload: Mapping[str, Any]) -> DncTarget:
    found = await repository.lock_live_list(raw, upload["list_id"])
    if found is None:
        raise UploadFailed("not_found", "The list was deleted before the upload ran.")
    return DncTarget(*found)
