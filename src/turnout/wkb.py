"""Well-known binary (OGC WKB) geometry as well-known text: the spelling spatial databases share.

A MySQL geometry column cast to text arrives as EWKT (`SRID=4326;POINT(1 2)`,
the SRID left out when 0), which PostGIS reads back exactly with
ST_GeomFromEWKT and MySQL with ST_GeomFromText. Coordinates are written in
Python's shortest round-tripping form, so no digit of a double is lost.
"""

from __future__ import annotations

import math
import struct

from turnout.errors import OperationFailed

_NAMES = {1: "POINT", 2: "LINESTRING", 3: "POLYGON", 4: "MULTIPOINT", 5: "MULTILINESTRING",
          6: "MULTIPOLYGON", 7: "GEOMETRYCOLLECTION"}


def ewkt(srid: int, wkb: bytes) -> str:
    """`SRID=n;` and the text of a WKB geometry (2-D, the only kind MySQL stores)."""
    text, _ = _geometry(wkb, 0)
    return f"SRID={srid};{text}" if srid else text


def _geometry(data: bytes, at: int) -> tuple[str, int]:
    order = "<" if data[at] == 1 else ">"
    (kind,) = struct.unpack_from(order + "I", data, at + 1)
    at += 5
    name = _NAMES.get(kind)
    if name is None:
        raise OperationFailed(f"a geometry of WKB type {kind} (3-D or measured) cannot be "
                              "written as text here: leave the column out with --exclude")
    body, at = _body(kind, data, at, order)
    return (f"{name} EMPTY" if body is None else f"{name}({body})"), at


def _body(kind: int, data: bytes, at: int, order: str) -> tuple[str | None, int]:
    if kind == 1:
        x, y = struct.unpack_from(order + "dd", data, at)
        if math.isnan(x) and math.isnan(y):
            return None, at + 16
        return f"{_number(x)} {_number(y)}", at + 16
    (count,) = struct.unpack_from(order + "I", data, at)
    at += 4
    if count == 0:
        return None, at
    parts: list[str] = []
    for _ in range(count):
        if kind == 2:  # points of a line
            x, y = struct.unpack_from(order + "dd", data, at)
            parts.append(f"{_number(x)} {_number(y)}")
            at += 16
        elif kind == 3:  # rings of a polygon
            ring, at = _body(2, data, at, order)
            parts.append(f"({ring})")
        else:  # members of a collection, each a geometry with its own header
            member, at = _geometry(data, at)
            if kind != 7:  # MULTI*: the members' own type names are left out
                member = member[member.index("("):] if "(" in member else "EMPTY"
                if kind == 4 and member.startswith("("):
                    member = member[1:-1]
            parts.append(member)
    return ",".join(parts), at


def _number(value: float) -> str:
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text
