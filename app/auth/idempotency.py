"""Idempotency-Key on POST routes (API.md section 1).

The claim is its own committed statement, outside the request's transaction, so a concurrent
duplicate sees it at once. The finished response (any status below 500) is stored after the
request's own transaction has committed. A claim whose request died without finishing is free
again after `idempotency_abandon_s`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings

_CLAIM = text(
    """
    INSERT INTO idempotency_records AS r (scope, key, fingerprint, state)
    VALUES (:scope, :key, :fingerprint, 'in_progress')
    ON CONFLICT (scope, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, state = 'in_progress', status = NULL,
            content_type = NULL, body = NULL, created_at = now()
        WHERE r.created_at < now() - make_interval(secs => :retention)
           OR (r.state = 'in_progress' AND r.created_at < now() - make_interval(secs => :abandon))
    RETURNING 1
    """
)
_EXISTING = text(
    "SELECT fingerprint, state, status, content_type, body FROM idempotency_records "
    "WHERE scope = :scope AND key = :key"
)
_COMPLETE = text(
    "UPDATE idempotency_records SET state = 'done', status = :status, "
    "content_type = :content_type, body = :body WHERE scope = :scope AND key = :key"
)
_RELEASE = text(
    "DELETE FROM idempotency_records WHERE scope = :scope AND key = :key AND state = 'in_progress'"
)
_PURGE = text(
    "DELETE FROM idempotency_records WHERE created_at < now() - make_interval(secs => :retention)"
)


@dataclass(frozen=True, slots=True)
class Stored:
    status: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    claimed: bool = False
    replay: Stored | None = None
    reused: bool = False
    in_progress: bool = False


def fingerprint(request: Request, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, str(request.query_params)):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.digest()


async def claim(
    engine: AsyncEngine, settings: Settings, *, scope: str, key: str, fingerprint: bytes
) -> Claim:
    params = {"scope": scope, "key": key}
    async with engine.begin() as conn:
        taken = await conn.scalar(
            _CLAIM,
            {
                **params,
                "fingerprint": fingerprint,
                "retention": settings.idempotency_retention_s,
                "abandon": settings.idempotency_abandon_s,
            },
        )
        if taken:
            return Claim(claimed=True)
        row = (await conn.execute(_EXISTING, params)).one_or_none()
    if row is None:  # purged between the two statements: the key is free
        return await claim(engine, settings, scope=scope, key=key, fingerprint=fingerprint)
    if bytes(row.fingerprint) != fingerprint:
        return Claim(reused=True)
    if row.state == "in_progress":
        return Claim(in_progress=True)
    return Claim(replay=Stored(row.status, row.content_type, bytes(row.body or b"")))


async def complete(engine: AsyncEngine, *, scope: str, key: str, stored: Stored) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            _COMPLETE,
            {
                "scope": scope,
                "key": key,
                "status": stored.status,
                "content_type": stored.content_type,
                "body": stored.body,
            },
        )


async def release(engine: AsyncEngine, *, scope: str, key: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(_RELEASE, {"scope": scope, "key": key})


async def purge_expired(engine: AsyncEngine, settings: Settings) -> int:
    async with engine.begin() as conn:
        result = await conn.execute(_PURGE, {"retention": settings.idempotency_retention_s})
    return int(result.rowcount or 0)
