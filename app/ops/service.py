from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ServiceUnavailable
from app.core.migrations import head_revision
from app.ops import repository


async def readiness(*, session: AsyncSession) -> str:
    """The schema revision, if the database answers and is at the newest migration."""
    current = await repository.schema_revision(session)
    head = head_revision()
    if current != head:
        raise ServiceUnavailable(
            "The database schema is not at the newest migration; run `callguard migrate`.",
            details={"schema_revision": current, "expected_revision": head},
        )
    return current
