"""Canonical column types: the one vocabulary every engine maps to and from.

Going through this vocabulary means N engines need N mappings instead of N²,
and a type that one engine cannot hold faithfully is refused in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum

from turnout.errors import BadInput


class Kind(StrEnum):
    BOOLEAN = "boolean"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    DECIMAL = "decimal"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    CHAR = "char"  # fixed length, padded
    VARCHAR = "varchar"  # bounded length
    TEXT = "text"  # unbounded
    BINARY = "binary"
    DATE = "date"
    TIME = "time"
    TIMETZ = "timetz"
    TIMESTAMP = "timestamp"  # without time zone
    TIMESTAMPTZ = "timestamptz"
    INTERVAL = "interval"
    UUID = "uuid"
    INET = "inet"  # an IPv4 or IPv6 address (MariaDB's inet4 / inet6)
    JSON = "json"
    ENUM = "enum"  # one of a fixed list of labels
    GEOMETRY = "geometry"  # a MySQL spatial value (SRID and WKB); no other engine has one
    ANY = "any"  # SQLite's typeless column: holds whatever it is given


# why another engine refuses a MySQL geometry column, and the cast that carries it exactly
GEOMETRY_FIX = ("MySQL geometry has no {engine} type here: add --cast TABLE.COLUMN=text to "
                "carry it as EWKT text (SRID=4326;POINT(1 2))")
POSTGIS_STEP = (", which PostGIS turns into geometry with ALTER TABLE … ALTER COLUMN … TYPE "
                "geometry USING ST_GeomFromEWKT(…)")

_WITH_LENGTH = {Kind.CHAR, Kind.VARCHAR, Kind.BINARY}
_WITH_PRECISION = {Kind.DECIMAL, Kind.TIME, Kind.TIMETZ, Kind.TIMESTAMP, Kind.TIMESTAMPTZ}


@dataclass(frozen=True)
class CanonicalType:
    """A column type in engine-neutral terms, written like `varchar(120)` or `decimal(10,2)`."""

    kind: Kind
    length: int | None = None  # characters for char/varchar, bytes for binary
    precision: int | None = None  # digits for decimal, fractional seconds for time types
    scale: int | None = None
    unsigned: bool = False
    values: tuple[str, ...] = ()  # the labels of an enum, in order

    def __str__(self) -> str:
        if self.kind is Kind.ENUM:
            labels = ",".join("'" + v.replace("'", "''") + "'" for v in self.values)
            return f"enum({labels})"
        text = str(self.kind)
        if self.length is not None:
            text += f"({self.length})"
        elif self.precision is not None and self.scale is not None:
            text += f"({self.precision},{self.scale})"
        elif self.precision is not None:
            text += f"({self.precision})"
        if self.unsigned:
            text += " unsigned"
        return text

    @property
    def is_integer(self) -> bool:
        return self.kind in (Kind.INT16, Kind.INT32, Kind.INT64)

    @property
    def is_text(self) -> bool:
        return self.kind in (Kind.CHAR, Kind.VARCHAR, Kind.TEXT)

    def with_(self, **changes: object) -> CanonicalType:
        return replace(self, **changes)  # type: ignore[arg-type]


_TYPE_RE = re.compile(
    r"^\s*(?P<kind>[a-z0-9]+)\s*(?:\(\s*(?P<a>\d+)\s*(?:,\s*(?P<b>\d+)\s*)?\))?"
    r"\s*(?P<unsigned>unsigned)?\s*$"
)


def parse_type(text: str) -> CanonicalType:
    """Read the written form back (`decimal(10,2)`, `int64 unsigned`); used by specs and --cast."""
    match = _TYPE_RE.match(text.lower())
    if not match:
        raise BadInput(f"cannot read type {text!r}: write it like varchar(120) or decimal(10,2)")
    try:
        kind = Kind(match["kind"])
    except ValueError:
        known = ", ".join(k.value for k in Kind)
        raise BadInput(f"unknown canonical type {match['kind']!r}: use one of {known}") from None
    a = int(match["a"]) if match["a"] else None
    b = int(match["b"]) if match["b"] else None
    unsigned = bool(match["unsigned"])
    if kind in _WITH_LENGTH:
        return CanonicalType(kind, length=a, unsigned=unsigned)
    if kind in _WITH_PRECISION:
        return CanonicalType(kind, precision=a, scale=b, unsigned=unsigned)
    if a is not None:
        raise BadInput(f"type {kind} takes no size: write {kind}")
    return CanonicalType(kind, unsigned=unsigned)
