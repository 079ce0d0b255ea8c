"""Who is calling: the verified key, its tenant and scopes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from app.core.ids import base62

KEY_PREFIX = "cg_"


class Scope(StrEnum):
    CHECKS_WRITE = "checks:write"
    DNC_READ = "dnc:read"
    DNC_WRITE = "dnc:write"
    OPTOUTS_READ = "optouts:read"
    OPTOUTS_WRITE = "optouts:write"
    AUDIT_READ = "audit:read"
    KEYS_WRITE = "keys:write"
    POLICY_WRITE = "policy:write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    tenant_id: str | None
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return Scope.ADMIN in self.scopes

    def has(self, scope: str) -> bool:
        """`admin` implies every scope."""
        return self.is_admin or scope in self.scopes

    @property
    def idempotency_scope(self) -> str:
        # keys are scoped to the API key's tenant; platform keys share the platform's scope
        return self.tenant_id or "platform"


def generate_secret() -> str:
    """`cg_` + 256 random bits in base62."""
    return KEY_PREFIX + base62(32)


def hash_secret(secret: str) -> bytes:
    # SHA-256 suffices: the secret has 256 bits of entropy, so there is nothing to brute-force
    return hashlib.sha256(secret.encode()).digest()


def display_prefix(secret: str) -> str:
    return secret[:11]


def same_hash(a: bytes, b: bytes) -> bool:
    return secrets.compare_digest(a, b)
