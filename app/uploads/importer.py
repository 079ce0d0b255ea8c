"""Running an upload: spool -> parse in chunks (off the event loop) -> COPY into a staging
table -> one set-based merge into its target, all in one transaction with the upload's final
state and its change event.

Until that transaction commits, checks see the list as it was; a crash, a kill or a lost
connection rolls it back, and the sweeper turns the orphaned upload into `failed` once its
heartbeat stops. What an upload merges into is its kind's `Target`, given by the feature that
owns those tables (app/dnc/uploads.py, app/optouts/uploads.py, app/consents/uploads.py): this
package knows none of them. A kind whose rows have several columns (consents) also gives a
`RowParser`: its file is a CSV with a header, staged into `upload_rows` (the columns the parser
declares, identical rows once) instead of `upload_numbers`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import plain_url
from app.events.repository import record_event_on
from app.reference.snapshot import Snapshot
from app.uploads import repository
from app.uploads.errors import UploadFailed
from app.uploads.fileformat import FileFormatError
from app.uploads.fileformat import Rejected as Rejected
from app.uploads.fileformat import RowParser as RowParser
from app.uploads.reading import ChunkReader

HEARTBEAT_S = 3.0
STALE_S = 15  # an upload whose heartbeat is older than this lost its process
UPLOAD_SESSION = {
    "application_name": "callguard-upload",
    "statement_timeout": "0",
    # a merge runs for minutes: if this process dies, PostgreSQL notices within a second and
    # ends it, instead of finishing it (holding the list row) for nothing
    "client_connection_check_interval": "1000",
}
REPLACE_MAX_REJECTED = 0.01
INTERRUPTED = {"error": "interrupted", "message": "The upload was interrupted; nothing changed."}
log = logging.getLogger("callguard.uploads")


class Target(Protocol):
    """What an upload merges into: a DNC list, or a tenant's opt-outs."""

    finished_event: str
    details: dict[str, object]

    async def merge(self, raw: Any, mode: str) -> tuple[int, int]:
        """Set-based from `upload_numbers` (or, for a kind with a `RowParser`, `upload_rows`):
        (rows added, rows removed)."""
        ...


# the upload's row -> its target, on the upload's connection (it may lock the target's row)
TargetFactory = Callable[[Any, Mapping[str, Any]], Awaitable[Target]]
Targets = Mapping[str, TargetFactory]
# the reference snapshot -> the parser of a kind whose rows have several columns
RowParserFactory = Callable[[Snapshot], RowParser]
RowKinds = Mapping[str, RowParserFactory]
Progress = Callable[[int, int], None]  # (rows read, rows rejected) so far


@contextlib.asynccontextmanager
async def heartbeat(
    engine: AsyncEngine, upload_id: str, reader: ChunkReader
) -> AsyncIterator[None]:
    """Keep the upload's heartbeat (and live progress) fresh while it runs."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            with contextlib.suppress(Exception):  # a missed beat only delays progress
                await repository.beat_running(
                    engine, upload_id, reader.rows_read, reader.rows_rejected, reader.phase
                )

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def is_stale(heartbeat_at: datetime) -> bool:
    """Whether an upload's heartbeat says its process died (what `sweep_stale` fails)."""
    return heartbeat_at < datetime.now(UTC) - timedelta(seconds=STALE_S)


async def sweep_stale(engine: AsyncEngine) -> int:
    """Uploads whose process died (no heartbeat) are failed, never left running."""
    return await repository.fail_stale(engine, STALE_S, INTERRUPTED)


async def run_upload(
    *,
    engine: AsyncEngine,
    upload_id: str,
    spool: Path,
    in_service: Collection[str],
    targets: Targets,
    on_progress: Progress | None = None,
    max_bytes: int | None = None,
    row_kinds: RowKinds | None = None,
    snapshot: Snapshot | None = None,
) -> None:
    """`max_bytes`: the most the file may hold once decompressed (None: no limit).
    `row_kinds`: the kinds whose rows have several columns, whose parsers are made from
    `snapshot` (needed for them only)."""
    parsers = _Parsers(row_kinds or {}, snapshot)
    try:
        await repository.mark_running(engine, upload_id)
        await _run(engine, upload_id, spool, in_service, targets, on_progress, max_bytes, parsers)
    except UploadFailed as exc:
        await _fail(engine, upload_id, exc.failure)
    except FileFormatError as exc:
        await _fail(engine, upload_id, {"error": "unreadable_file", "message": str(exc)})
    except Exception:
        log.exception("upload failed", extra={"upload_id": upload_id})
        await _fail(
            engine,
            upload_id,
            {"error": "internal_error", "message": "The upload failed; nothing changed."},
        )
    finally:
        spool.unlink(missing_ok=True)


