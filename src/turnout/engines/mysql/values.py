"""Values between MySQL and turnout's common forms, read from queries or from the binlog.

A query and the binlog hand the same stored value over differently (a BIT
is bytes in one and a string of 0s and 1s in the other; a FLOAT is its
shortest text in one and the widened binary float in the other; a SET is a
string or a Python set), so both pass through one converter per column and
arrive equal. The traps are handled on purpose:

- zero dates (`0000-00-00`) are kept as MySQL spells them (model.ZeroDate),
  which a MySQL destination takes back and other engines refuse at precheck
  (gaps.py), or read as NULL when the URL says `zero_dates=null`; never a
  made-up date. The binlog gives a zero TIMESTAMP as the epoch's first
  second, which no TIMESTAMP holds otherwise (their range starts one second
  later), so that second is a zero date too;
- `timestamp` is read in UTC (the session's time zone is +00:00) and
  becomes an aware datetime; `datetime` stays naive;
- `time` is a duration in MySQL: values within a day become a time of day,
  others stay a timedelta, which MySQL takes back exactly and which other
  engines refuse at precheck unless cast to interval or text (gaps.py);
- CHAR loses its trailing spaces the way MySQL itself returns it;
- BINARY(n), and MariaDB's uuid, inet4 and inet6 (stored as fixed bytes),
  get back the trailing zero bytes the binlog leaves out;
- JSON travels as its text (JsonText), so JSON `null` and scalars arrive as
  what they are rather than as SQL NULL, 1 or 0;
- FLOAT is written back to MySQL as the exact widened float, since the
  shortest text of the largest FLOAT is above FLT_MAX as a double and MySQL
  refuses it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import struct
from collections.abc import Callable
from typing import Any
from uuid import UUID

from turnout.casts import interval_delta, json_default
from turnout.engines.mysql.dialect import labels
from turnout.gaps import Gap
from turnout.model import Column, Duration, Geometry, JsonText, Row, Spelled, Table, ZeroDate
from turnout.types import CanonicalType, Kind

Convert = Callable[[Any], Any]
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1)  # a zero TIMESTAMP as the binlog gives it
_FIXED = {"uuid": 16, "inet4": 4, "inet6": 16}  # MariaDB's types stored as fixed bytes


def reader(table: Table, zero_dates: str) -> Callable[[Row], Row]:
    """A function turning a row as a query returns it into turnout's common values."""
    return _reader(table, [_converter(c, zero_dates) for c in table.columns])


def binlog_reader(table: Table, zero_dates: str) -> Callable[[Row], Row]:
    """reader() for rows of the binlog, which gives some values in forms of its own."""
    return _reader(table, [_converter(c, zero_dates, binlog=True) for c in table.columns])


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
        for i, f in steps:
            if values[i] is not None:
                values[i] = f(values[i])
        return tuple(values)

    return convert


