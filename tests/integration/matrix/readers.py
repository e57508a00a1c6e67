"""Each engine's rows of a matrix table, read with its own driver, in one comparable form.

These readers deliberately do not use turnout: a test that compared turnout's reading of the
source with turnout's reading of the destination would share turnout's blind spots. Every
value comes back as the engine shows it, then `canon` puts both sides in one form, so that
"exact" means the same value, not the same Python type.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import sqlite3
import struct
from decimal import Context, Decimal
from typing import Any
from urllib.parse import unquote, urlsplit

import MySQLdb
import psycopg

Rows = dict[int, Any]  # id -> value
_EXACT = Context(prec=200)  # normalize() in the default context would round to 28 digits


class Json:
    """A JSON value, told apart from SQL NULL (JSON `null` is Json(None), NULL is None)."""

    def __init__(self, text: str | bytes) -> None:
        try:
            self.value, self.valid = json.loads(text), True
        except ValueError:
            self.value, self.valid = text, False  # not JSON at all: equal to nothing

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Json) and self.valid and other.valid
                and _json_same(self.value, other.value))

    def __repr__(self) -> str:
        return f"Json({json.dumps(self.value)})" if self.valid else f"NotJson({self.value!r})"


def _json_same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_json_same, a, b))
    return bool(a == b)


def read(url: str, table: str) -> Rows:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        return _sqlite(url, table)
    if scheme.startswith("postgres"):
        return _postgres(url, table)
    return _mysql(url, table)


def _sqlite(url: str, table: str) -> Rows:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return dict(conn.execute(f'SELECT id, v FROM "{table}"').fetchall())
    finally:
        conn.close()


_PG_NATIVE = {
    "smallint": int, "integer": int, "bigint": int, "boolean": lambda s: int(s == "true"),
    "text": str, "character varying": str, "character": str, "uuid": str,
    "double precision": float, "real": float,
}


def _postgres(url: str, table: str) -> Rows:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET timezone = 'UTC'; SET extra_float_digits = 3; SET DateStyle = 'ISO'; "
                     "SET IntervalStyle = 'postgres'")
        kind = conn.execute(  # a domain is read as the type it is over
            "SELECT format_type(CASE t.typtype WHEN 'd' THEN t.typbasetype ELSE t.oid END, "
            "CASE t.typtype WHEN 'd' THEN t.typtypmod ELSE a.atttypmod END) "
            "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s::regclass AND a.attname = 'v'", (f'"{table}"',)).fetchone()[0]
        rows = conn.execute(f'SELECT id, v::text FROM "{table}"').fetchall()
    return {key: None if text is None else _pg_value(kind, text) for key, text in rows}


def _pg_value(kind: str, text: str) -> Any:
    base = kind.split("(")[0]
    if base in _PG_NATIVE:
        return _PG_NATIVE[base](text)
    if base == "numeric":
        return Decimal(text)
    if base == "bytea":
        return bytes.fromhex(text[2:])
    if base in ("json", "jsonb"):
        return Json(text)
    if base == "date":
        return _date_or_text(text)
    if base.startswith("timestamp"):
        return _timestamp_or_text(text)
    if base.startswith("time") and "with time zone" not in kind:
        return _time_delta(text)
    return text


def _date_or_text(text: str) -> Any:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return text  # infinity, BC dates: compared as PostgreSQL spells them


def _timestamp_or_text(text: str) -> Any:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return value.astimezone(dt.UTC).replace(tzinfo=None) if value.tzinfo else value


def _time_delta(text: str) -> dt.timedelta:
    negative = text.startswith("-")
    hours, minutes, seconds = text.lstrip("-").split(":")
    micro = round(float(seconds) * 1_000_000) % 1_000_000
    delta = dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=int(float(seconds)),
                         microseconds=micro)
    return -delta if negative else delta


def _mysql_connect(url: str) -> Any:
    parts = urlsplit(url)
    return MySQLdb.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
        user=unquote(parts.username or "root"), password=unquote(parts.password or ""),
        database=parts.path.lstrip("/"), charset="utf8mb4", autocommit=True)


def _mysql(url: str, table: str) -> Rows:
    conn = _mysql_connect(url)
    try:
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        cur.execute(
            "SELECT data_type, column_type FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = %s AND column_name = 'v'", (table,))
        data_type, column_type = cur.fetchone()
        expression, convert = _mysql_reading(data_type.lower(), column_type.lower())
        cur.execute(f"SELECT id, {expression} FROM `{table}`")
        return {key: None if value is None else convert(value) for key, value in cur.fetchall()}
    finally:
        conn.close()


def _mysql_reading(data_type: str, column_type: str) -> tuple[str, Any]:
    """The expression that shows a column's value exactly, and how to read what it returns."""
    if data_type == "float":
        return "CAST(v AS DOUBLE)", float
    if data_type in ("date", "datetime", "timestamp"):
        return "CAST(v AS CHAR)", _mysql_date
    if data_type == "bit":
        return "CAST(v AS UNSIGNED)", int
    if data_type in ("point", "geometry", "linestring", "polygon"):
        return "ST_AsText(v)", str
    if "zerofill" in column_type:
        return "CAST(v AS UNSIGNED)", int
    return "v", _mysql_plain


