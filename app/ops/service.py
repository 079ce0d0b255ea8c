import logging
from datetime import datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, is_unavailable
from app.core.errors import ServiceUnavailable
from app.core.metrics import ScrapedGauge
from app.core.migrations import head_revision
from app.core.replica import ReadReplica
from app.dnc import service as dnc
from app.ops import repository
from app.ops.schemas import Readiness, ReadinessWarning

log = logging.getLogger("callguard.ops")
REGISTRY_LABELS = ("list_id", "scope", "tenant_id")


async def readiness(*, session: AsyncSession) -> Readiness:
    """Ready when the database answers and its schema is at the newest migration (503
    otherwise), with the registry lists an operator should refresh as warnings."""
    current = await repository.schema_revision(session)
    head = head_revision()
    if current != head:
        raise ServiceUnavailable(
            "The database schema is not at the newest migration; run `callguard migrate`.",
            details={"schema_revision": current, "expected_revision": head},
        )
    warnings = await registry_warnings(session=session)
    return Readiness(status="ok", schema_revision=current, warnings=warnings)


async def registry_warnings(
    *, session: AsyncSession, now: datetime | None = None
) -> list[ReadinessWarning]:
    """The registry lists that are stale, or will be within 7 days, the first stale first."""
    return [
        ReadinessWarning(
            code="registry_stale" if age.state == "stale" else "registry_aging",
            list_id=age.list_id,
            tenant_id=age.tenant_id,
            refreshed_at=age.refreshed_at,
            stale_at=age.stale_at,
        )
        for age in await dnc.registry_ages(session=session, now=now)
        if age.state != "fresh"
    ]


async def registry_gauges(*, database: Database) -> list[ScrapedGauge]:
    """Each live registry list's age and maximum age in seconds, read at scrape time (one short
    read of the few registry rows). Alert on age > max age. None of them when the database does
    not answer: the process's own metrics still render in an outage."""
    try:
        async with database.sessionmaker() as session:
            ages = await dnc.registry_ages(session=session)
    except (sa_exc.SQLAlchemyError, OSError) as exc:
        if not is_unavailable(exc):
            raise
        log.warning("/metrics without registry ages: the database does not answer")
        return []
    labels = [(age.list_id, age.scope, age.tenant_id or "") for age in ages]
    return [
        ScrapedGauge(
            "callguard_dnc_registry_age_seconds",
            "Seconds since each live registry DNC list was last refreshed (tenant_id empty "
            "for a global list).",
            REGISTRY_LABELS,
            tuple(zip(labels, (age.age_seconds for age in ages), strict=True)),
        ),
        ScrapedGauge(
            "callguard_dnc_registry_max_age_seconds",
            "Each live registry DNC list's maximum age (max_age_days) in seconds: past it the "
            "list is stale.",
            REGISTRY_LABELS,
            tuple(zip(labels, (age.max_age_days * 86400.0 for age in ages), strict=True)),
        ),
    ]


async def replica_gauges(replica: ReadReplica) -> list[ScrapedGauge]:
    """The read replica (CALLGUARD_READ_DATABASE_URL): whether it answers, and its replay lag
    in seconds and in bytes received but not yet replayed, read from it at scrape time."""
    state = await replica.state()
    gauges = [
        ScrapedGauge(
            "callguard_read_replica_up",
            "1 when the read replica answered this scrape; 0 when it did not (its reads go "
            "to the primary).",
            (),
            (((), 1.0 if state.reachable else 0.0),),
        )
    ]
    if state.reachable:
        gauges += [
            ScrapedGauge(
                "callguard_read_replica_lag_seconds",
                "How far the read replica's replay is behind: 0 when it has replayed all it "
                "received, else the age of the last transaction it replayed.",
                (),
                (((), state.lag_s),),
            ),
            ScrapedGauge(
                "callguard_read_replica_replay_pending_bytes",
                "WAL the read replica has received and not yet replayed.",
                (),
                (((), state.pending_bytes),),
            ),
            ScrapedGauge(
                "callguard_read_replica_in_recovery",
                "1 when the read replica is a standby (in recovery); 0 when the URL reaches a "
                "primary.",
                (),
                (((), 1.0 if state.standby else 0.0),),
            ),
        ]
    return gauges
