"""The `callguard` command. Exit codes: 0 success, 1 failure, 2 usage error."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from app.audit import cli as audit_cli
from app.auth import cli as auth_cli
from app.checks import cli as checks_cli
from app.core.commands import CommandFailed
from app.core.config import Settings, get_settings
from app.core.db import InvalidDatabaseUrl, is_unavailable
from app.core.embedded import EmbeddedPostgres, EmbeddedServerError
from app.core.migrations import upgrade
from app.dnc import cli as dnc_cli
from app.scrubs import cli as scrubs_cli

Command = Callable[[argparse.Namespace, Settings], int]
DatabaseCommand = Callable[[argparse.Namespace, Settings, str], int]


def _graceful_exit(_signum: int, _frame: FrameType | None) -> None:
    # SIGTERM is the ordinary way to stop a service: unwind (stopping the embedded server) and
    # exit 0. uvicorn re-raises the signal here once it has drained its requests.
    raise SystemExit(0)


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded server, stopped again on the way out."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    try:
        url = embedded.start()
        print(f"callguard: embedded PostgreSQL in {embedded.pgdata}", file=sys.stderr)
        yield url
    finally:
        embedded.close()


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> int:
    with database_url(settings) as url:
        upgrade(url)
    print("callguard: schema is at the newest migration", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from app.core.server import uvicorn_options  # imports uvicorn: serve only

    with database_url(settings) as url:
        upgrade(url)
        auth_cli.bootstrap_admin_key(url, settings)
        os.environ["DATABASE_URL"] = url
        os.environ["CALLGUARD_WORKERS"] = str(
            args.workers
        )  # the app factory (and every worker) reads it
        if args.workers > 1:
            metrics_dir = (settings.data_dir / "metrics").resolve()
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        get_settings.cache_clear()
        try:
            uvicorn.run(
                "app.main:create_app",
                factory=True,
                host=args.host,
                port=args.port,
                workers=args.workers,
                access_log=False,  # callguard writes its own JSON access line
                log_level="info",
                **uvicorn_options(settings),  # limits, and whose X-Forwarded-For to believe
            )
        except SystemExit as exc:
            if exc.code not in (0, None):  # uvicorn's own codes (3: could not start)
                raise CommandFailed(
                    f"the server could not start on {args.host}:{args.port} (see the log above)."
                ) from None
            raise
    return 0


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callguard", description="Call-compliance pre-check service."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="migrate, then serve the HTTP API")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    serve.add_argument("--workers", type=int, default=settings.workers)
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser("migrate", help="bring the schema to the newest migration")
    migrate.set_defaults(run=cmd_migrate)

    auth_cli.register(commands)
    dnc_cli.register(commands)
    checks_cli.register(commands)
    audit_cli.register(commands)
    scrubs_cli.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _graceful_exit)  # run `finally` blocks: stop the embedded server
    try:
        settings = get_settings()
    except ValueError as exc:
        print(f"callguard: invalid configuration: {exc}", file=sys.stderr)
        return 2
    args = build_parser(settings).parse_args(argv)
    try:
        if getattr(args, "needs_database", False):
            database_command: DatabaseCommand = args.run
            with database_url(settings) as url:
                upgrade(url)
                return database_command(args, settings, url)
        run: Command = args.run
        return run(args, settings)
    except (CommandFailed, InvalidDatabaseUrl, EmbeddedServerError) as exc:
        print(f"callguard: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        print(f"callguard: the database cannot be reached ({type(exc).__name__}).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
