"""All SQL of tenants and keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql import ColumnElement

from app.auth.cache import CHANNEL, KeyRecord
from app.auth.models import ApiKey, Tenant
from app.core.pagination import PageRequest

# UPDATE ... RETURNING refreshes an object the session already holds, not just a new one
_REFRESH = {"synchronize_session": False, "populate_existing": True}


async def insert_tenant(session: AsyncSession, *, id: str, name: str) -> Tenant | None:
    """The new tenant, or None when the name is taken."""
    stmt = (
        pg_insert(Tenant)
        .values(id=id, name=name)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Tenant)
    )
    return (await session.scalars(stmt)).one_or_none()


async def get_tenant(session: AsyncSession, tenant_id: str) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def list_tenants(session: AsyncSession, page: PageRequest) -> Sequence[Tenant]:
    stmt = select(Tenant).order_by(Tenant.created_at, Tenant.id).limit(page.limit + 1)
    if page.after:
        stmt = stmt.where(tuple_(Tenant.created_at, Tenant.id) > tuple_(*page.after))
    return (await session.scalars(stmt)).all()


async def insert_key(session: AsyncSession, **values: object) -> ApiKey:
    return (await session.scalars(insert(ApiKey).values(**values).returning(ApiKey))).one()


async def key_by_hash(session: AsyncSession, secret_hash: bytes) -> KeyRecord | None:
    row = (
        await session.execute(
            select(
                ApiKey.id,
                ApiKey.tenant_id,
                ApiKey.scopes,
                ApiKey.secret_hash,
                ApiKey.expires_at,
                ApiKey.revoked_at,
            ).where(ApiKey.secret_hash == secret_hash)
        )
    ).one_or_none()
    if row is None:
        return None
    return KeyRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        scopes=frozenset(row.scopes),
        secret_hash=row.secret_hash,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


async def get_key(
    session: AsyncSession, key_id: str, visible: ColumnElement[bool], *, for_update: bool = False
) -> ApiKey | None:
    stmt = select(ApiKey).where(ApiKey.id == key_id, visible)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def list_keys(
    session: AsyncSession, visible: ColumnElement[bool], page: PageRequest
) -> Sequence[ApiKey]:
    stmt = select(ApiKey).where(visible).order_by(ApiKey.created_at, ApiKey.id)
    if page.after:
        stmt = stmt.where(tuple_(ApiKey.created_at, ApiKey.id) > tuple_(*page.after))
    return (await session.scalars(stmt.limit(page.limit + 1))).all()


async def revoke_key(session: AsyncSession, key_id: str) -> ApiKey:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(revoked_at=func.coalesce(ApiKey.revoked_at, func.now()))
        .returning(ApiKey)
    )
    return (await session.scalars(stmt, execution_options=_REFRESH)).one()


async def mark_rotated(
    session: AsyncSession, key_id: str, *, replaced_by: str, expires_at: datetime
) -> ApiKey:
    stmt = (
        update(ApiKey)
        .where(ApiKey.id == key_id)
        .values(rotated_at=func.now(), replaced_by=replaced_by, expires_at=expires_at)
        .returning(ApiKey)
    )
    return (await session.scalars(stmt, execution_options=_REFRESH)).one()


async def count_keys(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(ApiKey)) or 0)


async def notify_key_change(session: AsyncSession, key_id: str) -> None:
    """Tell every process's key cache, when this transaction commits."""
    await session.execute(
        text("SELECT pg_notify(:channel, :key_id)"), {"channel": CHANNEL, "key_id": key_id}
    )


# Idempotency-Key records (app/auth/idempotency.py). The claim is its own committed statement,
# outside the request's transaction, so a concurrent duplicate sees it at once.

_CLAIM = text(
    """
    INSERT INTO idempotency_records AS r (scope, key, fingerprint, state)
    VALUES (:scope, :key, :fingerprint, 'in_progress')
    ON CONFLICT (scope, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, state = 'in_progress', status = NULL,
            content_type = NULL, body = NULL, request_id = NULL, created_at = now()
        WHERE r.created_at < now() - make_interval(secs => :retention)
           OR (r.state = 'in_progress' AND r.created_at < now() - make_interval(secs => :abandon))
    RETURNING 1
    """
)
_EXISTING = text(
    "SELECT fingerprint, state, status, content_type, body, request_id "
    "FROM idempotency_records WHERE scope = :scope AND key = :key"
)
_COMPLETE = text(
    "UPDATE idempotency_records SET state = 'done', status = :status, "
    "content_type = :content_type, body = :body, request_id = :request_id "
    "WHERE scope = :scope AND key = :key"
)
_RELEASE = text(
    "DELETE FROM idempotency_records WHERE scope = :scope AND key = :key AND state = 'in_progress'"
)
_PURGE = text(
    "DELETE FROM idempotency_records WHERE created_at < now() - make_interval(secs => :retention)"
)


async def claim_idempotency_key(
    engine: AsyncEngine,
    *,
    scope: str,
    key: str,
    fingerprint: bytes,
    retention_s: int,
    abandon_s: int,
) -> tuple[bool, Any]:
    """(True, None) if this request now holds the key; else (False, the existing record's
    fingerprint, state, status, content_type, body and request_id, or None if it was purged
    meanwhile)."""
    params = {"scope": scope, "key": key}
    async with engine.begin() as conn:
        taken = await conn.scalar(
            _CLAIM,
            {**params, "fingerprint": fingerprint, "retention": retention_s, "abandon": abandon_s},
        )
        if taken:
            return True, None
        return False, (await conn.execute(_EXISTING, params)).one_or_none()


async def store_idempotent_answer(
    engine: AsyncEngine,
    *,
    scope: str,
    key: str,
    status: int,
    content_type: str | None,
    body: bytes,
    request_id: str | None,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            _COMPLETE,
            {
                "scope": scope,
                "key": key,
                "status": status,
                "content_type": content_type,
                "body": body,
                "request_id": request_id,
            },
        )


async def release_idempotency_key(engine: AsyncEngine, *, scope: str, key: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_RELEASE, {"scope": scope, "key": key})


async def purge_idempotency_records(engine: AsyncEngine, retention_s: int) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(_PURGE, {"retention": retention_s})
    return int(getattr(result, "rowcount", 0) or 0)
