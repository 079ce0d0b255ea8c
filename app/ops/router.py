from fastapi import Response

from app.core.dependencies import DatabaseDep, ReadReplicaDep, SessionDep, SettingsDep
from app.core.errors import ServiceUnavailable
from app.core.metrics import observe_pool, render
from app.core.routing import error_doc, make_router
from app.ops import service
from app.ops.schemas import Health, Readiness

router = make_router(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up (no database access)."""
    return Health(status="ok")


READY_EXAMPLE = {
    "status": "ok",
    "schema_revision": "0015",
    "warnings": [
        {
            "code": "registry_stale",
            "list_id": "lst_0FtcNat1onalDnc00",
            "tenant_id": None,
            "refreshed_at": "2026-10-30T04:12:09Z",
            "stale_at": "2026-11-30T04:12:09Z",
        }
    ],
}


@router.get(
    "/readyz",
    responses={
        "200": {"content": {"application/json": {"example": READY_EXAMPLE}}},
        "503": error_doc(
            ServiceUnavailable, "The database does not answer, or its schema is not current."
        ),
    },
)
async def readyz(session: SessionDep) -> Readiness:
    """The database answers and its schema is at the newest migration.

    Registry DNC lists that are stale or within 7 days of it are listed under `warnings`; they
    do not make the service unready.
    """
    return await service.readiness(session=session)


# load balancers probe with HEAD; same answers, kept out of the schema
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)


@router.get(
    "/metrics",
    response_class=Response,
    responses={"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(
    database: DatabaseDep, settings: SettingsDep, replica: ReadReplicaDep
) -> Response:
    """Prometheus metrics in the text exposition format."""
    observe_pool(database.engine.pool)
    gauges = await service.registry_gauges(database=database)
    if replica is not None:
        gauges += await service.replica_gauges(replica)
    body, content_type = render(settings.prometheus_multiproc_dir, gauges)
    return Response(body, media_type=content_type)
