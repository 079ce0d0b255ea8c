"""`callguard check` (one check, audited, printed as the API answers it) and
`callguard audit export` (CSV of check records on standard output)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime

from app.audit import service as audit_service
from app.auth.cli import CommandFailed
from app.callingrules.reference import ReferenceData
from app.callingrules.service import load_snapshot
from app.checks import service
from app.checks.pipeline import CheckUnavailable, CheckWriter
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError
from app.core.request_id import new_request_id
from app.rules.data import HolidayCalendars, load_jurisdictions


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 instant") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no UTC offset (add Z or +hh:mm)")
    return moment


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser("check", help="check one number now (audited, as the API does)")
    check.add_argument("to", help="E.164, e.g. +14155551234")
    check.add_argument("--at", type=_instant, help="the call's instant (default now)")
    check.add_argument("--tenant", metavar="ten_…", help="check for this tenant")
    check.add_argument("--state", dest="recipient_state", help="the recipient's state")
    check.add_argument("--channel", choices=("voice", "sms"), default="voice")
    check.set_defaults(run=_cmd_check, needs_database=True)

    audit = commands.add_parser("audit", help="the audit trail")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="check records as CSV on standard output")
    export.add_argument("--since", type=_instant)
    export.add_argument("--until", type=_instant)
    export.add_argument("--outcome", choices=("allowed", "blocked", "invalid"))
    export.add_argument("--tenant", metavar="ten_…", help="one tenant (default: all)")
    export.set_defaults(run=_cmd_export, needs_database=True)


def _cmd_check(args: argparse.Namespace, settings: Settings, url: str) -> int:
    status, body = asyncio.run(_check(args, settings, url))
    print(json.dumps(body, indent=2))
    return 0 if status == 200 else 1


async def _check(
    args: argparse.Namespace, settings: Settings, url: str
) -> tuple[int, dict[str, object]]:
    database = Database.from_url(url, settings)
    writer = CheckWriter(lambda: database, slots=1, timeout_s=2 * settings.db_timeout_s)
    try:
        snapshot = await ReferenceData(load_snapshot).current(database.sessionmaker)
        ctx = service.Context(
            snapshot=snapshot,
            laws=load_jurisdictions(),
            holidays=HolidayCalendars(),
            tenant_id=args.tenant,
            api_key_id=None,
            request_id=new_request_id(),
        )
        decided = await service.check_one(
            writer,
            ctx,
            to=args.to,
            at=args.at,
            recipient_state=args.recipient_state,
            channel=args.channel,
        )
        return decided.status, decided.body
    except AppError as exc:  # a bad --state or --at
        raise CommandFailed(exc.message) from None
    except CheckUnavailable as exc:
        raise CommandFailed(f"the check could not be recorded ({exc}).") from None
    finally:
        await writer.stop()
        await database.dispose()


def _cmd_export(args: argparse.Namespace, settings: Settings, url: str) -> int:
    asyncio.run(_export(args, settings, url))
    return 0


async def _export(args: argparse.Namespace, settings: Settings, url: str) -> None:
    # an export of billions of rows runs for as long as it takes
    database = Database.from_url(url, settings.model_copy(update={"db_timeout_s": 3600.0}))
    flt = audit_service.CheckFilter(
        tenant_id=args.tenant,
        every_tenant=args.tenant is None,
        outcome=args.outcome,
        since=args.since,
        until=args.until,
    )
    try:
        out = sys.stdout.buffer
        async for chunk in audit_service.stream_csv(database, flt):
            out.write(chunk)
        out.flush()
    finally:
        await database.dispose()
