"""Canonical text forms: one spelling per logical value, whatever engine holds it.

Verification hashes rows inside each database and compares fetched rows in
Python; both only work when the same value is spelled the same everywhere.
A form is chosen per column from its canonical type, so an int in MySQL, a
bigint in PostgreSQL and an INTEGER in SQLite all become "number". The SQL
that produces these spellings inside PostgreSQL and MySQL lives in each
engine's checksums module; SQLite calls the functions below.

A spelling that differs for equal values only costs speed (the range is
fetched and compared here); a spelling that hides a difference would be a
bug, so every form is exact. Floats are spelled as their IEEE-754 bits, the one spelling
every engine can produce for the same double (their shortest texts differ in layout, and
PostgreSQL's even in digits for a double that sits on a rounding boundary).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
import struct
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from turnout.casts import interval_delta, json_default
from turnout.model import Spelled
from turnout.types import CanonicalType, Kind


class Form(StrEnum):
    NUMBER = "number"  # integers, decimals, booleans: '12', '12.5', '-0.25', '1'
    FLOAT64 = "float64"  # the double's 64 bits in hex ('8000000000000000' is -0); 'NaN'
    FLOAT32 = "float32"  # the value rounded to a float4, widened, in FLOAT64's spelling
    CHAR = "char"  # text without trailing spaces (SQL compares CHAR so)
    TEXT = "text"
    UUID = "uuid"  # lower case with hyphens
    INET = "inet"  # an address written out in full, its mask only when it has one
    BYTES = "bytes"  # lower-case hex
    DATE = "date"  # 2024-02-29
    TIME = "time"  # 13:05:00.000000
    TIMESTAMP = "timestamp"  # 2024-02-29 13:05:00.000000, in UTC for time-zone-aware types
    JSON = "json"  # keys sorted, no spaces
    OTHER = "other"  # what str() gives: only for values of one engine


NEGATIVE_ZERO = "-0"  # a float -0 in NUMBER form, as PostgreSQL prints it
NAN = "NaN"  # every NaN, whatever its payload bits (PostgreSQL holds all NaNs equal)
# A double rounds to a finite, non-zero float4 only strictly between these two: at or below
# 2**-150 it rounds to 0, at or above 2**128 - 2**103 (halfway from FLOAT's largest value to
# 2**128) to infinity. Beyond them the double keeps its own bits, which no float4 has.
FLOAT32_LOW = 2.0 ** -150
FLOAT32_HIGH = 2.0 ** 128 - 2.0 ** 103

_FORMS = {
    Kind.BOOLEAN: Form.NUMBER, Kind.INT16: Form.NUMBER, Kind.INT32: Form.NUMBER,
    Kind.INT64: Form.NUMBER, Kind.DECIMAL: Form.NUMBER,
    Kind.FLOAT32: Form.FLOAT32, Kind.FLOAT64: Form.FLOAT64,
    Kind.CHAR: Form.CHAR, Kind.VARCHAR: Form.TEXT, Kind.TEXT: Form.TEXT, Kind.ENUM: Form.TEXT,
    Kind.UUID: Form.UUID, Kind.INET: Form.INET, Kind.BINARY: Form.BYTES, Kind.DATE: Form.DATE,
    Kind.TIME: Form.TIME,
    Kind.TIMESTAMP: Form.TIMESTAMP, Kind.TIMESTAMPTZ: Form.TIMESTAMP, Kind.JSON: Form.JSON,
    Kind.GEOMETRY: Form.BYTES,  # MySQL's own bytes: only a MySQL destination holds them
}
# Forms whose spelling inside a database is the same on every engine; the others are only
# hashed in-database when both sides are the same engine.
PORTABLE = {Form.NUMBER, Form.FLOAT64, Form.FLOAT32, Form.CHAR, Form.TEXT, Form.UUID,
            Form.BYTES, Form.DATE, Form.TIME, Form.TIMESTAMP}


def form_of(ctype: CanonicalType) -> Form:
    return _FORMS.get(ctype.kind, Form.OTHER)


def pair_form(source: CanonicalType, dest: CanonicalType) -> Form:
    """The form two columns are compared in: the looser of the two where they differ (a
    float32 copied into a double still holds only float32's digits)."""
    a, b = form_of(source), form_of(dest)
    if a == b:
        return a
    if {source.kind, dest.kind} == {Kind.TIME, Kind.INTERVAL}:  # a MySQL TIME cast to interval
        return Form.TIME
    if {a, b} == {Form.FLOAT32, Form.FLOAT64}:
        return Form.FLOAT32
    if Form.CHAR in (a, b) and Form.TEXT in (a, b):
        return Form.CHAR
    if {a, b} <= {Form.NUMBER, Form.FLOAT32, Form.FLOAT64}:
        return Form.FLOAT64 if Form.FLOAT32 not in (a, b) else Form.FLOAT32
    return Form.TEXT if Form.TEXT in (a, b) else Form.OTHER


def canonical(value: Any, form: Form) -> str | None:
    """The spelling of `value` in `form`; None for SQL NULL."""
    if value is None:
        return None
    if isinstance(value, Spelled):  # infinity, a far date: the source's spelling is the value
        delta = interval_delta(value.text) if form is Form.TIME else None
        return value.text if delta is None else _time(delta)
    try:
        return _SPELL[form](value)
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        return "?" + str(value)  # not a value of this form: compare it as written


def _negative_zero(value: Any) -> bool:
    """-0.0 == 0.0, yet PostgreSQL keeps and prints -0: a spelling that made it 0 would hide
    a destination (MySQL, SQLite REAL) that stored 0 instead."""
    return isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        if _negative_zero(value):
            return NEGATIVE_ZERO
        return _trim(Decimal(repr(value)))
    if isinstance(value, bytes):
        value = value.decode()
    return _trim(Decimal(str(value).strip()))


def _trim(number: Decimal) -> str:
    """12.50 and 12.5 spell alike, and 12.0 as 12 (what PostgreSQL's trim_scale() gives)."""
    if not number.is_finite():
        return str(number)
    if number == number.to_integral_value():
        return str(int(number))
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _float64(value: Any) -> str:
    """The double's bits: exact, and the same whichever engine or driver read it (a text
    that reads back as the same double would do, but each engine lays it out its own way)."""
    number = float(value)
    if math.isnan(number):
        return NAN
    return struct.pack(">d", number).hex()


def _float32(value: Any) -> str:
    """The value as the float4 it rounds to, exactly: a real read back as the shortest text
    of its own precision (0.1) and the double it widens to (0.10000000149011612) spell alike,
    while two floats a float4 ulp apart do not."""
    number = float(value)
    if FLOAT32_LOW < abs(number) < FLOAT32_HIGH:
        number = struct.unpack(">f", struct.pack(">f", number))[0]
    return _float64(number)


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, list):  # an array, spelled as a MySQL destination holds it
        return json.dumps(value, ensure_ascii=False, default=json_default)
    return str(value)


