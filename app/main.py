"""create_app(): FastAPI, lifespan, middleware, error handlers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api import OPERATION_IDS, api_router, upload_row_kinds, upload_targets
from app.attempts import tasks as attempt_tasks
from app.auth import tasks as auth_tasks
from app.auth.cache import key_subscription
from app.auth.dependencies import AuthState, auth_state_of
from app.auth.errors import IdempotencyKeyReused
from app.auth.throttle import KeyBudgets
from app.callingrules.service import load_snapshot
from app.checks import tasks as check_tasks
from app.checks.dependencies import check_writer_of
from app.checks.fast import FastChecks
from app.checks.hours import HoursCache
from app.checks.pipeline import CheckWriter
from app.console.router import router as console_router
from app.core.config import Settings, get_settings
from app.core.db import Database, create_engine, is_unavailable
from app.core.dependencies import database_of, read_replica_of
from app.core.errors import install_error_handlers
from app.core.listener import ChangeListener
from app.core.logging import configure_logging, flush_logs
from app.core.longreads import LongReads
from app.core.middleware import Application, RequestContextMiddleware, UploadRoutes
from app.core.openapi import install_docs, install_openapi, operation_ids
from app.core.periodic import start_periodic
from app.core.periodic import stop as stop_periodic
from app.core.replica import ReadReplica
from app.core.routing import JsonBodyRoute
from app.ops.router import router as ops_router
from app.reference.dependencies import reference_of
from app.reference.snapshot import ReferenceData
from app.rules.data import HolidayCalendars, load_frequency_caps, load_jurisdictions
from app.scrubs.dependencies import scrub_contexts, scrub_runner_of
from app.scrubs.tasks import ScrubRunner
from app.scrubs.tasks import running as scrub_sweeper
from app.uploads.dependencies import upload_runner_of
from app.uploads.runner import UploadRunner
from app.uploads.runner import running as upload_sweeper
from app.webhooks import tasks as webhook_tasks
from app.webhooks.dependencies import delivery_worker_of
from app.webhooks.tasks import DeliveryWorker

DESCRIPTION = (
    "Call-compliance pre-check: ask right before dialing whether a number may be called now. "
    "Every error is the envelope `{error, message, details, request_id}`."
)


# The youngest generation is collected after this many net allocations (CPython: 700). Under
# load a check allocates a few hundred objects, and each collection cascading into the older
# generations walked every long-lived object (reference data, holiday calendars, time zones):
# pauses of tens of milliseconds several times a second, the whole of p99 at 16 clients.
GC_YOUNG_THRESHOLD = 50_000
_GC_QUIETED = False


def quiet_gc() -> None:
    """What the process loaded at start lives as long as it does: moved out of the collector's
    way (gc.freeze), and young collections made rarer. Garbage cycles are still collected.
    Once per process (tests start many apps in one)."""
    global _GC_QUIETED
    if _GC_QUIETED:
        return
    _GC_QUIETED = True
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = database is None
        if owned:
            if not settings.database_url:
                raise RuntimeError(
                    "DATABASE_URL is not set; start the service with `callguard serve`"
                )
            app.state.db = Database.from_url(settings.database_url, settings)
        if settings.read_database_url:  # audit, statistics and history reads (app/core/replica)
            app.state.read_replica = ReadReplica(
                Database(create_engine(settings.read_database_url, settings, writes=False))
            )
        auth = auth_state_of(app)
        listener: ChangeListener | None = None
        if settings.key_listener and settings.database_url:
            listener = ChangeListener(settings.database_url)
            listener.subscribe(key_subscription(auth.cache))
            listener.subscribe(reference_of(app).subscription())
            listener.subscribe(delivery_worker_of(app).subscription())
            listener.start()
        app.state.listener = listener
        engine = database_of(app).engine
        housekeeping = start_periodic(
            "housekeeping",
            [
                lambda: check_tasks.ensure_partitions(engine),
                lambda: check_tasks.compact_counts(engine),
                lambda: auth_tasks.purge_idempotency_records(engine, settings),
                lambda: attempt_tasks.ensure_partitions(engine),
                lambda: attempt_tasks.drop_expired(engine, settings),
                lambda: webhook_tasks.purge_deliveries(engine, settings),
            ],
            every_s=600.0,
            unavailable=is_unavailable,
        )
        # registry lists turning stale are announced as events within a minute (webhooks)
        registry_notices = start_periodic(
            "registry-notices",
            [lambda: webhook_tasks.announce_registry_ages(database_of(app))],
            every_s=60.0,
            unavailable=is_unavailable,
        )
        uploads, writer = upload_runner_of(app), check_writer_of(app)
        uploads.database = database_of(app)
        scrubs = scrub_runner_of(app)
        scrubs.database = database_of(app)
        writer.start()
        webhooks = delivery_worker_of(app)
        webhooks.start()
        quiet_gc()
        try:
            async with upload_sweeper(uploads), scrub_sweeper(scrubs):
                yield
            await uploads.wait()
            await scrubs.wait()
        finally:
            await writer.stop()
            await webhooks.stop()
            await stop_periodic(housekeeping)
            await stop_periodic(registry_notices)
            if listener is not None:
                await listener.stop()
            if owned:
                await database_of(app).dispose()
            replica = read_replica_of(app)
            if replica is not None:
                app.state.read_replica = None
                await replica.dispose()
            flush_logs()  # a worker stopped by SIGTERM ends without the exit's flush

    # FastAPI's OpenTelemetry hooks: off unless wanted (the Prometheus metrics are ours); on,
    # they see every request, the checks the fast path takes too (app/core/middleware.Application)
    otel = settings.otel
    app = Application(
        title="callguard",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # /docs is served from the package by install_docs; FastAPI's pages load from a CDN
        docs_url=None,
        redoc_url=None,
        telemetry={"tracing": otel, "metrics": otel, "logs": otel},
        generate_unique_id_function=operation_ids(OPERATION_IDS),
        # no open-source licence is declared: the document says what holds (all rights reserved)
        license_info={"name": "Proprietary (all rights reserved)"},
    )
    app.router.route_class = JsonBodyRoute
    # /readyz/ is a 404 envelope, not a redirect built from the client's Host header
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.read_replica = None  # made in the lifespan when CALLGUARD_READ_DATABASE_URL is set
    app.state.reference = ReferenceData(load_snapshot)
    app.state.laws = load_jurisdictions()
    app.state.caps = load_frequency_caps()  # the laws' frequency caps (callingrules.caps_of)
    app.state.holidays = HolidayCalendars()
    app.state.hours_cache = HoursCache()
    app.state.checks = CheckWriter(
        lambda: database_of(app),
        slots=settings.check_writer_slots,
        timeout_s=2 * settings.db_timeout_s,
        stage_timers=settings.check_stage_timers,
    )
    app.state.long_reads = LongReads(
        settings.long_read_slots, settings.long_reads_per_tenant, settings.export_send_timeout_s
    )
    app.state.uploads = UploadRunner(
        database,
        reference_of(app),
        settings.data_dir / "uploads",
        targets=upload_targets(),
        max_bytes=settings.max_upload_bytes,
        slots=settings.upload_slots,
        per_tenant=settings.uploads_per_tenant,
        row_kinds=upload_row_kinds(),
    )
    app.state.scrubs = ScrubRunner(
        database,
        settings.data_dir / "scrubs",
        scrub_contexts(app),
        max_bytes=settings.max_upload_bytes,
        retention_days=settings.scrub_retention_days,
    )
    # each serving process sends webhook deliveries (app/webhooks/tasks.py)
    app.state.webhooks = DeliveryWorker(lambda: database_of(app), settings)
    app.state.auth = AuthState(
        # each worker process holds its share of every key's budget
        budgets=KeyBudgets(
            settings.key_rate_per_s / settings.workers,
            max(1.0, settings.key_burst / settings.workers),
        )
    )
    if database is not None:
        app.state.db = database
    install_error_handlers(app)
    install_openapi(app, idempotency_conflict=IdempotencyKeyReused)
    install_docs(app)
    app.add_middleware(
        RequestContextMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        upload_routes=UploadRoutes(lambda: app.routes),
        fast=FastChecks(app),
    )
    app.include_router(api_router())
    app.include_router(ops_router)
    app.include_router(console_router)  # static files, outside /v1 and its authentication
    return app
