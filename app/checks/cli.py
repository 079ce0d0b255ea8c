"""`callguard check`: one check, audited, printed as the API answers it."""

from __future__ import annotations

import argparse
import asyncio
import json

from app.callingrules.service import load_snapshot
from app.checks import service
from app.checks.jobs import CheckUnavailable
from app.checks.pipeline import CheckWriter
from app.core.channels import CHANNELS
from app.core.commands import CommandFailed, instant
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError
from app.core.request_id import new_request_id
from app.reference.snapshot import ReferenceData
from app.rules.data import HolidayCalendars, load_frequency_caps, load_jurisdictions


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser("check", help="check one number now (audited, as the API does)")
    check.add_argument("to", help="E.164, e.g. +14155551234")
    check.add_argument("--at", type=instant, help="the call's instant (default now)")
    check.add_argument("--tenant", metavar="ten_…", help="check for this tenant")
    check.add_argument("--state", dest="recipient_state", help="the recipient's state")
    check.add_argument("--channel", choices=CHANNELS, default="voice")
    check.set_defaults(run=_cmd_check, needs_database=True)


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
            caps=load_frequency_caps(),
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
        if exc.answer.details:  # a refusal that says why (a stale registry list)
            raise CommandFailed(exc.answer.message) from None
        raise CommandFailed(f"the check could not be recorded ({exc}).") from None
    finally:
        await writer.stop()
        await database.dispose()
