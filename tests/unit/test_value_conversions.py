"""Value conversions that need no database: written forms of casts, engines' own spellings, and
keys as checkpoints keep them.

Each property says that one module's output reads back as the value it came from, through
the function that reads that form: a PostgreSQL interval, a MySQL TIME, a checkpoint's JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turnout.casts import (
    as_text,
    as_utc,
    interval_delta,
    interval_text,
    postgres_interval,
    row_caster,
)
from turnout.engines.mysql.values import _float32, _time, time_text, to_mysql
from turnout.engines.sqlite.values import to_sqlite
from turnout.model import (
    Column,
    Duration,
    Geometry,
    JsonText,
    Spelled,
    Table,
    ZeroDate,
    key_from_json,
    key_to_json,
)
from turnout.types import CanonicalType, Kind

# MySQL's TIME spans -838:59:59..838:59:59; PostgreSQL's intervals go much further
durations = st.timedeltas(min_value=-dt.timedelta(days=10**5), max_value=dt.timedelta(days=10**5))
mysql_times = st.timedeltas(min_value=-dt.timedelta(hours=838, minutes=59, seconds=59),
                           max_value=dt.timedelta(hours=838, minutes=59, seconds=59))


@given(durations)
def test_postgresql_interval_text_reads_back_as_the_same_duration(value: dt.timedelta) -> None:
    assert interval_delta(interval_text(value)) == value


@given(mysql_times)
def test_mysql_time_spellings_read_back_as_the_same_duration(value: dt.timedelta) -> None:
    assert interval_delta(time_text(value)) == value
    assert interval_delta(str(Duration(value.days, value.seconds, value.microseconds))) == value


@given(mysql_times)
def test_a_mysql_time_is_a_time_of_day_only_within_a_day(value: dt.timedelta) -> None:
    read = _time(value)
    if dt.timedelta(0) <= value < dt.timedelta(days=1):
        assert isinstance(read, dt.time)
        assert dt.datetime.combine(dt.date.min, read) - dt.datetime.min == value
    else:
        assert isinstance(read, Duration) and read == value


def test_interval_text_is_postgresqls_own() -> None:
    assert interval_text(dt.timedelta(days=1, hours=2)) == "1 day 02:00:00"
    assert interval_text(dt.timedelta(days=3, seconds=1.5)) == "3 days 00:00:01.5"
    assert interval_text(dt.timedelta(seconds=5)) == "00:00:05"
    assert interval_delta("1 mon") is None


def test_a_negative_interval_is_written_and_read_as_postgresql_prints_it() -> None:
    """Python holds -5 s as -1 day + 23:59:55, which PostgreSQL would read as another
    interval; days and clock get one sign, as justify_hours() gives them."""
    assert interval_text(dt.timedelta(seconds=-5)) == "-00:00:05"
    assert interval_text(dt.timedelta(days=-1, seconds=1)) == "-23:59:59"
    assert interval_text(dt.timedelta(days=-3, seconds=1.5)) == "-2 days -23:59:58.5"
    assert interval_text(dt.timedelta(days=2)) == "2 days"
    assert postgres_interval(0, -1, 1_000_000) == "-1 days +00:00:01"
    assert postgres_interval(-13, 2, -5) == "-1 years -1 mons +2 days -00:00:00.000005"
    assert interval_delta("-1 days +00:00:01") == dt.timedelta(days=-1, seconds=1)
    assert interval_delta("1 day -00:00:01") == dt.timedelta(hours=23, minutes=59, seconds=59)
    assert interval_delta("-2 days") == dt.timedelta(days=-2)
    assert interval_delta(" 00:00:01") is None and interval_delta("1 day00:00:01") is None


@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_a_float32_reads_as_the_shortest_text_of_the_same_single(value: float) -> None:
    short = _float32(value)
    assert struct.pack("<f", short) == struct.pack("<f", value)
    assert len(repr(short)) <= len(repr(value))


# --------------------------------------------------------------------------- keys


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(), st.binary(max_size=16),
    st.floats(allow_nan=False), st.dates(), st.datetimes(), st.times(),
    st.datetimes(timezones=st.just(dt.UTC)), durations,
    st.decimals(allow_nan=False, allow_infinity=False), st.uuids(),
    st.builds(Spelled, st.sampled_from(["infinity", "-infinity", "24:00:00"]),
              st.sampled_from([-1, 0, 1])),
    st.builds(ZeroDate, st.sampled_from(["0000-00-00", "2024-00-10 00:00:00"])),
)


@given(st.lists(scalars, min_size=1, max_size=4).map(tuple))
def test_a_key_comes_back_from_its_checkpoint_as_the_same_values_and_types(key: Any) -> None:
    back = key_from_json(key_to_json(key))
    assert back == key
    assert [type(v) for v in back] == [type(v) for v in key]


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=10))
def test_compact_json_drops_only_the_whitespace_between_tokens(value: Any) -> None:
    spaced = JsonText(json.dumps(value, indent=2, ensure_ascii=False))
    assert spaced.compact() == json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- written forms


@pytest.mark.parametrize(("value", "text"), [
    (True, "true"),
    (Decimal("1E+3"), "1000"),
    (Decimal("-0.0100"), "-0.0100"),
    (b"\x00\xff", "\\x00ff"),
    (dt.datetime(2024, 2, 29, 10, 0, 0, 5), "2024-02-29 10:00:00.000005"),
    (dt.time(23, 59), "23:59:00"),
    (dt.timedelta(days=2, seconds=1), "2 days 00:00:01"),
    (Duration(hours=-30), "-30:00:00"),
    (Spelled("infinity", 1), "infinity"),
    ({"a": [1, dt.date(2024, 1, 2)]}, '{"a": [1, "2024-01-02"]}'),
    (Geometry(bytes(4) + bytes.fromhex("0101000000000000000000f03f0000000000000040")),
     "POINT(1 2)"),
    (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
])
def test_a_value_cast_to_text_is_written_one_way_everywhere(value: Any, text: str) -> None:
    assert as_text(value) == text


INT, TEXT = CanonicalType(Kind.INT64), CanonicalType(Kind.TEXT)
STAMP, STAMPTZ = CanonicalType(Kind.TIMESTAMP), CanonicalType(Kind.TIMESTAMPTZ)


def test_rows_get_the_written_form_of_their_cast_columns_only() -> None:
    source = Table("t", (Column("id", INT), Column("n", INT), Column("at", STAMP)))
    dest = Table("t", (Column("id", INT), Column("n", TEXT), Column("at", STAMPTZ)))
    cast = row_caster(source, dest)
    assert cast is not None
    noon = dt.datetime(2024, 1, 1, 12)
    assert cast((1, 7, noon)) == (1, "7", noon.replace(tzinfo=dt.UTC))
    assert cast((1, None, None)) == (1, None, None)
    assert row_caster(source, source) is None
    aware = dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert as_utc(aware) is aware


def test_engines_write_what_their_driver_cannot() -> None:
    aware = dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert to_mysql(aware) == dt.datetime(2024, 1, 1, 10)
    assert to_mysql(dt.timedelta(hours=-1, microseconds=5)) == "-00:59:59.999995"
    assert to_mysql(JsonText('{"a": 1}')) == '{"a": 1}'
    assert to_sqlite(True) == 1
    assert to_sqlite(Decimal("1E+20")) == "100000000000000000000"
    assert to_sqlite(JsonText('{ "a" : [1, 2] }')) == '{"a":[1,2]}'
    assert to_sqlite(memoryview(b"ab")) == b"ab"
