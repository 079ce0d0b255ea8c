"""Record ids: the time in milliseconds in base62, then random characters, then a count."""

from __future__ import annotations

import random
import time

from app.core.ids import _BASE62, _time_prefix, new_record_ids


def _base62_digits(ms: int, width: int) -> str:
    digits = []
    for _ in range(width):
        ms, rem = divmod(ms, 62)
        digits.append(_BASE62[rem])
    return "".join(reversed(digits))


def test_the_time_prefix_is_the_milliseconds_in_seven_base62_digits() -> None:
    rng = random.Random(5)
    edges = [0, 1, 61, 62, 3843, 3844, 62**4, 62**6 - 1, 62**6, 62**7 - 1]
    for ms in edges + [rng.randrange(62**7) for _ in range(20_000)]:
        assert _time_prefix(ms) == _base62_digits(ms, 7), ms


def test_ids_sort_by_time_and_in_the_order_made() -> None:
    first = new_record_ids("chk", 1)
    time.sleep(0.002)
    run = new_record_ids("chk", 5)
    time.sleep(0.002)
    last = new_record_ids("chk", 1)
    made = first + run + last
    for one in made:
        assert one.startswith("chk_")
        assert len(one) == 4 + 16
        assert set(one[4:]) <= set(_BASE62)
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    now = _time_prefix(time.time_ns() // 1_000_000)
    assert last[0][4:11] <= now
