"""Opaque ids with a type prefix (ten_, key_, lst_, ...) and secret tokens."""

import secrets

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62(nbytes: int) -> str:
    number = int.from_bytes(secrets.token_bytes(nbytes), "big")
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    width = -(-nbytes * 8 * 1000 // 5954)  # ceil(bits / log2(62))
    return "".join(reversed(digits)).rjust(width, "0")


def new_id(prefix: str) -> str:
    """`prefix_` + 16 random base62 characters (95 bits)."""
    return f"{prefix}_{base62(12)}"
