"""Values one engine holds and another cannot: how each is told apart, and the forms that
carry a value exactly where no native type of the destination does."""

from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import pytest

from turnout.casts import interval_delta
from turnout.engines.sqlite.dialect import canonical_type, declared_type
from turnout.engines.sqlite.values import to_sqlite
from turnout.errors import OperationFailed
from turnout.gaps import Gap, gap_of, problem, row_checker
from turnout.model import Column, JsonText, Table
from turnout.types import parse_type


def test_integers_past_64_bit_signed_and_text_with_nul_are_gaps() -> None:
    assert gap_of(2**63 - 1) is None
    assert gap_of(2**63) is Gap.WIDE_INT
    assert gap_of(18446744073709551615) is Gap.WIDE_INT
    assert gap_of("zero\0byte") is Gap.NUL


def test_text_and_bytes_are_gaps_only_where_a_column_holds_them() -> None:
    """Text is a gap in an SQLite INTEGER column, bytes in a text one (their affinity keeps
    them); the row check asks only columns whose source holds such a gap."""
    assert gap_of("not a number") is Gap.MIXED
    assert gap_of(b"\x01") is Gap.BLOB
    assert gap_of(7) is None and gap_of(1.5) is None


def test_a_nul_refusal_names_table_column_key_and_a_fix() -> None:
    line = problem("t", "v", Gap.NUL, (5,), "postgresql://h/db")
    assert line.startswith("t.v holds text with a NUL character (0x00) (t key 5)")
    assert "UPDATE t SET v = REPLACE(v, CHAR(0), '')" in line and "--exclude t" in line


@pytest.mark.parametrize(("text", "expected"), [
    ("00:00:00", dt.timedelta(0)),
    ("838:59:59", dt.timedelta(hours=838, minutes=59, seconds=59)),
    ("-838:59:59", -dt.timedelta(hours=838, minutes=59, seconds=59)),
    ("2 days 03:00:00.5", dt.timedelta(days=2, hours=3, microseconds=500_000)),
    ("1 day -00:00:01", dt.timedelta(days=1, seconds=-1)),
    ("-1 days -00:00:01", dt.timedelta(days=-1, seconds=-1)),
    ("1 mon", None),  # months are no fixed duration
    ("1 year 2 mons", None),
])
def test_postgres_interval_text_as_a_duration(text: str, expected: dt.timedelta | None) -> None:
    assert interval_delta(text) == expected


@pytest.mark.parametrize("written", ["decimal", "decimal(65,30)", "decimal(20,0)"])
def test_sqlite_keeps_a_wide_decimal_as_exact_text(written: str) -> None:
    """NUMERIC affinity keeps 15 significant digits; a wider decimal gets TEXT affinity and
    a declared type that maps back to the same decimal."""
    ctype = parse_type(written)
    declared = declared_type(ctype)
    assert canonical_type(declared) == ctype
    value = Decimal("9" * 35 + "." + "9" * 30) if ctype.precision != 20 else Decimal(2**64 - 1)
    tiny = Decimal("-0." + "0" * 29 + "1")
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {declared})")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, to_sqlite(value)), (2, to_sqlite(tiny))])
    back = [Decimal(v) for (v,) in conn.execute("SELECT v FROM t ORDER BY id")]
    assert back == [value, tiny]
    assert conn.execute("SELECT typeof(v) FROM t").fetchone() == ("text",)


def test_sqlite_keeps_a_narrow_decimal_as_a_number() -> None:
    assert declared_type(parse_type("decimal(10,2)")) == "NUMERIC(10,2)"


def test_a_json_nul_is_an_escape_after_an_even_run_of_backslashes() -> None:
    assert gap_of(JsonText('["a\\u0000b"]')) is Gap.JSON_NUL
    assert gap_of(JsonText('{"\\u0000": 1}')) is Gap.JSON_NUL
    assert gap_of(JsonText('["\\\\\\u0000"]')) is Gap.JSON_NUL  # a backslash, then NUL
    assert gap_of(JsonText('["\\\\u0000"]')) is None  # a backslash, then the text u0000
    assert gap_of(JsonText('["\\u00e9", null]')) is None


def test_a_negative_zero_is_a_gap_of_its_own() -> None:
    assert gap_of(-0.0) is Gap.NEG_ZERO
    assert gap_of(0.0) is None
    assert gap_of(-1e-300) is None


ODD_VALUES = [None, "", "plain", "nul\0inside", "\0", JsonText('"a\\u0000"'), JsonText("\0"),
              b"\0", b"x", 0, 2**64, 1.5, float("nan"), -0.0, Decimal("1.0"),
              dt.timedelta(days=2), dt.date(2024, 1, 1)]


@pytest.mark.parametrize("held", [frozenset({Gap.NUL}), frozenset({Gap.NUL, Gap.BLOB}),
                                  frozenset({Gap.NAN, Gap.NUL}), frozenset({Gap.JSON_NUL})])
def test_the_row_check_stops_exactly_where_gap_of_says(held: frozenset[Gap]) -> None:
    """A column that can hold only a NUL takes a quicker test than gap_of(): both must stop
    at the same values, naming the column and key."""
    table = Table("t", (Column("id", parse_type("int32")), Column("v", parse_type("text"))),
                  primary_key=("id",))
    check = row_checker(table, (frozenset(), held), "postgresql://h/db")
    assert check is not None
    for value in ODD_VALUES:
        gap = Gap.ZERO_DATE if value is None else gap_of(value)
        if gap is not None and gap in held:
            with pytest.raises(OperationFailed, match=r"^t\.v holds .* \(t key 7\)"):
                check((7, value))
        else:
            check((7, value))