def _mysql_date(text: str | bytes) -> Any:
    text = text.decode() if isinstance(text, bytes) else text
    if text.startswith("0000-00-00"):
        return text
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    return dt.datetime.fromisoformat(text)


def _mysql_plain(value: Any) -> Any:
    if isinstance(value, set):
        return ",".join(sorted(value))
    return value


class _NegativeZero:
    """A float -0 as the comparison sees it: -0.0 == 0.0 in Python, yet they are two values
    (PostgreSQL prints one as -0), and no spelling of a number may turn it back into 0."""

    def __repr__(self) -> str:
        return "-0.0"


NEGATIVE_ZERO = _NegativeZero()


def canon(value: Any, kind: str, cross: bool = False) -> Any:
    """One form for both sides of a comparison: what `kind` says the value means. Across
    engines (`cross`) a value may change its spelling but not its meaning: a date may come
    back as ISO text from SQLite, an integer as a decimal, an array as a JSON list."""
    if value is None:
        return None
    if kind == "json":
        if isinstance(value, Json):
            return value
        # SQLite's NUMERIC affinity turns the JSON text '0' into the integer 0
        return Json(value if isinstance(value, (str, bytes)) else json.dumps(value))
    if kind == "float4" and isinstance(value, (float, int, str, Decimal)):
        value = _float4(float(value))
    elif kind == "bit":
        return _bit(value)
    elif kind == "char" and isinstance(value, str):
        return value.rstrip(" ")
    elif kind == "set" and isinstance(value, str):
        return ",".join(sorted(filter(None, value.split(","))))
    value = _plain(value)
    return _meaning(value) if cross else value


def _plain(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (memoryview, bytearray)):
        return bytes(value)
    if isinstance(value, Decimal):
        return "NaN" if value.is_nan() else value.normalize(_EXACT)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and value == 0 and math.copysign(1, value) < 0:
        return NEGATIVE_ZERO  # equal to 0.0 in Python, yet another value
    if isinstance(value, dt.datetime) and value.tzinfo:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, dt.time):
        return dt.timedelta(hours=value.hour, minutes=value.minute, seconds=value.second,
                            microseconds=value.microsecond)
    if type(value).__name__ == "UUID":
        return str(value)
    return value


_TIME = re.compile(r"^(-?)(\d+):(\d\d):(\d\d)(?:\.(\d{1,6}))?$")
_TZ_HOURS = re.compile(r"([+-]\d\d)$")
_HOST_MASK = re.compile(r"/(32|128)$")


def _meaning(value: Any) -> Any:
    """The value as a number, an ISO date-time, a list: whatever spelling it came in."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _number(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration(value)
    if isinstance(value, str):
        return _text_meaning(value)
    return value


def _number(value: int | float | Decimal) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if _plain(value) is NEGATIVE_ZERO:
        return NEGATIVE_ZERO
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return _EXACT.add(number.normalize(_EXACT), Decimal(0))  # + 0 makes -0 and 0 one value


def _duration(delta: dt.timedelta) -> str:
    sign = "-" if delta < dt.timedelta(0) else ""
    micro = abs(delta) // dt.timedelta(microseconds=1)
    seconds, micro = divmod(micro, 1_000_000)
    text = f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text + (f".{micro:06d}".rstrip("0") if micro else "")


def _text_meaning(text: str) -> Any:
    if match := _TIME.match(text):
        sign, hours, minutes, seconds, fraction = match.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes), seconds=int(seconds),
                             microseconds=int((fraction or "0").ljust(6, "0")))
        return _duration(-delta if sign else delta)
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        return _meaning(_plain(stamp) if ":" in text else stamp.date())
    if text.startswith("{") and text.endswith("}"):
        return _pg_array(text)
    if text.startswith("[") and text.endswith("]"):
        try:
            return _json_list(json.loads(text))
        except ValueError:
            return text
    try:
        return _number(Decimal(text)) if text.strip() == text and text else text
    except ArithmeticError:
        pass
    text = _HOST_MASK.sub("", text)
    return _TZ_HOURS.sub(r"\1:00", text) if _TIME.match(text[:8]) else text


def _json_list(value: Any) -> Any:
    if isinstance(value, list):
        return [_json_list(v) for v in value]
    return None if value is None else str(value)


def _pg_array(text: str) -> Any:
    """PostgreSQL's array literal as nested lists of element texts (None for NULL)."""
    stack: list[list[Any]] = [[]]
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "{":
            stack.append([])
        elif char == "}":
            done = stack.pop()
            stack[-1].append(done)
        elif char == '"':
            j, out = i + 1, []
            while text[j] != '"':
                if text[j] == "\\":
                    j += 1
                out.append(text[j])
                j += 1
            stack[-1].append("".join(out))
            i = j
        elif char != ",":
            j = i
            while text[j] not in ",}":
                j += 1
            word = text[i:j]
            stack[-1].append(None if word == "NULL" else word)
            i = j - 1
        i += 1
    return stack[0][0]
def _float4(value: float) -> Any:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return value
    try:
        return _plain(struct.unpack("f", struct.pack("f", value))[0])
    except OverflowError:
        return value


def _bit(value: Any) -> Any:
    if isinstance(value, (int, Decimal)):
        return int(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return int.from_bytes(bytes(value), "big")
    if isinstance(value, str) and set(value) <= {"0", "1"}:
        return int(value, 2) if value else 0
    return value
