"""The strict (API) and lenient (file) parsers, and that they agree."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.numbers.errors import InvalidPhone
from app.numbers.parsing import national_problem, parse_lenient, parse_strict

# a few in-service NPAs, plus 357 (in service, though phonenumbers 9.0.43 rejects it)
IN_SERVICE = frozenset({"201", "212", "357", "415", "800", "907", "928"})


def reason_strict(value: str) -> str | None:
    try:
        parse_strict(value, IN_SERVICE)
    except InvalidPhone as exc:
        return exc.reason
    return None


def reason_lenient(value: str) -> str | None:
    try:
        parse_lenient(value, IN_SERVICE)
    except InvalidPhone as exc:
        return exc.reason
    return None


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("+14155551234", None),
        ("+13575551234", None),  # in service per NANPA although phonenumbers rejects it
        ("+14155551212", None),  # 555-1212 is a real number
        ("+18005550100", "fictional"),
        ("+14155550199", "fictional"),
        ("+14155550200", None),
        ("14155551234", "not_e164"),
        ("+1 415 555 1234", "not_e164"),
        ("+1-415-555-1234", "not_e164"),
        ("+1415555CALL", "not_e164"),
        ("", "not_e164"),
        ("+", "not_e164"),
        ("+4412345678901234", "not_e164"),  # 16 digits: longer than E.164 allows
        ("+1415555123456789", "wrong_length"),
        ("+442071234567", "not_nanp"),
        ("+33123", "not_nanp"),
        ("+1415555123", "wrong_length"),
        ("+141555512345", "wrong_length"),
        ("+19995551234", "invalid_area_code"),  # not in service
        ("+12115551234", "invalid_area_code"),  # N11 is never an area code
        ("+10155551234", "invalid_area_code"),
        ("+14150551234", "invalid_exchange"),
        ("+14151551234", "invalid_exchange"),
        ("+14154111234", "invalid_exchange"),  # N11 exchange
        ("+14159111234", "invalid_exchange"),
    ],
)
def test_strict_reasons(value: str, reason: str | None) -> None:
    assert reason_strict(value) == reason


def test_invalid_phone_details_echo_the_value_cut_at_64() -> None:
    with pytest.raises(InvalidPhone) as caught:
        parse_strict("x" * 100, IN_SERVICE)
    assert caught.value.details == {"reason": "not_e164", "value": "x" * 64}
    assert caught.value.code == "invalid_phone"
    assert caught.value.status == 400


def test_not_nanp_message_names_the_country() -> None:
    with pytest.raises(InvalidPhone) as caught:
        parse_strict("+442071234567", IN_SERVICE)
    assert "GB" in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "+14155551234",
        "14155551234",
        "4155551234",
        "(415) 555-1234",
        "415-555-1234",
        "415.555.1234",
        "+1 415 555 1234",
        "  4155551234\t",
    ],
)
def test_lenient_forms(raw: str) -> None:
    assert parse_lenient(raw, IN_SERVICE).e164 == "+14155551234"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("555-CALL", "not_a_phone_number"),
        ("", "not_a_phone_number"),
        ("phone", "not_a_phone_number"),
        ("+44 20 7123 4567", "not_nanp"),
        ("415555123", "wrong_length"),
        ("24155551234", "wrong_length"),  # 11 digits not starting with 1
        ("999-555-1234", "invalid_area_code"),
        ("415-055-1234", "invalid_exchange"),
        ("(800) 555-0123", "fictional"),
    ],
)
def test_lenient_rejections(raw: str, reason: str) -> None:
    assert reason_lenient(raw) == reason


def test_number_forms() -> None:
    number = parse_strict("+14155551234", IN_SERVICE)
    assert (number.e164, number.npa, number.as_int) == ("+14155551234", "415", 4155551234)


ten_digits = st.text(alphabet="0123456789", min_size=10, max_size=10)
npa_heavy = st.one_of(
    ten_digits,
    st.sampled_from(sorted(IN_SERVICE)).flatmap(
        lambda npa: st.text(alphabet="0123456789", min_size=7, max_size=7).map(
            lambda rest: npa + rest
        )
    ),
)


@settings(max_examples=500, deadline=None)
@given(national=npa_heavy)
def test_every_lenient_form_agrees_with_strict(national: str) -> None:
    strict = reason_strict("+1" + national)
    assert strict == national_problem(national, IN_SERVICE)
    a, b, c = national[:3], national[3:6], national[6:]
    for form in (national, "1" + national, f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"+1 {a} {b} {c}"):
        assert reason_lenient(form) == strict, form
