"""A scrub reads each row as its text: read back with the csv module, every row is the row the
csv module reads from the file (padded to the header's width), and its phone value is that
row's phone field, whatever the quoting, line breaks in quoted fields and stray quotes."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.scrubs.reading import RowReader

FIELD = st.text(alphabet='ab1 ,"\r\n\t', max_size=6)


def _read(path: Path, size: int = 3, column: str | None = None) -> tuple[list[str], list[str]]:
    reader = RowReader(path, is_gzip=False, column=column, max_bytes=None)
    texts: list[str] = []
    values: list[str] = []
    try:
        while True:
            got, phones = reader.chunk(size)
            if not got:
                return texts, values
            assert len(got) == len(phones) <= size
            texts += got
            values += phones
    finally:
        reader.close()


def _expected(body: str, at: int) -> tuple[list[list[str]], list[str]]:
    rows = list(csv.reader(io.StringIO(body, newline="")))
    width = len(rows[0])
    kept = [r for r in rows[1:] if r and (len(r) > 1 or r[0].strip())]
    padded = [r + [""] * (width - len(r)) for r in kept]
    return padded, [r[at] if at < len(r) else "" for r in kept]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(FIELD, min_size=0, max_size=5), max_size=12),
    quote_all=st.booleans(),
    ending=st.sampled_from(["\r\n", "\n"]),
)
def test_rows_read_back_as_the_csv_module_reads_them(
    tmp_path: Path, rows: list[list[str]], quote_all: bool, ending: str
) -> None:
    out = io.StringIO()
    if quote_all:
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=ending)
    else:
        writer = csv.writer(out, lineterminator=ending)
    writer.writerow(["name", "phone", "note"])
    writer.writerows(rows)
    body = out.getvalue()
    path = tmp_path / "rows.csv"
    path.write_text(body, newline="")
    texts, values = _read(path)
    expected, phones = _expected(body, 1)
    assert [next(csv.reader(io.StringIO(t, newline=""))) for t in texts] == expected
    assert values == phones


def test_stray_quotes_blank_lines_short_and_long_rows(tmp_path: Path) -> None:
    body = (
        "first,phone,zip\r\n"
        'ab"c,4155550101,x\r\n'  # a quote inside an unquoted field is a character
        "\r\n"
        "   \r\n"
        "only\r\n"  # short: padded
        'q,"415 555\r\n0102",z\r\n'  # a line break inside a quoted field
        "a,4155550103,z,extra\r"  # longer than the header; a lone CR ends it
        '"",\n'
    )
    path = tmp_path / "odd.csv"
    path.write_text(body, newline="")
    texts, values = _read(path, size=2)
    assert texts == [
        '"ab""c",4155550101,x',  # the field ab"c, written as the csv module writes it
        "only,,",
        'q,"415 555\r\n0102",z',
        "a,4155550103,z,extra",
        ",,",  # a quoted row is written again from its fields, as the csv module writes them
    ]
    assert values == ["4155550101", "", "415 555\r\n0102", "4155550103", ""]
    assert _expected(body, 1)[1] == values


@pytest.mark.parametrize(
    ("body", "texts", "values"),
    [
        ("4155550101\n\n 415.555.0102 \r\n", ["4155550101", "415.555.0102"], None),
        (
            "415,5550101\n212,5550102\n",
            ['"415,5550101"', '"212,5550102"'],
            ["4155550101", "2125550102"],
        ),
    ],
)
def test_files_of_one_number_a_line(
    tmp_path: Path, body: str, texts: list[str], values: list[str] | None
) -> None:
    path = tmp_path / "lines.txt"
    path.write_bytes(gzip.compress(body.encode()))
    got_texts, got_values = _read(path)
    assert got_texts == texts
    assert got_values == (values if values is not None else texts)


def test_a_quote_left_open_still_ends_the_row_before_the_callguard_columns(
    tmp_path: Path,
) -> None:
    body = 'name,phone,zip\r\nx,4155550101\r\nq,4155550102,"open\r\nmore\r\n'
    path = tmp_path / "open.csv"
    path.write_text(body, newline="")
    texts, values = _read(path)
    assert values == ["4155550101", "4155550102"]
    ended = [next(csv.reader(io.StringIO(t + ",ok", newline=""))) for t in texts]
    assert ended == [["x", "4155550101", "", "ok"], ["q", "4155550102", "open\r\nmore\r\n", "ok"]]