class _Parsers:
    def __init__(self, kinds: RowKinds, snapshot: Snapshot | None) -> None:
        self.kinds = kinds
        self.snapshot = snapshot

    def of(self, kind: str) -> RowParser | None:
        factory = self.kinds.get(kind)
        if factory is None:
            return None
        assert self.snapshot is not None, "a kind with a row parser needs the snapshot"
        return factory(self.snapshot)


async def _fail(engine: AsyncEngine, upload_id: str, failure: Mapping[str, object]) -> None:
    with contextlib.suppress(Exception):  # the sweeper fails it later if the database is away
        await repository.mark_failed(engine, upload_id, failure)


async def _run(
    engine: AsyncEngine,
    upload_id: str,
    spool: Path,
    in_service: Collection[str],
    targets: Targets,
    on_progress: Progress | None,
    max_bytes: int | None,
    parsers: _Parsers,
) -> None:
    # A connection of its own: the pool's carry the request timeout (client side too), and a
    # merge of tens of millions of rows runs for minutes.
    raw = await asyncpg.connect(
        plain_url(engine.url), command_timeout=None, server_settings=UPLOAD_SESSION
    )
    try:
        upload = await repository.upload_row(raw, upload_id)
        if upload is None:
            raise UploadFailed("not_found", "The upload record is gone.")
        parser = parsers.of(upload["kind"])
        reader = await asyncio.to_thread(
            ChunkReader,
            spool,
            is_gzip=upload["gzip"],
            column=upload["column_name"],
            in_service=in_service,
            max_bytes=max_bytes,
            rows=parser,
        )
        try:
            async with heartbeat(engine, upload_id, reader), raw.transaction():
                await repository.begin_merge(raw)
                target = await targets[upload["kind"]](raw, upload)

                async def chunks() -> AsyncIterator[bytes]:
                    while (chunk := await asyncio.to_thread(reader.next_chunk)) is not None:
                        if on_progress is not None:
                            on_progress(reader.rows_read, reader.rows_rejected)
                        yield chunk

                mode = upload["mode"]
                if parser is None:
                    accepted = await repository.stage_numbers(raw, chunks(), mode=mode)
                else:
                    accepted = await repository.stage_rows(raw, chunks(), parser.columns)
                if accepted == 0:
                    what = "phone number" if parser is None else "row"
                    raise UploadFailed(
                        "upload_rejected", f"No valid {what} in the file; nothing changed."
                    )
                if mode == "replace" and not upload["force"]:
                    _replace_safety(reader, accepted)
                reader.phase = "merging"
                added, removed = await target.merge(raw, mode)
                counts = {
                    "rows_read": reader.rows_read,
                    "rows_accepted": accepted,
                    "rows_rejected": reader.rows_rejected,
                    "rows_duplicate": reader.rows_read - reader.rows_rejected - accepted,
                    "rows_added": added,
                    "rows_removed": removed,
                }
                # the event and the upload say the same instant: when it finished
                finished_at = await record_event_on(
                    raw,
                    type=target.finished_event,
                    target=upload_id,
                    tenant_id=upload["tenant_id"],
                    actor_key_id=upload["created_by"],
                    details={**target.details, "mode": mode, **counts},
                )
                await repository.mark_succeeded(
                    raw, upload_id, finished_at=finished_at, counts=counts, errors=reader.errors
                )
        except UploadFailed:
            await repository.record_rows(
                engine, upload_id, reader.rows_read, reader.rows_rejected, reader.errors
            )
            raise
        finally:
            await asyncio.to_thread(reader.close)
    finally:
        await raw.close()


def _replace_safety(reader: ChunkReader, accepted: int) -> None:
    if reader.rows_rejected > REPLACE_MAX_REJECTED * reader.rows_read:
        raise UploadFailed(
            "upload_rejected",
            f"{reader.rows_rejected} of {reader.rows_read} rows were rejected (over 1%); "
            "the list is unchanged. Fix the file, or send ?force=true.",
        )
