"""What every feature's sub-commands of `callguard` share: the one-sentence failure and the
instant argument."""

from __future__ import annotations

import argparse
from datetime import datetime


class CommandFailed(Exception):
    """A failure to report in one sentence on standard error (exit 1)."""


def instant(value: str) -> datetime:
    """An ISO 8601 instant with its UTC offset, as an argparse type."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO 8601 instant") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{value!r} has no UTC offset (add Z or +hh:mm)")
    return moment