def _bytes(value: Any) -> str:
    if isinstance(value, str):
        return value.encode().hex()
    return bytes(value).hex()


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return dt.date.fromisoformat(str(value)[:10]).isoformat()


def _time(value: Any) -> str:
    if isinstance(value, dt.timedelta):  # MySQL TIME, which may pass 24 h
        micros = value // dt.timedelta(microseconds=1)
        sign = "-" if micros < 0 else ""
        seconds, micros = divmod(abs(micros), 1_000_000)
        hours, minutes = seconds // 3600, seconds // 60 % 60
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds % 60:02d}.{micros:06d}"
    if isinstance(value, str):
        value = dt.time.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    return str(value.strftime("%H:%M:%S.%f"))


def _timestamp(value: Any) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    elif not isinstance(value, dt.datetime):  # a date in a timestamp column
        value = dt.datetime.combine(value, dt.time())
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{value.year:04d}-{value:%m-%d %H:%M:%S.%f}"


def _inet(value: Any) -> str:
    """One spelling per address: MariaDB prints `::ffff:1.2.3.4` where Python prints
    `::ffff:102:304`, and PostgreSQL's inet::text adds `/32` where its output does not."""
    iface = ipaddress.ip_interface(str(value))
    if iface.network.prefixlen == iface.max_prefixlen:
        return iface.ip.exploded
    return iface.exploded


def _json(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode()
    if isinstance(value, str):
        value = json.loads(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_SPELL = {
    Form.NUMBER: _number, Form.FLOAT64: _float64, Form.FLOAT32: _float32,
    Form.CHAR: lambda v: _text(v).rstrip(" "), Form.TEXT: _text,
    Form.UUID: lambda v: str(v).lower(), Form.BYTES: _bytes, Form.DATE: _date, Form.TIME: _time,
    Form.TIMESTAMP: _timestamp, Form.JSON: _json, Form.INET: _inet, Form.OTHER: _text,
}
