"""`callguard dnc import`: the upload path from the command line, with a progress bar."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time

from sqlalchemy import true

from app.callingrules.service import load_snapshot
from app.core.commands import CommandFailed
from app.core.config import Settings
from app.core.db import Database
from app.core.ids import new_id
from app.dnc import repository, service
from app.dnc import uploads as dnc_uploads
from app.dnc.models import LIST_KINDS
from app.uploads import repository as uploads
from app.uploads.importer import Progress, run_upload
from app.uploads.schemas import UploadOut
from app.uploads.spools import open_spool, private_dir

GZIP_MAGIC = b"\x1f\x8b"
MAX_AGE_DAYS_LIMIT = 3660  # as the table's CHECK


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dnc = commands.add_parser("dnc", help="DNC lists")
    actions = dnc.add_subparsers(dest="dnc_command", required=True, metavar="ACTION")
    imp = actions.add_parser("import", help="import a file into a list, as an upload would")
    imp.add_argument(
        "file", type=argparse.FileType("rb"), help="numbers: lines, CSV or FTC; gzip ok"
    )
    which = imp.add_mutually_exclusive_group(required=True)
    which.add_argument("--list", metavar="lst_…", help="the list's id")
    which.add_argument("--list-name", metavar="NAME", help="a list by name (with --global)")
    imp.add_argument("--global", dest="is_global", action="store_true", help="a global list")
    imp.add_argument("--mode", choices=("append", "remove", "replace"), default="append")
    imp.add_argument("--force", action="store_true", help="replace: skip the 1%% safety check")
    imp.add_argument("--column", help="the CSV phone column, if not a usual name")
    imp.add_argument(
        "--kind",
        choices=LIST_KINDS,
        help="the list's kind: a list made by --list-name is made so (default internal); an "
        "existing list must already be of it (change a kind with PATCH /v1/dnc/lists/{id})",
    )
    imp.add_argument(
        "--max-age-days",
        type=_max_age_days,
        metavar="DAYS",
        help="with --kind registry: the days a copy may be used (default 31; about 92 for a "
        "state list published quarterly)",
    )
    imp.set_defaults(run=_cmd_import, subparser=imp, needs_database=True)


def _max_age_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if not 1 <= days <= MAX_AGE_DAYS_LIMIT:
        raise argparse.ArgumentTypeError(f"between 1 and {MAX_AGE_DAYS_LIMIT} days")
    return days


def _progress_bar() -> Progress:
    started = time.monotonic()

    def show(rows: int, rejected: int) -> None:
        rate = rows / max(time.monotonic() - started, 1e-6)
        sys.stderr.write(f"\r{rows:>12,} rows read, {rejected:,} rejected, {rate:,.0f} rows/s ")
        sys.stderr.flush()

    return show


def _cmd_import(args: argparse.Namespace, settings: Settings, url: str) -> int:
    parser: argparse.ArgumentParser = args.subparser
    if args.list_name is None and args.is_global:
        parser.error("--global goes with --list-name")
    if args.list_name is not None and not args.is_global:
        parser.error("name a tenant's list by its id (--list lst_…); --list-name needs --global")
    if args.max_age_days is not None and args.kind != "registry":
        parser.error("--max-age-days goes with --kind registry")
    upload = asyncio.run(_import(args, settings, url))
    print(upload.model_dump_json(indent=2))
    if upload.status != "succeeded":
        failure = upload.failure or {}
        raise CommandFailed(str(failure.get("message", "the import failed")))
    return 0


async def _import(args: argparse.Namespace, settings: Settings, url: str) -> UploadOut:
    database = Database.from_url(url, settings)
    spool_dir = private_dir(settings.data_dir / "uploads")
    upload_id = new_id("upl")
    spool = spool_dir / f"{upload_id}.upload"
    try:
        with args.file as source, open_spool(spool) as out:
            is_gzip = source.peek(2)[:2] == GZIP_MAGIC if hasattr(source, "peek") else False
            shutil.copyfileobj(source, out, 1 << 20)
        async with database.sessionmaker() as session, session.begin():
            list_id = args.list or await service.global_list_for_import(
                session, args.list_name, kind=args.kind, max_age_days=args.max_age_days
            )
            found = await repository.get_list(session, list_id, true())
            if found is None:
                raise CommandFailed(f"no DNC list {list_id}.")
            mismatch = service.import_mismatch(
                found, kind=args.kind, max_age_days=args.max_age_days
            )
            if mismatch is not None:
                raise CommandFailed(mismatch)
            await uploads.add_upload(
                session,
                id=upload_id,
                kind="dnc",
                list_id=list_id,
                tenant_id=found.tenant_id,
                mode=args.mode,
                force=args.force,
                column_name=args.column,
                gzip=is_gzip,
            )
            snapshot = await load_snapshot(session)
        show = _progress_bar() if sys.stderr.isatty() else None
        await run_upload(
            engine=database.engine,
            upload_id=upload_id,
            spool=spool,
            in_service=snapshot.in_service,
            targets={"dnc": dnc_uploads.target},
            on_progress=show,
        )
        if show is not None:
            sys.stderr.write("\n")
        async with database.sessionmaker() as session:
            row = await uploads.visible_upload(session, upload_id, "dnc", None, every_tenant=True)
            assert row is not None
            return UploadOut.model_validate(row, from_attributes=True)
    finally:
        spool.unlink(missing_ok=True)
        await database.dispose()
