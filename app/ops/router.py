from fastapi import Response

from app.core.dependencies import DatabaseDep, SessionDep, SettingsDep
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


@router.get(
    "/readyz",
    responses={
        "503": error_doc(
            ServiceUnavailable, "The database does not answer, or its schema is not current."
        )
    },
)
async def readyz(session: SessionDep) -> Readiness:
    """The database answers and its schema is at the newest migration."""
    revision = await service.readiness(session=session)
    return Readiness(status="ok", schema_revision=revision)


# load balancers probe with HEAD; same answers, kept out of the schema
router.add_api_route("/healthz", healthz, methods=["HEAD"], include_in_schema=False)
router.add_api_route("/readyz", readyz, methods=["HEAD"], include_in_schema=False)


@router.get(
    "/metrics",
    response_class=Response,
    responses={"200": {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(database: DatabaseDep, settings: SettingsDep) -> Response:
    """Prometheus metrics in the text exposition format."""
    observe_pool(database.engine.pool)
    body, content_type = render(settings.prometheus_multiproc_dir)
    return Response(body, media_type=content_type)
