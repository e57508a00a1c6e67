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
    """PostgreSQL's own form: `1 day 02:00:00`, `-3 days 00:00:01.5`."""
    days, seconds, micros = value.days, value.seconds, value.microseconds
    clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if micros:
        clock += f".{micros:06d}".rstrip("0")
    if not days:
        return clock
    return f"{days} day{'' if abs(days) == 1 else 's'} {clock}"


def as_utc(value: Any) -> Any:
    """A timestamp without zone cast to one with: read as UTC, as an application that keeps
    UTC in MySQL's DATETIME wrote it (Django with USE_TZ does), never as the zone of
    whichever session happens to write it."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


_INTERVAL = re.compile(r"^(?:(-?\d+) days? ?)?(-)?(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$")


def interval_delta(text: str) -> dt.timedelta | None:
    """PostgreSQL's interval of days and a clock (`2 days 03:00:00`, `-838:59:59`) as the
    duration it is; None for months or another form."""
    match = _INTERVAL.match(text)
    if match is None:
        return None
    days, minus, hours, minutes, seconds, fraction = match.groups()
    clock = dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds),
                         microseconds=int((fraction or "0").ljust(6, "0")))
    return dt.timedelta(days=int(days or 0)) + (-clock if minus else clock)


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
