"""The channels a call or message goes out on, and where an opt-out came from: spelled once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

Channel = Literal["voice", "sms"]
OptOutChannel = Literal["voice", "sms", "all"]  # an opt-out may cover every channel
Source = Literal["sms_stop", "ivr", "agent", "web", "email", "api"]

CHANNELS: tuple[str, ...] = get_args(Channel)
OPTOUT_CHANNELS: tuple[str, ...] = get_args(OptOutChannel)
SOURCES: tuple[str, ...] = get_args(Source)


def covered(channel: str) -> tuple[str, ...]:
    """The channels an opt-out (or opt-in) on `channel` covers."""
    return CHANNELS if channel == "all" else (channel,)


def sql_in(values: Iterable[str]) -> str:
    """`('a', 'b')`, for a CHECK constraint of fixed, known words (never user input)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"
