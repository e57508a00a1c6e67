"""Values between MySQL and turnout's common forms, read from queries or from the binlog.

A query and the binlog hand the same stored value over differently (a BIT
is bytes in one and a string of 0s and 1s in the other; a FLOAT is its
shortest text in one and the widened binary float in the other; a SET is a
string or a Python set), so both pass through one converter per column and
arrive equal. The traps are handled on purpose:

- zero dates (`0000-00-00`) are refused by default, or read as NULL when the
  URL says `zero_dates=null`; never a made-up date;
- `timestamp` is read in UTC (the session's time zone is +00:00) and
  becomes an aware datetime; `datetime` stays naive;
- `time` is a duration in MySQL; values outside 00:00..24:00 are refused;
- CHAR loses its trailing spaces the way MySQL itself returns it;
- BINARY(n) keeps its trailing zero bytes, which the binlog leaves out.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from collections.abc import Callable
from typing import Any
from uuid import UUID

from turnout.errors import OperationFailed
from turnout.model import Column, Row, Table
from turnout.types import Kind

Convert = Callable[[Any], Any]
UTC = dt.UTC


class ZeroDate(ValueError):
    """A zero or partly zero date that the task was told to refuse."""


def reader(table: Table, zero_dates: str) -> Callable[[Row], Row]:
    """A function turning a row as MySQL returns it into turnout's common values."""
    return _reader(table, [_converter(c, zero_dates) for c in table.columns])


def query_reader(table: Table, zero_dates: str) -> Callable[[Row], Row] | None:
    """reader() for rows a query returned; None when they need no conversion at all.

    A query returns CHAR without its trailing spaces already (sessions run
    without PAD_CHAR_TO_FULL_LENGTH), so only the binlog's rows need that
    step; a table of integers and text, the usual bulk of a copy, then
    passes through untouched.
    """
    converters = [None if c.type.kind is Kind.CHAR else _converter(c, zero_dates)
                  for c in table.columns]
    if all(f is None for f in converters):
        return None
    return _reader(table, converters)


def _reader(table: Table, converters: list[Convert | None]) -> Callable[[Row], Row]:
    steps = [(i, f) for i, f in enumerate(converters) if f is not None]

    def convert(row: Row) -> Row:
        values = list(row)
        try:
            for i, f in steps:
                if values[i] is not None:
                    values[i] = f(values[i])
        except ZeroDate as exc:
            raise OperationFailed(
                f"table {table.name!r} holds a zero date ({exc}) that no other engine can "
                "hold: add ?zero_dates=null to the source URL to read such dates as NULL"
            ) from None
        return tuple(values)

    return convert


def _converter(column: Column, zero_dates: str) -> Convert | None:
    native = column.native_type.lower()
    kind = column.type.kind
    if native.startswith("bit"):
        return _bit
    if kind is Kind.BOOLEAN:
        return bool
    if kind is Kind.FLOAT32:
        return _float32
    if kind is Kind.JSON:
        return _json
    if kind is Kind.TIME:
        return _time
    if kind is Kind.CHAR:
        return lambda v: v.rstrip(" ") if isinstance(v, str) else v
    if native.startswith("binary("):
        size = int(native[len("binary("):].split(")")[0])
        return lambda v: v.ljust(size, b"\0") if isinstance(v, bytes) else v
    if kind is Kind.BINARY:  # the binlog hands an empty VARBINARY or BLOB over as ''
        return lambda v: v.encode() if isinstance(v, str) else v
    if native.startswith("set"):
        order = _set_members(native)
        return lambda v: ",".join(sorted(v, key=order.index)) if isinstance(v, set) else v
    if kind in (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        aware = kind is Kind.TIMESTAMPTZ
        return lambda v: _date(v, aware, zero_dates)
    return None


def _bit(value: Any) -> int:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    if isinstance(value, str):
        return int(value, 2)  # the binlog's form
    return int(value)


def _float32(value: Any) -> float:
    """The shortest decimal that is the same single-precision float: what a query shows."""
    value = float(value)
    packed = struct.pack("<f", value)
    for digits in range(6, 10):
        short = float(f"{value:.{digits}g}")
        if struct.pack("<f", short) == packed:
            return short
    return value


def _json(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    return json.loads(value) if isinstance(value, str) else value


def _time(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) <= value < dt.timedelta(1):
        raise OperationFailed(
            f"a MySQL time value {value} is a duration outside one day, which other engines' "
            "time cannot hold: add --cast TABLE.COLUMN=interval or text"
        )
    return (dt.datetime.min + value).time()


def _date(value: Any, aware: bool, zero_dates: str) -> Any:
    if isinstance(value, str | bytes):  # the driver gives invalid dates back as text
        text = value.decode() if isinstance(value, bytes) else value
        if zero_dates == "null":
            return None
        raise ZeroDate(text)
    if aware and isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC)
    return value


def _set_members(native: str) -> list[str]:
    from turnout.engines.mysql.dialect import labels

    return list(labels(native))


def to_mysql(value: Any) -> Any:
    """A value from any engine as PyMySQL writes it into the column turnout created."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)  # sessions run in UTC
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    return value


def same(row: Row) -> Row:
    """The writer of rows that pass as they are (callers skip calling it)."""
    return row


def writer(table: Table) -> Callable[[Row], Row]:
    """Rows from a MySQL source pass as they are; others go value by value."""
    if table.origin == "mysql":
        json_at = [i for i, c in enumerate(table.columns) if c.type.kind is Kind.JSON]
        if not json_at:
            return same
    return lambda row: tuple(to_mysql(v) for v in row)

