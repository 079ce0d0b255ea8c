"""Running an upload: spool -> parse in chunks (off the event loop) -> COPY into a staging
table -> one set-based merge, all in one transaction with the upload's final state.

Until that transaction commits, checks see the list as it was; a crash, a kill or a lost
connection rolls it back, and the sweeper turns the orphaned upload into `failed` once its
heartbeat stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import io
import json
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.db import plain_url
from app.core.ids import new_id
from app.core.text import escaped
from app.optouts.bulk import OptOutTarget
from app.uploads.fileformat import (
    MAX_LINE_CHARS,
    FileFormatError,
    Layout,
    detect,
    normalize,
    values,
)

CHUNK_ROWS = 50_000
SORT_MEMORY = "256MB"
MAX_ERRORS = 1000
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
log = logging.getLogger("callguard.uploads")


class UploadFailed(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.failure = {"error": error, "message": message}


class _Inflated(io.RawIOBase):
    """The file's bytes as stored or decompressed, refusing to yield more than `limit` of
    them: a small gzip can inflate to far more than the body limit let in (a gzip bomb)."""

    def __init__(self, inner: IO[bytes], *, is_gzip: bool, limit: int | None) -> None:
        self._inner = inner
        self._is_gzip = is_gzip
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            if not self._is_gzip:
                raise
            raise FileFormatError(f"the gzip data is corrupt or cut short ({exc})") from None
        self.count += len(data)
        if self._limit is not None and self.count > self._limit:
            raise UploadFailed(
                "payload_too_large",
                f"The file is larger than the limit of {self._limit} bytes once decompressed; "
                "nothing changed.",
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


class ChunkReader:
    """Reads the spooled file and turns rows into COPY text; runs in a worker thread."""

    def __init__(
        self,
        path: Path,
        *,
        is_gzip: bool,
        column: str | None,
        in_service: Collection[str],
        max_bytes: int | None = None,
    ) -> None:
        with path.open("rb") as probe:  # gzip however it arrived: header, multipart or CLI
            is_gzip = is_gzip or probe.read(2) == b"\x1f\x8b"
        raw: IO[bytes] = gzip.open(path, "rb") if is_gzip else path.open("rb")  # type: ignore[assignment]
        inflated = _Inflated(raw, is_gzip=is_gzip, limit=max_bytes)
        self._file = io.TextIOWrapper(
            io.BufferedReader(inflated, 1 << 20),
            encoding="utf-8-sig",
            errors="replace",
            newline=None,
        )
        self._lines = self._bounded_lines()
        self._column = column
        self._in_service = in_service
        self._rows: Any = None
        self.rows_read = 0
        self.rows_rejected = 0
        self.errors: list[dict[str, object]] = []

    def _bounded_lines(self) -> Iterator[tuple[int, str]]:
        """(line number, line) of every line up to MAX_LINE_CHARS; a longer one is a rejected
        row, read past in pieces, so one endless line cannot fill the memory."""
        readline, limit = self._file.readline, MAX_LINE_CHARS
        number = 0
        while line := readline(limit + 1):
            number += 1
            if len(line) <= limit or line[-1] == "\n":
                yield number, line.rstrip("\n")
                continue
            rest = line
            while rest and rest[-1] != "\n":
                rest = readline(limit)
            self._reject(number, line, "line_too_long")

    def _reject(self, line_number: int, value: str, reason: str) -> None:
        self.rows_read += 1
        self.rows_rejected += 1
        if len(self.errors) < MAX_ERRORS:
            # errors are stored as jsonb, which refuses NUL: unprintable characters escaped
            shown = escaped(value[:64])
            self.errors.append({"line": line_number, "value": shown, "reason": reason})

    def _start(self) -> None:
        for number, line in self._lines:
            if line.strip():
                layout = detect(line, self._column)
                first = [] if layout.header_lines else [(number, line)]
                self._rows = values(layout, _chain(first, self._lines))
                return
        self._rows = values(Layout("lines"), iter(()))

    def next_chunk(self) -> bytes | None:
        if self._rows is None:
            self._start()
        out: list[str] = []
        for line_number, value in self._rows:
            result = normalize(value, self._in_service)
            if isinstance(result, int):
                self.rows_read += 1
                out.append(f"{result}\n")
            else:
                self._reject(line_number, value, result)
            if len(out) >= CHUNK_ROWS:
                break
        else:
            if not out:
                return None
        return "".join(out).encode()

    def close(self) -> None:
        self._file.close()


def _chain(first: list[tuple[int, str]], rest: Any) -> Any:
    yield from first
    yield from rest


@contextlib.asynccontextmanager
async def heartbeat(
    engine: AsyncEngine, upload_id: str, reader: ChunkReader
) -> AsyncIterator[None]:
    """Keep the upload's heartbeat (and live progress) fresh while it runs."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            with contextlib.suppress(Exception):  # a missed beat only delays progress
                async with engine.begin() as conn:
                    await conn.execute(
                        text(
                            "UPDATE uploads SET heartbeat_at = now(), rows_read = :read, "
                            "rows_rejected = :rejected WHERE id = :id AND status = 'running'"
                        ),
                        {
                            "id": upload_id,
                            "read": reader.rows_read,
                            "rejected": reader.rows_rejected,
                        },
                    )

    task = asyncio.create_task(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def sweep_stale(engine: AsyncEngine) -> int:
    """Uploads whose process died (no heartbeat) are failed, never left running."""
    async with engine.begin() as conn:
        result = await conn.execute(
            text(
                "UPDATE uploads SET status = 'failed', finished_at = now(), failure = "
                "CAST(:failure AS jsonb) WHERE status IN ('queued', 'running') "
                "AND heartbeat_at < now() - make_interval(secs => :stale)"
            ),
            {
                "stale": STALE_S,
                "failure": json.dumps(
                    {
                        "error": "interrupted",
                        "message": "The upload was interrupted; nothing changed.",
                    }
                ),
            },
        )
    return int(result.rowcount or 0)


async def _mark(engine: AsyncEngine, upload_id: str, sql: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(sql), {"id": upload_id, **params})


Progress = Callable[[int, int], None]  # (rows read, rows rejected) so far


async def run_upload(
    *,
    engine: AsyncEngine,
    upload_id: str,
    spool: Path,
    in_service: Collection[str],
    on_progress: Progress | None = None,
    max_bytes: int | None = None,
) -> None:
    """`max_bytes`: the most the file may hold once decompressed (None: no limit)."""
    try:
        await _mark(
            engine,
            upload_id,
            "UPDATE uploads SET status = 'running', heartbeat_at = now() WHERE id = :id",
        )
        await _run(engine, upload_id, spool, in_service, on_progress, max_bytes)
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


async def _fail(engine: AsyncEngine, upload_id: str, failure: Mapping[str, object]) -> None:
    with contextlib.suppress(Exception):  # the sweeper fails it later if the database is away
        await _mark(
            engine,
            upload_id,
            "UPDATE uploads SET status = 'failed', finished_at = now(), "
            "failure = CAST(:failure AS jsonb) WHERE id = :id",
            failure=json.dumps(failure),
        )


async def _run(
    engine: AsyncEngine,
    upload_id: str,
    spool: Path,
    in_service: Collection[str],
    on_progress: Progress | None,
    max_bytes: int | None,
) -> None:
    # A connection of its own: the pool's carry the request timeout (client side too), and a
    # merge of tens of millions of rows runs for minutes.
    raw = await asyncpg.connect(
        plain_url(engine.url),
        command_timeout=None,
        server_settings=UPLOAD_SESSION,
    )
    try:
        upload = await raw.fetchrow("SELECT * FROM uploads WHERE id = $1", upload_id)
        if upload is None:
            raise UploadFailed("not_found", "The upload record is gone.")
        reader = await asyncio.to_thread(
            ChunkReader,
            spool,
            is_gzip=upload["gzip"],
            column=upload["column_name"],
            in_service=in_service,
            max_bytes=max_bytes,
        )
        try:
            async with heartbeat(engine, upload_id, reader), raw.transaction():
                await raw.execute("SET LOCAL statement_timeout = 0")
                # the dedupe sort of tens of millions of numbers stays in memory, not on disk
                await raw.execute(f"SET LOCAL work_mem = '{SORT_MEMORY}'")
                target = await TARGETS[upload["kind"]](raw, upload)
                await raw.execute("CREATE TEMP TABLE upload_staging (number bigint) ON COMMIT DROP")

                async def chunks() -> AsyncIterator[bytes]:
                    while (chunk := await asyncio.to_thread(reader.next_chunk)) is not None:
                        if on_progress is not None:
                            on_progress(reader.rows_read, reader.rows_rejected)
                        yield chunk

                await raw.copy_to_table("upload_staging", source=chunks(), columns=["number"])
                # one sort: unique numbers, written in number order, read in that order by
                # every merge below (so index inserts arrive in key order)
                accepted = _count(
                    await raw.execute(
                        "CREATE TEMP TABLE upload_numbers ON COMMIT DROP AS "
                        "SELECT DISTINCT number FROM upload_staging ORDER BY number"
                    )
                )
                mode = upload["mode"]
                if mode == "remove":
                    # the one join whose plan could probe this table once per list entry
                    await raw.execute("CREATE UNIQUE INDEX ON upload_numbers (number)")
                await raw.execute("ANALYZE upload_numbers")
                if mode == "replace" and not upload["force"]:
                    _replace_safety(reader, accepted)
                added, removed = await target.merge(raw, mode)
                counts = {
                    "rows_read": reader.rows_read,
                    "rows_accepted": accepted,
                    "rows_rejected": reader.rows_rejected,
                    "rows_added": added,
                    "rows_removed": removed,
                }
                await raw.execute(
                    "INSERT INTO change_events "
                    "(id, tenant_id, actor_key_id, type, target, details) "
                    "VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
                    new_id("evt"),
                    upload["tenant_id"],
                    upload["created_by"],
                    target.finished_event,
                    upload_id,
                    json.dumps({**target.details, "mode": mode, **counts}),
                )
                await raw.execute(
                    "UPDATE uploads SET status = 'succeeded', finished_at = now(), "
                    "heartbeat_at = now(), rows_read = $2, rows_accepted = $3, "
                    "rows_rejected = $4, rows_added = $5, rows_removed = $6, errors = $7::jsonb "
                    "WHERE id = $1",
                    upload_id,
                    *counts.values(),
                    json.dumps(reader.errors),
                )
        except UploadFailed:
            await _record_rows(engine, upload_id, reader)
            raise
        finally:
            await asyncio.to_thread(reader.close)
    finally:
        await raw.close()


def _replace_safety(reader: ChunkReader, accepted: int) -> None:
    if accepted == 0:
        raise UploadFailed(
            "upload_rejected", "A replace needs at least one valid row; the list is unchanged."
        )
    if reader.rows_rejected > REPLACE_MAX_REJECTED * reader.rows_read:
        raise UploadFailed(
            "upload_rejected",
            f"{reader.rows_rejected} of {reader.rows_read} rows were rejected (over 1%); "
            "the list is unchanged. Fix the file, or send ?force=true.",
        )


async def _record_rows(engine: AsyncEngine, upload_id: str, reader: ChunkReader) -> None:
    await _mark(
        engine,
        upload_id,
        "UPDATE uploads SET rows_read = :read, rows_rejected = :rejected, "
        "errors = CAST(:errors AS jsonb) WHERE id = :id",
        read=reader.rows_read,
        rejected=reader.rows_rejected,
        errors=json.dumps(reader.errors),
    )


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


class Target(Protocol):
    """What an upload merges into: a DNC list, or a tenant's opt-outs."""

    finished_event: str
    details: dict[str, object]

    async def merge(self, raw: Any, mode: str) -> tuple[int, int]:
        """Set-based from `upload_numbers`: (rows added, rows removed)."""
        ...


class DncTarget:
    finished_event = "dnc_upload.finished"

    def __init__(self, list_id: str, seq: int) -> None:
        self.list_id = list_id
        self.seq = seq
        self.details: dict[str, object] = {"list_id": list_id}

    async def merge(self, raw: Any, mode: str) -> tuple[int, int]:
        added, removed = await _merge_dnc(raw, mode, self.seq)
        await raw.execute(
            "UPDATE dnc_lists SET entry_count = entry_count + $2, updated_at = now() WHERE id = $1",
            self.list_id,
            added - removed,
        )
        return added, removed


async def _dnc_target(raw: Any, upload: Any) -> Target:
    row = await raw.fetchrow(
        "SELECT seq, id FROM dnc_lists WHERE id = $1 AND deleted_at IS NULL FOR UPDATE",
        upload["list_id"],
    )
    if row is None:
        raise UploadFailed("not_found", "The list was deleted before the upload ran.")
    return DncTarget(row["id"], row["seq"])


async def _optout_target(raw: Any, upload: Any) -> Target:
    return OptOutTarget(
        upload["id"], upload["tenant_id"], upload["channel"], upload["source"], upload["created_by"]
    )


TARGETS: dict[str, Callable[[Any, Any], Awaitable[Target]]] = {
    "dnc": _dnc_target,
    "optout": _optout_target,
}


async def _merge_dnc(raw: Any, mode: str, seq: int) -> tuple[int, int]:
    """Set-based: (rows added, rows removed). Sorted input keeps index inserts in order."""
    removed = 0
    if mode == "remove":
        status = await raw.execute(
            "DELETE FROM dnc_entries e USING upload_numbers s "
            "WHERE e.list_seq = $1 AND e.number = s.number",
            seq,
        )
        return 0, _count(status)
    if mode == "replace":
        # Stale statistics right after a bulk load (the list's rows not yet analyzed) make
        # the planner believe the list holds one row and pick a nested loop that rescans the
        # set of gone numbers once per entry: seen twice at 10M rows, a DELETE still running
        # after 7 minutes where 70-90 s is normal. A replace reads the whole list anyway, so
        # hash or merge joins are never worse: nested loops are off for this statement.
        await raw.execute("SET LOCAL enable_nestloop = off")
        status = await raw.execute(
            "DELETE FROM dnc_entries e USING ("
            "  SELECT number FROM dnc_entries WHERE list_seq = $1"
            "  EXCEPT SELECT number FROM upload_numbers"
            ") gone WHERE e.list_seq = $1 AND e.number = gone.number",
            seq,
        )
        removed = _count(status)
        await raw.execute("SET LOCAL enable_nestloop = on")
    if not await raw.fetchval("SELECT EXISTS (SELECT 1 FROM dnc_entries WHERE list_seq = $1)", seq):
        # an empty list (the list row is locked): nothing can conflict, so a plain insert
        # skips the speculative insertion ON CONFLICT pays per row
        status = await raw.execute(
            "INSERT INTO dnc_entries (number, list_seq) SELECT number, $1::int FROM upload_numbers",
            seq,
        )
        return _count(status), removed
    status = await raw.execute(
        "INSERT INTO dnc_entries (number, list_seq) "
        "SELECT number, $1::int FROM upload_numbers ON CONFLICT DO NOTHING",
        seq,
    )
    return _count(status), removed
