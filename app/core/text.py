"""Client text that is kept or echoed: made safe to store and to encode."""

from __future__ import annotations


def escaped(text: str) -> str:
    """`text` with every unprintable character (controls such as NUL, lone surrogates, format
    characters) written as a visible `\\uXXXX` escape: PostgreSQL's text and jsonb refuse NUL,
    UTF-8 refuses lone surrogates, and neither belongs in an audit record as such."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
        for c in text
    )


def encodable(text: str) -> bool:
    """False for text with unpaired surrogates, which UTF-8 (and request validation) refuse."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable(text: str) -> str | None:
    """Why `text` cannot be stored or echoed as it is (PostgreSQL refuses NUL, UTF-8 refuses
    unpaired surrogates), or None when it can."""
    if "\x00" in text:
        return "must not contain NUL (\\u0000) characters"
    if not encodable(text):
        return "must be valid Unicode text (no unpaired surrogates)"
    return None
