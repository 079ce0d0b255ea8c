"""The request id: echoed when the client sends a sane one, generated otherwise."""

import re
from contextvars import ContextVar

from app.core.ids import record_bits

_SANE = re.compile(r"[A-Za-z0-9._-]{1,128}")
_request_id: ContextVar[str] = ContextVar("request_id", default="req_none")


def new_request_id() -> str:
    return f"req_{record_bits(96):024x}"


def pick_request_id(client_value: str | None) -> str:
    if client_value is not None and _SANE.fullmatch(client_value):
        return client_value
    return new_request_id()


def current_request_id() -> str:
    return _request_id.get()


def set_request_id(value: str) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]
