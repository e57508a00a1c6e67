"""Values one engine holds and another cannot: found in the data before a row moves.

A column type can map well and still hold single values the destination has
no place for: PostgreSQL's `infinity` and dates past year 9999 (model.Spelled),
NaN and infinite floats, MySQL TIME durations past a day. Each is a *gap*.
A source engine says which gaps its columns of a type may hold and finds an
example key holding one (SQL, in the engine); a destination says which it
cannot hold. Precheck asks the source for each column where both meet
(plan.py), and rows that arrive later pass check_row(), so a value written
after the precheck stops the task naming table, column and key, never
arriving as something else.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import Any

from turnout.errors import OperationFailed
from turnout.model import JsonText, Row, Spelled, Table, ZeroDate
from turnout.types import CanonicalType

_INT64_MAX = 2**63 - 1


class Gap(StrEnum):
    SPELLED = "spelled"  # infinity, a year before 1 or after 9999, 24:00:00, months
    NAN = "nan"
    INFINITE = "infinite"  # a float or decimal infinity
    LONG_TIME = "long time"  # a TIME outside 00:00..24:00 (a MySQL duration)
    ZERO_DATE = "zero date"  # a MySQL zero date read as NULL (zero_dates=null), for NOT NULL
    ZERO_TEXT = "zero date text"  # a MySQL zero date kept as MySQL spells it (model.ZeroDate)
    WIDE_INT = "wide int"  # an integer past 2^63 - 1 (MySQL's bigint unsigned, bit(64))
    NUL = "nul"  # a NUL character in text, which PostgreSQL's text cannot hold
    JSON_NUL = "json nul"  # \u0000 in a JSON document, which PostgreSQL's jsonb refuses
    MIXED = "mixed"  # text in an SQLite INTEGER or REAL column (its type affinity keeps it)
    BLOB = "blob"  # an SQLite BLOB in a column whose values travel as text
    NEG_ZERO = "negative zero"  # a float -0, which only a float column of PostgreSQL keeps


WHAT = {
    Gap.SPELLED: "a value past its type's range in Python and in the destination "
                 "(infinity, a year before 1 or after 9999)",
    Gap.NAN: "NaN",
    Gap.INFINITE: "an infinite number",
    Gap.LONG_TIME: "a time outside 00:00:00..23:59:59 (a duration)",
    Gap.ZERO_DATE: "a zero date (read as NULL by zero_dates=null)",
    Gap.ZERO_TEXT: "a zero date (0000-00-00)",
    Gap.WIDE_INT: "an integer above 9223372036854775807 (64-bit signed)",
    Gap.NUL: "text with a NUL character (0x00)",
    Gap.MIXED: "a value its column's type does not take (SQLite's type affinity kept it)",
    Gap.BLOB: "a BLOB, which would arrive as text",
    Gap.JSON_NUL: "a JSON document holding a NUL character (\\u0000)",
    Gap.NEG_ZERO: "a negative zero (-0)",
}
FIX = {
    Gap.SPELLED: "add --cast {where}=text to carry it as the source writes it, or change such "
                 "values on the source",
    Gap.NAN: "set such values to NULL on the source, or add --cast {where}=text",
    Gap.INFINITE: "set such values to NULL on the source, or add --cast {where}=text",
    Gap.LONG_TIME: "add --cast {where}=interval (PostgreSQL) or --cast {where}=text",
    Gap.ZERO_DATE: "the column is NOT NULL: set real dates there on the source, or make it "
                   "nullable on the source (ALTER TABLE … MODIFY … NULL)",
    Gap.ZERO_TEXT: "add ?zero_dates=null to the source URL to read such dates as NULL, set "
                   "real dates there on the source, or add --cast {where}=text to keep them as "
                   "text",
    Gap.WIDE_INT: "add --cast {where}=text to keep every digit, or change such values on the "
                  "source",
    Gap.NUL: "remove them on the source (UPDATE {table} SET {column} = "
             "REPLACE({column}, CHAR(0), '')), or leave the table out with --exclude {table}",
    Gap.MIXED: "add --cast {where}=text to carry every value as text, or correct such values "
               "on the source",
    Gap.BLOB: "convert them on the source (UPDATE {table} SET {column} = hex({column}) WHERE "
              "typeof({column}) = 'blob'), add --cast {where}=binary if the column holds only "
              "BLOBs, or leave the table out with --exclude {table}",
    Gap.JSON_NUL: "add --cast {where}=text to keep such documents as text, or remove the NUL "
                  "characters from them on the source",
    Gap.NEG_ZERO: "it would arrive as 0: make such values 0 on the source (UPDATE {table} SET "
                  "{column} = 0 WHERE {column} = 0), or add --cast {where}=text to keep the "
                  "sign",
}
_JSON_NUL = re.compile(r"(?:^|[^\\])(?:\\\\)*\\u0000")
"""\\u0000 as an escape: after an even number of backslashes (an odd one escapes the first)."""


def gap_of(value: Any) -> Gap | None:
    """The gap a Python value falls in, if any."""
    if isinstance(value, ZeroDate):
        return Gap.ZERO_TEXT
    if isinstance(value, Spelled):
        return Gap.SPELLED
    if isinstance(value, float | Decimal):
        if value != value:  # noqa: PLR0124 - NaN is the only value unequal to itself
            return Gap.NAN
        if isinstance(value, float) and math.isinf(value):
            return Gap.INFINITE
        if isinstance(value, float) and value == 0 and math.copysign(1.0, value) < 0:
            return Gap.NEG_ZERO
        if isinstance(value, Decimal) and value.is_infinite():
            return Gap.INFINITE
    if isinstance(value, dt.timedelta) and not dt.timedelta(0) <= value < dt.timedelta(1):
        return Gap.LONG_TIME
    if isinstance(value, int) and value > _INT64_MAX:
        return Gap.WIDE_INT
    if isinstance(value, JsonText):  # jsonb has no place for \u0000; JSON text no raw NUL
        return Gap.JSON_NUL if _JSON_NUL.search(value) else None
    if isinstance(value, str):  # MIXED only where a column of numbers holds it (SQLite)
        return Gap.NUL if "\0" in value else Gap.MIXED
    if isinstance(value, bytes):  # BLOB only where a column of text holds it (SQLite)
        return Gap.BLOB
    return None


def refused(dest: CanonicalType, nullable: bool, refused_by_type: frozenset[Gap]) -> frozenset[Gap]:
    """What a destination column cannot hold: its engine's gaps for the type and, when it is
    NOT NULL, the NULL a zero date is read as."""
    return refused_by_type if nullable else refused_by_type | {Gap.ZERO_DATE}


def problem(table: str, column: str, gap: Gap, key: tuple[Any, ...], dest: str) -> str:
    """One line: which column holds what the destination cannot, an example key, the fix."""
    where = f"{table}.{column}"
    shown = ", ".join(str(v) for v in key)
    return (f"{where} holds {WHAT[gap]} ({table} key {shown}), which {dest} cannot hold: "
            + FIX[gap].format(where=where, table=table, column=column))


def row_checker(table: Table, gaps: tuple[frozenset[Gap], ...],
                dest: str) -> Callable[[Row], None] | None:
    """A function stopping at a row value the destination cannot hold (None: nothing to check).

    `gaps` are the destination's gaps per column, in the source's column order.
    """
    # a text column into PostgreSQL, the common case, can only hold a NUL: one test of the
    # value (gap_of() gives NUL for a str holding one, and nothing held for anything else)
    nul_at = [i for i, g in enumerate(gaps) if g == {Gap.NUL}]
    at = [(i, g) for i, g in enumerate(gaps) if g and g != {Gap.NUL}]
    if not at and not nul_at:
        return None
    names, key_at = table.column_names, table.key_positions()

    def stop(row: Row, i: int, gap: Gap) -> None:
        key = tuple(row[k] for k in key_at)
        raise OperationFailed(problem(table.name, names[i], gap, key, dest))

    def check(row: Row) -> None:
        for i in nul_at:
            value = row[i]
            if value.__class__ is str and "\0" in value:
                stop(row, i, Gap.NUL)
        for i, held in at:
            value = row[i]
            gap = Gap.ZERO_DATE if value is None else gap_of(value)
            if gap is not None and gap in held:
                stop(row, i, gap)

    return check
