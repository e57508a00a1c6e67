"""Values from other engines, in the forms SQLite stores and its users expect.

SQLite keeps integers, reals, text and blobs. Dates and times go as ISO text
(what SQLite's own date functions read), decimals as text so no digit is lost
before SQLite's NUMERIC affinity decides, JSON as compact text, booleans as
0 / 1.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from uuid import UUID

from turnout.casts import json_default
from turnout.gaps import Gap
from turnout.model import JsonText, Row, Table
from turnout.types import CanonicalType, Kind

_NATIVE = (int, float, str, bytes, type(None))


def to_sqlite(value: Any) -> Any:
    if isinstance(value, JsonText):
        return value.compact()
    if isinstance(value, _NATIVE) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):  # every digit, never an exponent SQLite would read as REAL
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=json_default)
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    return str(value)


def adapt_rows(table: Table, rows: Iterable[Row]) -> Iterable[Row]:
    """Rows of a table reflected from SQLite pass as they are; others go value by value."""
    if table.origin == "sqlite":
        return rows
    return (tuple(to_sqlite(v) for v in row) for row in rows)


# an interval is PostgreSQL's own text here, whatever it holds (months, mixed signs)
_HOLDS_ANY_TEXT = (Kind.TEXT, Kind.CHAR, Kind.VARCHAR, Kind.ANY, Kind.INTERVAL)


_NUMBER_TYPES = {  # typeof() results a column of these kinds holds as its own
    Kind.INT16: ("integer",), Kind.INT32: ("integer",), Kind.INT64: ("integer",),
    Kind.FLOAT32: ("integer", "real"), Kind.FLOAT64: ("integer", "real"),
}


def gaps_held(ctype: CanonicalType) -> frozenset[Gap]:
    """SQLite's type affinity keeps text in an INTEGER or REAL column when it is no number
    (and a BLOB anywhere), which a typed destination column cannot take: a number column may
    hold either, a text or typeless one a BLOB. Any column may hold an infinite REAL (SQLite
    has no NaN: it stores NULL instead)."""
    if ctype.kind in _NUMBER_TYPES:
        return frozenset({Gap.INFINITE, Gap.MIXED, Gap.BLOB})
    if ctype.kind in _HOLDS_ANY_TEXT and ctype.kind is not Kind.INTERVAL:
        return frozenset({Gap.INFINITE, Gap.BLOB})
    return frozenset({Gap.INFINITE})


def gap_test(column_sql: str, kind: Kind, gap: Gap) -> str | None:
    """SQL true for a value of `gap` in a column of `kind`: typeof() names each value's own
    storage class, whatever the column was declared as."""
    c = column_sql
    if gap is Gap.INFINITE:
        return f"typeof({c}) = 'real' AND abs({c}) = 9e999"
    if gap is Gap.BLOB:
        return f"typeof({c}) = 'blob'"
    if gap is Gap.MIXED and kind in _NUMBER_TYPES:
        own = ", ".join(f"'{t}'" for t in (*_NUMBER_TYPES[kind], "null", "blob"))
        return f"typeof({c}) NOT IN ({own})"
    return None


def gaps_refused(ctype: CanonicalType) -> frozenset[Gap]:
    """SQLite stores NaN as NULL, and -0.0 as 0 in a column of REAL or NUMERIC affinity; dates
    and decimals are text that its date functions and NUMERIC affinity read, so another
    engine's spelling of infinity there is no value."""
    kind = ctype.kind
    if kind in _HOLDS_ANY_TEXT:
        return frozenset()
    if kind in (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ):  # text its date functions read
        return frozenset({Gap.SPELLED, Gap.ZERO_TEXT})
    if kind in (Kind.FLOAT32, Kind.FLOAT64):  # REAL affinity stores -0.0 as the integer 0
        return frozenset({Gap.NAN, Gap.SPELLED, Gap.NEG_ZERO})
    if kind is Kind.DECIMAL:
        return frozenset({Gap.NAN, Gap.INFINITE, Gap.SPELLED, Gap.NEG_ZERO})
    if kind is Kind.TIME:
        return frozenset({Gap.LONG_TIME, Gap.SPELLED})
    if ctype.is_integer:  # a 64-bit signed INTEGER; SQLite would make a wider one a REAL
        return frozenset({Gap.WIDE_INT, Gap.SPELLED, Gap.NEG_ZERO})
    return frozenset({Gap.SPELLED})
