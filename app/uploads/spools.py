"""Spooled upload files: phone numbers on disk, readable by this service's user only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO


def private_dir(path: Path) -> Path:
    """The spool folder, made (or narrowed to) 0700: other local users cannot list or read it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def open_spool(path: Path) -> BinaryIO:
    """A new spool file, 0600 whatever the umask (it must not exist yet)."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
