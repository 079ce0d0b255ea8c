"""NANP phone numbers: a strict parser for the API and a lenient one for files.

Both end in the same validation of the ten national digits (`_check_national`) against our
area-code table, because phonenumbers alone is wrong for N11 exchanges, 555-01XX and ten
in-service NPAs (RULES.md section 3). phonenumbers is consulted only to name the country of a
number outside NANP, off the hot path.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers

from app.core.text import escaped
from app.numbers.errors import InvalidPhone

_PLUS_DIGITS = re.compile(r"\+[0-9]+")
_DIGITS = re.compile(r"[0-9]+")
# what people put between digits in files; the bulk path (app/uploads/fileformat) uses the same
STRIP_SEPARATORS = str.maketrans("", "", " \t().-")

REASON_TEXT = {
    "not_e164": "is not in E.164 form (+ and digits, nothing else)",
    "not_nanp": "is not a NANP (+1) number",
    "wrong_length": "does not have ten digits after +1",
    "invalid_area_code": "has an area code that is not in service",
    "invalid_exchange": "has an exchange that cannot be assigned (0XX, 1XX or N11)",
    "fictional": "is in the fictional range 555-0100 to 555-0199",
    "not_a_phone_number": "is not a phone number",
}


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A valid NANP number."""

    national: str  # ten digits: NPA NXX XXXX

    @property
    def e164(self) -> str:
        return "+1" + self.national

    @property
    def npa(self) -> str:
        return self.national[:3]

    @property
    def as_int(self) -> int:
        """The number as stored in bulk tables: the ten national digits as an integer."""
        return int(self.national)


def national_problem(national: str, in_service: Collection[str]) -> str | None:
    """Why ten national digits are not a callable NANP number, or None if they are."""
    npa, nxx, line = national[:3], national[3:6], national[6:]
    if npa not in in_service:
        return "invalid_area_code"
    if nxx[0] in "01" or nxx[1:] == "11":
        return "invalid_exchange"
    if nxx == "555" and line.startswith("01"):
        return "fictional"
    return None


def _invalid(reason: str, value: str) -> InvalidPhone:
    shown = value if len(value) <= 64 else value[:61] + "..."
    # echoed in the envelope, where a NUL or a lone surrogate cannot go: both copies escaped
    # once, the same way (`\u0000`), and quoted by hand (repr() would escape them again)
    return InvalidPhone(reason, escaped(value[:64]), f"'{escaped(shown)}' {REASON_TEXT[reason]}.")


def parse_strict(value: str, in_service: Collection[str]) -> PhoneNumber:
    """The API's form: exactly `+1` and ten digits. Raises InvalidPhone with the reason."""
    if not _PLUS_DIGITS.fullmatch(value):
        raise _invalid("not_e164", value)
    if not value.startswith("+1") and len(value) > 16:  # E.164 has at most 15 digits
        raise _invalid("not_e164", value)
    if not value.startswith("+1"):
        error = _invalid("not_nanp", value)
        country = country_of(value)
        if country:
            error.message = f"{value} is a number of {country}, not a NANP (+1) number."
        raise error
    national = value[2:]
    if len(national) != 10:
        raise _invalid("wrong_length", value)
    problem = national_problem(national, in_service)
    if problem is not None:
        raise _invalid(problem, value)
    return PhoneNumber(national)


def e164_shape(value: str) -> str:
    """`value` if it is written as the API writes numbers (`+1` and ten digits), whether or not
    the number could be called; else InvalidPhone (a filter over records, say, which hold
    numbers that were invalid when checked)."""
    if not _PLUS_DIGITS.fullmatch(value):
        raise _invalid("not_e164", value)
    if not value.startswith("+1"):
        raise _invalid("not_nanp", value)
    if len(value) != 12:
        raise _invalid("wrong_length", value)
    return value


def parse_lenient(raw: str, in_service: Collection[str]) -> PhoneNumber:
    """The forms people write in files: +14155551234, 14155551234, 4155551234,
    (415) 555-1234, 415-555-1234, 415.555.1234, +1 415 555 1234. Raises InvalidPhone."""
    text = raw.strip()
    compact = text.translate(STRIP_SEPARATORS)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not digits or not _DIGITS.fullmatch(digits):
        raise _invalid("not_a_phone_number", raw)
    if plus and not digits.startswith("1"):
        raise _invalid("not_nanp", raw)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise _invalid("wrong_length", raw)
    problem = national_problem(digits, in_service)
    if problem is not None:
        raise _invalid(problem, raw)
    return PhoneNumber(digits)


def country_of(value: str) -> str | None:
    """The region phonenumbers assigns to a valid number, for messages only (slow: ~50 µs)."""
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.region_code_for_number(parsed)