def _converter(column: Column, zero_dates: str, binlog: bool = False) -> Convert | None:
    native = column.native_type.lower()
    kind = column.type.kind
    if native.startswith("bit"):
        return _bit
    if native.startswith("year") and binlog:  # the binlog adds 1900 to YEAR 0 (0000) too
        return lambda v: 0 if v == 1900 else v
    if kind is Kind.FLOAT32:
        return _float32
    if kind is Kind.JSON:
        return _json_binlog if binlog else _json
    if kind is Kind.TIME:
        return _time
    if kind is Kind.CHAR:
        return lambda v: v.rstrip(" ") if isinstance(v, str) else v
    if native.startswith("binary("):
        size = int(native[len("binary("):].split(")")[0])
        return lambda v: _padded(v, size)
    if native in _FIXED:
        return _fixed(native) if binlog else None
    if kind is Kind.GEOMETRY:  # bytes that know they are a geometry, for a cast to text
        return lambda v: Geometry(v.encode() if isinstance(v, str) else v)
    if kind is Kind.BINARY:  # the binlog hands an empty VARBINARY or BLOB over as ''
        return lambda v: v.encode() if isinstance(v, str) else v
    if native.startswith("set"):
        order = _set_members(native)
        return lambda v: ",".join(sorted(v, key=order.index)) if isinstance(v, set) else v
    if kind in (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        aware = kind is Kind.TIMESTAMPTZ
        epoch_is_zero = binlog and native.startswith("timestamp")
        return lambda v: _date(v, aware, zero_dates, epoch_is_zero)
    return None


def _padded(value: Any, size: int) -> Any:
    """Fixed-length bytes with the trailing zero bytes the binlog left out (all of them
    gone, the library hands over an empty str)."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogateescape")
    return value.ljust(size, b"\0") if isinstance(value, bytes) else value


def _fixed(native: str) -> Convert:
    """MariaDB's uuid / inet4 / inet6 from the binlog's bytes to the text a query gives."""
    size = _FIXED[native]
    if native == "uuid":
        return lambda v: str(UUID(bytes=_padded(v, size))) if isinstance(v, bytes | str) else v
    if native == "inet4":
        return lambda v: str(ipaddress.IPv4Address(_padded(v, size))) if isinstance(
            v, bytes | str) else v
    return lambda v: inet6_text(_padded(v, size)) if isinstance(v, bytes | str) else v


def inet6_text(packed: bytes) -> str:
    """An IPv6 address as MariaDB and PostgreSQL print it: an embedded IPv4 address (mapped
    `::ffff:a.b.c.d` or compatible `::a.b.c.d`) in dotted form, the rest compressed."""
    address = ipaddress.IPv6Address(packed)
    v4 = str(ipaddress.IPv4Address(packed[12:]))
    if address.ipv4_mapped is not None:
        return f"::ffff:{v4}"
    if packed[:12] == bytes(12) and int.from_bytes(packed[12:], "big") > 1:
        return f"::{v4}"
    return address.compressed


def _bit(value: Any) -> int:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    if isinstance(value, str):
        return int(value, 2)  # the binlog's form
    return int(value)


def _float32(value: Any) -> float:
    """The shortest decimal that is the same single-precision float, as PostgreSQL prints
    a real (a query to MySQL shows six digits at most, and the binlog the widened double)."""
    value = float(value)
    packed = struct.pack("<f", value)
    for digits in range(1, 10):
        short = float(f"{value:.{digits}g}")
        try:
            if struct.pack("<f", short) == packed:
                return short
        except OverflowError:  # rounded up past FLOAT's largest value
            continue
    return value


def _json(value: Any) -> JsonText:
    """A query's JSON (MySQL's normalised text, MariaDB's text as stored) as its text."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return JsonText(value)
    return JsonText(json.dumps(value, ensure_ascii=False))


def _json_binlog(value: Any) -> JsonText:
    """MariaDB's binlog gives the text (a str); MySQL's gives its binary JSON parsed into
    Python values with bytes for strings and keys (JSON null is told apart in capture.py)."""
    if isinstance(value, str):
        return JsonText(value)
    return JsonText(json.dumps(_decoded(value), ensure_ascii=False, separators=(", ", ": ")))


def _decoded(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {_decoded(k): _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


def _time(value: Any) -> dt.time | dt.timedelta:
    if isinstance(value, dt.time):
        return value
    if dt.timedelta(0) <= value < dt.timedelta(1):
        return (dt.datetime.min + value).time()
    return Duration(value.days, value.seconds, value.microseconds)  # past a day, or negative


def time_text(value: dt.timedelta) -> str:
    """MySQL's own spelling of a TIME duration, `-838:59:59.000000` (the drivers write a
    negative one wrong, and drop its microseconds)."""
    micros = abs(value) // dt.timedelta(microseconds=1)
    seconds, micros = divmod(micros, 1_000_000)
    sign = "-" if value < dt.timedelta(0) else ""
    return f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{micros:06d}"


def _date(value: Any, aware: bool, zero_dates: str, epoch_is_zero: bool = False) -> Any:
    zero = epoch_is_zero and value == EPOCH
    if isinstance(value, str | bytes) or zero:  # the driver gives invalid dates as text
        text = value.decode() if isinstance(value, bytes) else str(value)
        if zero_dates == "null":
            return None
        return ZeroDate("0000-00-00 00:00:00" if zero else text)
    if aware and isinstance(value, dt.datetime):
        return value.replace(tzinfo=UTC)
    return value


def _set_members(native: str) -> list[str]:
    return list(labels(native))


def to_mysql(value: Any) -> Any:
    """A value from any engine as PyMySQL writes it into the column turnout created."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)  # sessions run in UTC
    if isinstance(value, JsonText | Spelled):  # Spelled: a PostgreSQL range, in its own text
        return str(value)
    if isinstance(value, dict | list):  # a PostgreSQL array: elements JSON has no word for as text
        return json.dumps(value, ensure_ascii=False, default=json_default)
    if isinstance(value, UUID | ipaddress.IPv4Address | ipaddress.IPv6Address
                  | ipaddress.IPv4Interface | ipaddress.IPv6Interface):
        return str(value)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, dt.time) and value.tzinfo is not None:
        return value.replace(tzinfo=None)
    if isinstance(value, dt.timedelta):
        return time_text(value)
    if isinstance(value, Spelled):
        return value.text  # MySQL refuses what it cannot read, with its own message
    return value


def same(row: Row) -> Row:
    """The writer of rows that pass as they are (callers skip calling it)."""
    return row


def writer(table: Table) -> Callable[[Row], Row]:
    """Rows from a MySQL source pass as they are but for JSON and FLOAT columns; others go
    value by value."""
    steps = {i: f for i, c in enumerate(table.columns)
             if (f := _column_writer(c)) is not None}
    if table.origin == "mysql" and not steps:
        return same
    if table.origin == "mysql":
        return lambda row: tuple(v if (f := steps.get(i)) is None or v is None else f(v)
                                 for i, v in enumerate(row))
    return lambda row: tuple(to_mysql(v) if (f := steps.get(i)) is None or v is None else f(v)
                             for i, v in enumerate(row))


def _json_out(value: Any) -> str:
    """A JSON document's text: JsonText and other engines' JSON text as it is, Python values
    (a scalar from a driver that parsed the JSON) written as JSON, so `true` stays true."""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bytes):
        return value.decode()
    return json.dumps(value, ensure_ascii=False)


def _float_out(value: Any) -> Any:
    """The single-precision value as the double it widens to, which MySQL takes exactly
    (3.4028235e38, FLOAT's largest value in shortest text, is refused as out of range)."""
    if not isinstance(value, float | int):
        return to_mysql(value)
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:  # beyond FLOAT: MySQL refuses it with its own message
        return value


def _time_out(value: Any) -> Any:
    """A duration in MySQL's own spelling, which the drivers get wrong when negative; a
    PostgreSQL interval (`2 days 03:00:00`, the text it keeps) as the duration it is."""
    if isinstance(value, Spelled):
        value = interval_delta(value.text) or value
    return time_text(value) if isinstance(value, dt.timedelta) else to_mysql(value)


def _stamp_out(value: Any) -> Any:
    """A timestamp with an offset as UTC: SQLite keeps another engine's timestamptz as ISO
    text with `+00:00`, which MySQL's TIMESTAMP does not read."""
    if isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            return value  # MySQL refuses it with its own message
        return to_mysql(stamp) if stamp.tzinfo is not None else value
    return to_mysql(value)


def _date_out(value: Any) -> Any:
    """A zero date as MySQL spells it; other dates as the driver writes them."""
    return value.text if isinstance(value, Spelled) else to_mysql(value)


def _year_out(value: Any) -> Any:
    """YEAR 0 as `0000`: LOAD DATA reads `0` as text, which YEAR takes as 2000."""
    return "0000" if value == 0 else value


def _column_writer(column: Column) -> Convert | None:
    if column.native_type.lower().startswith("year"):
        return _year_out
    return _COLUMN_WRITERS.get(column.type.kind)


_COLUMN_WRITERS: dict[Kind, Convert] = {Kind.JSON: _json_out, Kind.FLOAT32: _float_out,
                                        Kind.TIME: _time_out, Kind.GEOMETRY: bytes,
                                        Kind.TIMESTAMPTZ: _stamp_out, Kind.DATE: _date_out,
                                        Kind.TIMESTAMP: _date_out}



_HOLDS_ANY_TEXT = (Kind.TEXT, Kind.CHAR, Kind.VARCHAR, Kind.ANY)
_NUMBERS = (Kind.FLOAT32, Kind.FLOAT64, Kind.DECIMAL)


def gaps_held(ctype: CanonicalType, zero_dates: str) -> frozenset[Gap]:
    """A TIME is a duration of up to ±838:59:59; a date may be zero, which zero_dates=null
    reads as NULL."""
    if ctype.kind is Kind.TIME:
        return frozenset({Gap.LONG_TIME})
    if ctype.kind is Kind.INT64 and ctype.unsigned:
        return frozenset({Gap.WIDE_INT})
    if ctype.is_text:
        return frozenset({Gap.NUL})
    if ctype.kind is Kind.JSON:
        return frozenset({Gap.JSON_NUL})
    if ctype.kind in (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        return frozenset({Gap.ZERO_DATE if zero_dates == "null" else Gap.ZERO_TEXT})
    return frozenset()


def gaps_refused(ctype: CanonicalType) -> frozenset[Gap]:
    """MySQL has no NaN, no infinity, no -0 (a FLOAT or DOUBLE stores it as 0 whether it comes
    as a literal, a bound parameter, text or LOAD DATA), and no date before year 1000 or after
    9999; only text takes another engine's spelling of such a value. A typed column takes
    only its type's values (SQLite's columns hold any): text no number, bytes no text."""
    if ctype.kind in _HOLDS_ANY_TEXT:
        return frozenset({Gap.BLOB})
    if ctype.kind is Kind.BINARY:
        return frozenset({Gap.SPELLED, Gap.MIXED})
    if ctype.kind in _NUMBERS:
        return frozenset({Gap.SPELLED, Gap.NAN, Gap.INFINITE, Gap.MIXED, Gap.BLOB, Gap.NEG_ZERO})
    return frozenset({Gap.SPELLED, Gap.MIXED, Gap.BLOB, Gap.NEG_ZERO})


def gap_test(column_sql: str, gap: Gap, wide: bool = False) -> str | None:
    """SQL true for a value of `gap`: a TIME duration, a zero or partly zero date. In every
    character set but the `wide` ones (charsets.WIDE) a 0x00 byte is a NUL and nothing else
    (UTF-8, GBK, latin1...), so NUL is looked for in the bytes: three times cheaper than a
    search in the column's character set, which reads the whole table for it."""
    c = column_sql
    if gap is Gap.LONG_TIME:
        return f"({c} < '00:00:00' OR {c} >= '24:00:00')"
    if gap in (Gap.ZERO_DATE, Gap.ZERO_TEXT):
        return f"(YEAR({c}) = 0 OR MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0)"
    if gap is Gap.WIDE_INT:  # + 0 reads a BIT as the number it is
        return f"({c} + 0) > 9223372036854775807"
    if gap is Gap.NUL and not wide:
        return f"INSTR(BINARY {c}, X'00') > 0"
    if gap is Gap.NUL:  # the literal takes the column's character set
        return f"INSTR({c}, _utf8mb4 X'00') > 0"
    if gap is Gap.JSON_NUL:  # \u0000 after an even run of backslashes (92) in the JSON text
        b = "CHAR(92)"
        pattern = f"CONCAT('(^|[^', {b}, {b}, '])(', {b}, {b}, {b}, {b}, ')*', {b}, {b}, 'u0000')"
        return f"CAST({c} AS CHAR) REGEXP {pattern}"
    return None
