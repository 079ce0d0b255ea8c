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
    CONSENTS_READ = "consents:read"
    CONSENTS_WRITE = "consents:write"
    AUDIT_READ = "audit:read"
    KEYS_WRITE = "keys:write"
    POLICY_WRITE = "policy:write"
    WEBHOOKS_WRITE = "webhooks:write"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    tenant_id: str | None
    scopes: frozenset[str]

    @property
    def is_admin(self) -> bool:
        """The platform operator: `admin` on a key of no tenant. A tenant's key is never one,
        even if it was given `admin` before that was refused (keys made by older versions)."""
        return self.tenant_id is None and Scope.ADMIN in self.scopes

    def has(self, scope: str) -> bool:
        """`admin` implies every scope."""
        return self.is_admin or (scope != Scope.ADMIN and scope in self.scopes)

    @property
    def idempotency_scope(self) -> str:
        # an Idempotency-Key belongs to the API key that sent it: another key of the same tenant
        # (with other scopes) never sees its stored answers
        return self.key_id


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
