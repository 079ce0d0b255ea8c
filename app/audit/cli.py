"""`callguard audit export`: check records as CSV on standard output."""

from __future__ import annotations

import argparse
import asyncio
import sys

from app.audit import service
from app.auth import service as auth_service
from app.checks.repository.trail import CheckFilter
from app.core.commands import CommandFailed, instant
from app.core.config import Settings
from app.core.db import Database


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="the audit trail")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="check records as CSV on standard output")
    export.add_argument("--since", type=instant)
    export.add_argument("--until", type=instant)
    export.add_argument("--outcome", choices=("allowed", "blocked", "invalid"))
    export.add_argument("--tenant", metavar="ten_…", help="one tenant (default: all)")
    export.set_defaults(run=_cmd_export, needs_database=True)


def _cmd_export(args: argparse.Namespace, settings: Settings, url: str) -> int:
    asyncio.run(_export(args, settings, url))
    return 0


async def _export(args: argparse.Namespace, settings: Settings, url: str) -> None:
    # an export of billions of rows runs for as long as it takes
    database = Database.from_url(url, settings.model_copy(update={"db_timeout_s": 3600.0}))
    flt = CheckFilter(
        tenant_id=args.tenant,
        every_tenant=args.tenant is None,
        outcome=args.outcome,
        since=args.since,
        until=args.until,
    )
    try:
        if args.tenant is not None:
            async with database.sessionmaker() as session:
                if not await auth_service.tenant_exists(session, args.tenant):
                    raise CommandFailed(f"no tenant {args.tenant}.")
        out = sys.stdout.buffer
        async for chunk in service.stream_csv(database, flt):
            out.write(chunk)
        out.flush()
    finally:
        await database.dispose()
