"""Opaque ids with a type prefix (ten_, key_, lst_, ...) and secret tokens."""

import os
import random
import secrets

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(nbytes: int, raw: bytes | None = None) -> str:
    number = int.from_bytes(raw if raw is not None else secrets.token_bytes(nbytes), "big")
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    width = -(-nbytes * 8 * 1000 // 5954)  # ceil(bits / log2(62))
    return "".join(reversed(digits)).rjust(width, "0")


def new_id(prefix: str) -> str:
    """`prefix_` + 16 random base62 characters (95 bits)."""
    return f"{prefix}_{base62(12)}"


# Check and request ids are made several thousand times a second and grant nothing (every read
# of a record is scoped to its tenant), so they come from a per-process generator seeded from the
# system's random source rather than a system call each; secrets (keys) never do.
_fast = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _fast.seed(os.urandom(32)))


def record_bits(bits: int) -> int:
    """Random bits for ids that must be unique but need not be unguessable."""
    return _fast.getrandbits(bits)


def new_record_ids(prefix: str, count: int) -> list[str]:
    """`count` ids of new_id's form, for records (not for anything that must be unguessable)."""
    pool = _fast.randbytes(12 * count)
    return [f"{prefix}_{base62(12, pool[i : i + 12])}" for i in range(0, 12 * count, 12)]
