"""Canonical spellings: the same logical value spelled once, whatever engine returned it."""

from __future__ import annotations

import datetime as dt
import math
import struct
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turnout.engines.base import KeySpan
from turnout.engines.forms import Form, canonical, pair_form
from turnout.types import parse_type
from turnout.verify.ranges import _split

UTC_PLUS_2 = dt.timezone(dt.timedelta(hours=2))


@pytest.mark.parametrize(("values", "form"), [
    ((12, Decimal("12.000"), 12.0, "12", True and 12), Form.NUMBER),
    ((Decimal("12.50"), 12.5, "12.5", b"12.50"), Form.NUMBER),
    ((Decimal("-0.001"), "-0.0010"), Form.NUMBER),
    ((True, 1, Decimal("1.0")), Form.NUMBER),
    ((0.1, "0.1", Decimal("0.1")), Form.FLOAT64),
    ((3.1415927, 3.14159274101257), Form.FLOAT32),
    ((0.1, 0.10000000149011612, "0.1"), Form.FLOAT32),
    ((float("nan"), -float("nan"), "NaN", Decimal("NaN")), Form.FLOAT64),
    (("ab   ", "ab", b"ab "), Form.CHAR),
    (("ABC", b"ABC"), Form.TEXT),
    (("2F1E0C5E-0000-4000-8000-000000000000", "2f1e0c5e-0000-4000-8000-000000000000"),
     Form.UUID),
    ((b"\x00\xff", bytearray(b"\x00\xff"), memoryview(b"\x00\xff")), Form.BYTES),
    ((dt.date(2024, 2, 29), "2024-02-29", dt.datetime(2024, 2, 29, 1)), Form.DATE),
    ((dt.time(13, 5, 0, 500000), "13:05:00.5", dt.timedelta(hours=13, minutes=5, seconds=0.5)),
     Form.TIME),
    ((dt.datetime(2024, 2, 29, 13, 5), "2024-02-29 13:05:00", "2024-02-29T13:05:00.000000",
      dt.datetime(2024, 2, 29, 15, 5, tzinfo=UTC_PLUS_2)), Form.TIMESTAMP),
    (({"b": 1, "a": [1, 2.5]}, '{"a": [1, 2.5], "b": 1}', '{ "b":1,"a":[1,2.5] }'), Form.JSON),
])
def test_equal_values_spell_alike(values: tuple, form: Form) -> None:
    assert len({canonical(v, form) for v in values}) == 1, [canonical(v, form) for v in values]


def test_null_and_empty_stay_apart_and_differences_show() -> None:
    assert canonical(None, Form.TEXT) is None and canonical("", Form.TEXT) == ""
    assert canonical(Decimal("12.5"), Form.NUMBER) != canonical(Decimal("12.05"), Form.NUMBER)
    assert canonical(0.1, Form.FLOAT64) != canonical(0.1000001, Form.FLOAT64)
    assert canonical(" a", Form.CHAR) != canonical("a", Form.CHAR)  # leading spaces count
    assert canonical(dt.timedelta(hours=-1), Form.TIME) == "-01:00:00.000000"
    assert canonical("not a date", Form.DATE) == "?not a date"


@pytest.mark.parametrize(("a", "b", "form"), [
    ("int32", "int64", Form.NUMBER), ("int64 unsigned", "decimal(20,0)", Form.NUMBER),
    ("boolean", "int16", Form.NUMBER), ("float32", "float64", Form.FLOAT32),
    ("char(5)", "varchar(5)", Form.CHAR), ("timestamp", "text", Form.TEXT),
    ("json", "int32", Form.OTHER),
])
def test_pair_forms(a: str, b: str, form: Form) -> None:
    assert pair_form(parse_type(a), parse_type(b)) is form


def test_split_covers_the_span_once() -> None:
    assert _split(KeySpan(None, None), [(10,), (20,)]) == [
        KeySpan(None, (10,)), KeySpan((10,), (20,)), KeySpan((20,), None)]
    assert _split(KeySpan((5,), (20,)), [(10,), (20,)]) == [
        KeySpan((5,), (10,)), KeySpan((10,), (20,))]


def test_a_negative_zero_is_not_spelled_as_zero() -> None:
    """PostgreSQL keeps -0; MySQL and SQLite's REAL store 0: verify must tell them apart."""
    assert (canonical(-0.0, Form.NUMBER), canonical(0.0, Form.NUMBER)) == ("-0", "0")
    for form in (Form.FLOAT64, Form.FLOAT32):
        assert canonical(-0.0, form) == "8000000000000000"
        assert canonical(0.0, form) == canonical(0, form) == "0000000000000000"


@given(st.floats(allow_nan=False), st.floats(allow_nan=False))
def test_two_doubles_spell_alike_only_when_they_are_the_same_double(a: float, b: float) -> None:
    same = struct.pack(">d", a) == struct.pack(">d", b)
    assert (canonical(a, Form.FLOAT64) == canonical(b, Form.FLOAT64)) is same
    assert canonical(repr(a), Form.FLOAT64) == canonical(a, Form.FLOAT64)


@given(st.floats(width=32, allow_nan=False), st.floats(width=32, allow_nan=False))
def test_two_float4s_spell_alike_only_when_they_are_the_same_float4(a: float, b: float) -> None:
    """Exact at a float4's own precision, whether it was read as its shortest text or as the
    double it widens to."""
    same = struct.pack(">f", a) == struct.pack(">f", b)
    assert (canonical(a, Form.FLOAT32) == canonical(b, Form.FLOAT32)) is same
    assert canonical(float(f"{a:.9g}"), Form.FLOAT32) == canonical(a, Form.FLOAT32)


def test_a_difference_in_the_last_digits_shows() -> None:
    x = 0.1234567890123456
    assert canonical(x, Form.FLOAT64) != canonical(math.nextafter(x, 1), Form.FLOAT64)
    assert canonical(x, Form.FLOAT64) != canonical(x * (1 + 1e-14), Form.FLOAT64)
    y = 0.33333334  # a float4; the next float4 up is 0.33333337
    assert canonical(y, Form.FLOAT32) != canonical(0.33333337, Form.FLOAT32)


def test_a_double_beyond_a_float4_keeps_its_own_bits() -> None:
    """Rounding 1e300 to a float4 gives infinity, and 1e-50 gives 0: neither is the value."""
    assert canonical(1e300, Form.FLOAT32) == canonical(1e300, Form.FLOAT64)
    assert canonical(1e300, Form.FLOAT32) != canonical(float("inf"), Form.FLOAT32)
    assert canonical(1e-50, Form.FLOAT32) != canonical(0.0, Form.FLOAT32)
    assert canonical(3.4028235e38, Form.FLOAT32) == canonical(3.4028234663852886e38, Form.FLOAT64)
