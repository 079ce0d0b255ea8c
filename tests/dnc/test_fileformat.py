"""File formats and the bulk path's normalization, which must agree with the lenient parser."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.numbers.errors import InvalidPhone
from app.numbers.parsing import parse_lenient
from app.uploads.fileformat import (
    FileFormatError,
    Layout,
    detect,
    normalize,
    normalize_written,
    values,
)

IN_SERVICE = frozenset({"201", "212", "415", "800", "907"})


def lenient(raw: str) -> int | str:
    try:
        return parse_lenient(raw, IN_SERVICE).as_int
    except InvalidPhone as exc:
        return exc.reason


@settings(max_examples=1500, deadline=None)
@given(
    raw=st.one_of(
        st.text(alphabet="0123456789+()-. \tx\r\xa0\u2003٣", max_size=20),
        st.text(max_size=16),
        st.from_regex(r"\+?1?[0-9]{0,12}", fullmatch=True),  # the forms read the fast way
        st.from_regex(r"\+?1?[0-9٣²]{0,11}", fullmatch=True),
        st.sampled_from(sorted(IN_SERVICE))
        .flatmap(
            lambda npa: st.text(alphabet="0123456789", min_size=7, max_size=7).map(
                lambda rest: st.sampled_from(
                    [
                        f"{npa}{rest}",
                        f"1{npa}{rest}",
                        f"+1{npa}{rest}",
                        f"+1 {npa} {rest[:3]} {rest[3:]}",
                        f"({npa}) {rest[:3]}-{rest[3:]}",
                        f"{npa}.{rest[:3]}.{rest[3:]}",
                    ]
                )
            )
        )
        .flatmap(lambda s: s),
    )
)
def test_normalize_agrees_with_the_lenient_parser(raw: str) -> None:
    assert normalize(raw, IN_SERVICE) == lenient(raw) == normalize_written(raw, IN_SERVICE)


def test_detects_one_number_per_line() -> None:
    assert detect("4155552671", None) == Layout("lines")
    assert detect("(415) 555-2671", None) == Layout("lines")


def test_detects_csv_header_and_column() -> None:
    assert detect("Name,Phone_Number,Note", None) == Layout("csv", 1, header_lines=1)
    assert detect('"to","x"', None) == Layout("csv", 0, header_lines=1)
    assert detect("a,b,mobile", "mobile") == Layout("csv", 2, header_lines=1)


def test_csv_without_a_phone_column_is_a_file_error() -> None:
    with pytest.raises(FileFormatError):
        detect("name,email", None)


def test_detects_the_ftc_form() -> None:
    layout = detect("415,5552671", None)
    assert layout == Layout("ftc")
    rows = list(values(layout, [(1, "415,5552671"), (2, ""), (3, "212,5550199")]))
    assert rows == [(1, "4155552671"), (3, "2125550199")]


def test_csv_values_come_from_the_phone_column() -> None:
    rows = list(values(Layout("csv", 1, 1), [(2, "ann,415-555-2671"), (3, "bob"), (4, " ")]))
    assert rows == [(2, "415-555-2671"), (3, "")]
