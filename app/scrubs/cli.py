"""`callguard scrub FILE`: the scrub path from the command line, with a progress bar; the result
(or its `--only` rows) goes to `-o OUT` or standard output, the scrub itself to standard error."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import shutil
import sys
import time
from collections.abc import Mapping
from typing import Any

from app.callingrules.service import load_snapshot
from app.checks.service import Context
from app.core.channels import CHANNELS
from app.core.commands import CommandFailed, instant
from app.core.config import Settings
from app.core.db import Database
from app.core.ids import new_id
from app.reference.snapshot import ReferenceData
from app.rules.data import HolidayCalendars, load_frequency_caps, load_jurisdictions
from app.scrubs import repository, service
from app.scrubs.reading import GZIP_MAGIC
from app.scrubs.schemas import ScrubOut
from app.scrubs.tasks import Progress, input_path, result_path, run_scrub
from app.uploads.spools import open_spool, private_dir


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scrub = commands.add_parser(
        "scrub", help="decide every row of a campaign file as checks would (nothing recorded)"
    )
    scrub.add_argument("file", type=argparse.FileType("rb"), help="CSV or a number a line; gzip ok")
    scrub.add_argument("-o", "--output", metavar="OUT", help="the result CSV (default stdout)")
    scrub.add_argument("--at", type=instant, help="the calls' instant (default now)")
    scrub.add_argument("--tenant", metavar="ten_…", help="scrub for this tenant")
    scrub.add_argument("--channel", choices=CHANNELS, default="voice")
    scrub.add_argument("--purpose", default="default", help="the calls' subject (caps)")
    scrub.add_argument("--column", help="the CSV phone column, if not a usual name")
    scrub.add_argument(
        "--only",
        choices=("all", "allowed", "blocked", "invalid"),
        default="all",
        help="which rows to write",
    )
    scrub.set_defaults(run=_cmd_scrub, needs_database=True)


def _progress_bar() -> Progress:
    started = time.monotonic()

    def show(rows: int) -> None:
        rate = rows / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(f"\r{rows:>12,} rows decided, {rate:,.0f} rows/s ")
        sys.stderr.flush()

    return show


def _cmd_scrub(args: argparse.Namespace, settings: Settings, url: str) -> int:
    scrub = asyncio.run(_scrub(args, settings, url))
    sys.stderr.write(scrub.model_dump_json(indent=2) + "\n")
    if scrub.status != "succeeded":
        failure = scrub.failure or {}
        raise CommandFailed(str(failure.get("message", "the scrub failed")))
    return 0


async def _scrub(args: argparse.Namespace, settings: Settings, url: str) -> ScrubOut:
    database = Database.from_url(url, settings)
    folder = private_dir(settings.data_dir / "scrubs")
    scrub_id = new_id("scr")
    spool = input_path(folder, scrub_id)
    try:
        digest = hashlib.sha256()
        with args.file as source, open_spool(spool) as out:
            is_gzip = source.peek(2)[:2] == GZIP_MAGIC if hasattr(source, "peek") else False
            while block := source.read(1 << 20):
                out.write(block)
                digest.update(block)
        async with database.sessionmaker() as session, session.begin():
            await repository.add_scrub(
                session,
                id=scrub_id,
                tenant_id=args.tenant,
                at=service.instant(args.at),
                channel=args.channel,
                purpose=args.purpose,
                column_name=args.column,
                gzip=is_gzip,
                input_sha256=digest.hexdigest(),
            )
        reference = ReferenceData(load_snapshot)

        async def context_of(row: Mapping[str, Any]) -> Context:
            return Context(
                snapshot=await reference.current(database.sessionmaker),
                laws=load_jurisdictions(),
                holidays=HolidayCalendars(),
                tenant_id=row["tenant_id"],
                api_key_id=None,
                request_id=row["id"],
                caps=load_frequency_caps(),
            )

        show = _progress_bar() if sys.stderr.isatty() else None
        await run_scrub(
            engine=database.engine,
            scrub_id=scrub_id,
            folder=folder,
            context_of=context_of,
            max_bytes=settings.max_upload_bytes,
            retention_days=settings.scrub_retention_days,
            on_progress=show,
        )
        if show is not None:
            sys.stderr.write("\n")
        async with database.sessionmaker() as session:
            row = await repository.visible_scrub(session, scrub_id, None, every_tenant=True)
            assert row is not None
            scrub = ScrubOut.model_validate(row)
        if scrub.status == "succeeded":
            await _write(result_path(folder, scrub_id), args.output, args.only)
        return scrub
    finally:
        spool.unlink(missing_ok=True)
        await database.dispose()


async def _write(path: Any, output: str | None, only: str) -> None:
    handle = path.open("rb")
    if output is None:
        async for block in service.result_chunks(handle, only):
            sys.stdout.buffer.write(block)
        sys.stdout.flush()
        return
    with open(output, "wb") as out:
        if only == "all":
            with handle:
                shutil.copyfileobj(handle, out, 1 << 20)
            return
        async for block in service.result_chunks(handle, only):
            out.write(block)
