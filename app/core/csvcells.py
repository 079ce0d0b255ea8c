"""CSV cells a spreadsheet will not run: every CSV callguard writes passes its text through here.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets (OWASP "CSV injection"). Such a cell gets a leading `'`,
which spreadsheets show as text; a phone number (`+` and digits only) is left as it is.
"""

from __future__ import annotations

import re

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PHONE = re.compile(r"\+[0-9]+")


def inert(text: str) -> str:
    if text.startswith(_FORMULA_START) and _PHONE.fullmatch(text) is None:
        return "'" + text
    return text
