"""Idempotency-Key on POST routes (API.md section 1).

The claim is its own committed statement, outside the request's transaction, so a concurrent
duplicate sees it at once. The finished response (any status below 500) is stored after the
request's own transaction has committed, with the request id it was sent under: a replay is
the first response exactly, status, body and `X-Request-Id` (API-2.md, clarifications of part 1).
A claim whose request died without finishing is free again after `idempotency_abandon_s`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth import repository
from app.core.config import Settings


@dataclass(frozen=True, slots=True)
class Stored:
    status: int
    content_type: str | None
    body: bytes
    # the first response's X-Request-Id; None only for records stored before it was kept
    request_id: str | None


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
    taken, row = await repository.claim_idempotency_key(
        engine,
        scope=scope,
        key=key,
        fingerprint=fingerprint,
        retention_s=settings.idempotency_retention_s,
        abandon_s=settings.idempotency_abandon_s,
    )
    if taken:
        return Claim(claimed=True)
    if row is None:  # purged between the two statements: the key is free
        return await claim(engine, settings, scope=scope, key=key, fingerprint=fingerprint)
    if bytes(row.fingerprint) != fingerprint:
        return Claim(reused=True)
    if row.state == "in_progress":
        return Claim(in_progress=True)
    return Claim(
        replay=Stored(row.status, row.content_type, bytes(row.body or b""), row.request_id)
    )


async def complete(engine: AsyncEngine, *, scope: str, key: str, stored: Stored) -> None:
    await repository.store_idempotent_answer(
        engine,
        scope=scope,
        key=key,
        status=stored.status,
        content_type=stored.content_type,
        body=stored.body,
        request_id=stored.request_id,
    )


async def release(engine: AsyncEngine, *, scope: str, key: str) -> None:
    await repository.release_idempotency_key(engine, scope=scope, key=key)
