"""Values of columns that `--cast` gave another type on the destination.

Most casts need nothing here: the destination's driver takes a Python value
of a neighbouring type (a time with an offset into a `time`, an integer into a
decimal). A cast to text is different: drivers turn some values into text in
their own way and drop what the text should keep (PyMySQL writes a time
without its offset), so those values get one written form here, the one
PostgreSQL prints where it has one, and every destination stores the same.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from turnout.model import Duration, Geometry, Row, Spelled, Table
from turnout.types import Kind
from turnout.wkb import ewkt

_TEXT_KINDS = (Kind.TEXT, Kind.CHAR, Kind.VARCHAR)


def as_text(value: Any) -> str:
    """The text a cast-to-text column holds for `value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Spelled):
        return value.text
    if isinstance(value, Geometry):
        return ewkt(value.srid, value.wkb)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Duration):
        return str(value)  # MySQL's own spelling, which PostgreSQL reads as an interval too
    if isinstance(value, dt.timedelta):
        return interval_text(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=json_default)
    return str(value)


def json_default(value: Any) -> Any:
    """An array element JSON has no type for (bytes, a date, a decimal), as its text."""
    return as_text(value)


def interval_text(value: dt.timedelta) -> str:
    """A duration as PostgreSQL prints it: whole days and a clock of the same sign, as
    justify_hours() leaves an interval (`1 day 02:00:00`, `-00:00:05`, `-2 days
    -23:59:58.5`). Python keeps -5 s as -1 day + 23:59:55; written so, PostgreSQL would read
    another interval, `-1 days +23:59:55`."""
    micros = value // dt.timedelta(microseconds=1)
    days = _toward_zero(micros, _DAY)
    return postgres_interval(0, days, micros - days * _DAY)


def postgres_interval(months: int, days: int, micros: int) -> str:
    """The text PostgreSQL prints (IntervalStyle postgres) for an interval of these fields,
    as its EncodeInterval writes it: each non-zero field with its sign (`-1 days`: only 1 is
    singular), `+` on a positive one right after a negative one, and the clock whenever it is
    not zero or nothing else is there."""
    parts: list[str] = []
    before = False  # whether the field just written was negative
    years = _toward_zero(months, 12)
    for amount, unit in ((years, "year"), (months - years * 12, "mon"), (days, "day")):
        if amount:
            plus = "+" if before and amount > 0 else ""
            parts.append(f"{plus}{amount} {unit}{'' if amount == 1 else 's'}")
            before = amount < 0
    if micros or not parts:
        sign = "-" if micros < 0 else "+" if before else ""
        seconds, fraction = divmod(abs(micros), 1_000_000)
        clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        parts.append(sign + clock + (f".{fraction:06d}".rstrip("0") if fraction else ""))
    return " ".join(parts)


_DAY = 86_400_000_000  # microseconds


def _toward_zero(number: int, divisor: int) -> int:
    """C's integer division, which PostgreSQL's fields follow: -7 / 2 is -3."""
    quotient = abs(number) // divisor
    return -quotient if number < 0 else quotient


def as_utc(value: Any) -> Any:
    """A timestamp without zone cast to one with: read as UTC, as an application that keeps
    UTC in MySQL's DATETIME wrote it (Django with USE_TZ does), never as the zone of
    whichever session happens to write it."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


_INTERVAL = re.compile(r"(?:([+-]?\d+) days?)?( ?)(?:([+-])?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?")


def interval_delta(text: str) -> dt.timedelta | None:
    """PostgreSQL's interval of days and a clock (`2 days 03:00:00`, `-1 days +00:00:01`,
    `-838:59:59`, `3 days`) as the duration it is; None for months or another form."""
    match = _INTERVAL.fullmatch(text)
    if match is None:
        return None
    days, space, sign, hours, minutes, seconds, fraction = match.groups()
    if (days is None and hours is None) or bool(space) != (days is not None and hours is not None):
        return None
    clock = dt.timedelta(hours=int(hours or 0), minutes=int(minutes or 0),
                         seconds=int(seconds or 0),
                         microseconds=int((fraction or "0").ljust(6, "0")))
    return dt.timedelta(days=int(days or 0)) + (-clock if sign == "-" else clock)


def row_caster(source: Table, dest: Table) -> Callable[[Row], Row] | None:
    """A function giving rows the written form of their cast columns (None: no need)."""
    steps: list[tuple[int, Callable[[Any], Any]]] = []
    for i, (s, d) in enumerate(zip(source.columns, dest.columns, strict=True)):
        if d.type.kind in _TEXT_KINDS and s.type.kind not in _TEXT_KINDS:
            steps.append((i, as_text))
        elif d.type.kind is Kind.TIMESTAMPTZ and s.type.kind is Kind.TIMESTAMP:
            steps.append((i, as_utc))
    if not steps:
        return None

    def cast(row: Row) -> Row:
        values = list(row)
        for i, step in steps:
            if values[i] is not None:
                values[i] = step(values[i])
        return tuple(values)

    return cast
