"""Opaque ids with a type prefix (ten_, key_, lst_, ...) and secret tokens."""

import os
import random
import secrets
import time

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


# random bytes to base62 characters by table: byte % 62, so 0-7 come a little more often (each
# character still carries about 5.9 bits), at a fraction of base62's cost per id
_BYTE_TO_BASE62 = bytes(ord(_BASE62[b % 62]) for b in range(256))
_TIME_CHARS = 7  # milliseconds since 1970 in base62: in order until the year 2081


_PAIRS = [a + b for a in _BASE62 for b in _BASE62]  # 0 to 62**2 - 1 as two characters


def _time_prefix(ms: int) -> str:
    """`ms` as _TIME_CHARS base62 digits (ms below 62**7), two digits at a time."""
    high, low = divmod(ms, 3844**3)
    middle, low = divmod(low, 3844)
    first, second = divmod(middle, 3844)
    return _BASE62[high] + _PAIRS[first] + _PAIRS[second] + _PAIRS[low]


_RUN = 62**3  # ids one call can make in order: the last three characters count up
_RANDOM_CHARS = 16 - _TIME_CHARS - 3


def new_record_ids(prefix: str, count: int) -> list[str]:
    """`count` ids of new_id's form, for records (not for anything that must be unguessable),
    ascending in runs of up to 119,164: the time in milliseconds, 6 random characters (about
    35 bits), then 3 characters counting up from a random start (about 18 bits more for the
    first id). Records written together share their first characters and come in the order
    of their ids, so their index entries are appended one after another, not scattered."""
    ids: list[str] = []
    while count > 0:
        run = min(count, _RUN // 2)
        head = f"{prefix}_{_time_prefix(time.time_ns() // 1_000_000)}"
        head += _fast.randbytes(_RANDOM_CHARS).translate(_BYTE_TO_BASE62).decode("ascii")
        start = _fast.randrange(_RUN - run + 1)
        if run == 1:  # a single check's id
            ids.append(head + _BASE62[start // 3844] + _PAIRS[start % 3844])
            break
        ids += [head + _BASE62[n // 3844] + _PAIRS[n % 3844] for n in range(start, start + run)]
        count -= run
    return ids
