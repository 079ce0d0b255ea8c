"""`callguard keys create`, and the admin key the first `serve` creates."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import service
from app.auth.principal import Scope
from app.auth.schemas import ApiKeyIn
from app.core.commands import CommandFailed
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError

T = TypeVar("T")


def in_transaction(url: str, settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction of its own (CLI commands, not requests)."""

    async def run() -> T:
        database = Database.from_url(url, settings)
        try:
            async with database.sessionmaker() as session, session.begin():
                return await work(session)
        finally:
            await database.dispose()

    try:
        return asyncio.run(run())
    except AppError as exc:
        raise CommandFailed(exc.message) from None


def bootstrap_admin_key(url: str, settings: Settings) -> None:
    secret = in_transaction(url, settings, lambda s: service.bootstrap_admin_key(session=s))
    if secret is not None:
        print("callguard: created the first admin key; it is shown only this once:", flush=True)
        print(secret, flush=True)


def _scopes(parser: argparse.ArgumentParser, raw: str | None) -> list[Scope]:
    names = [name.strip() for name in (raw or "").split(",") if name.strip()]
    valid = {scope.value for scope in Scope}
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        parser.error(f"--scopes takes a comma-separated list of: {', '.join(sorted(valid))}")
    return [Scope(name) for name in names]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="manage API keys")
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key and print it on the last line")
    who = create.add_mutually_exclusive_group(required=True)
    who.add_argument("--admin", action="store_true", help="a platform admin key")
    who.add_argument("--tenant", metavar="ten_…", help="a key of this tenant")
    create.add_argument("--scopes", metavar="a,b", help="with --tenant: the key's scopes")
    create.add_argument("--name", default="", help="a name to recognise the key by")
    create.set_defaults(run=_cmd_create, subparser=create, needs_database=True)


def _cmd_create(args: argparse.Namespace, settings: Settings, url: str) -> int:
    parser: argparse.ArgumentParser = args.subparser
    if args.admin:
        if args.scopes:
            parser.error("--admin keys hold every scope; leave out --scopes")
        scopes, tenant = [Scope.ADMIN], None
    else:
        scopes, tenant = _scopes(parser, args.scopes), args.tenant
        if Scope.ADMIN in scopes:
            parser.error("admin is a platform scope; a tenant's key cannot hold it (use --admin)")
    try:
        data = ApiKeyIn(name=args.name, scopes=scopes, tenant_id=tenant)
    except ValidationError as exc:
        parser.error(str(exc.errors()[0]["msg"]))
    key, secret = in_transaction(
        url, settings, lambda s: service.create_key(session=s, principal=None, data=data)
    )
    print(f"created {key.id} ({', '.join(key.scopes)}) for {key.tenant_id or 'the platform'}")
    print(secret)
    sys.stdout.flush()
    return 0
