"""A whole-table digest: a row count and a hash of every row in key order, for tests and the demo.

The digest reads rows in key order through each engine and hashes a
canonical text form of every value, so it is the same for the same data on
any engine that returns the same Python values. CHAR values compare without
their trailing spaces, as SQL compares them: PostgreSQL returns the padding,
MySQL strips it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from turnout.engines.base import Engine
from turnout.model import Table
from turnout.types import Kind


@dataclass(frozen=True)
class Digest:
    rows: int
    sha256: str


def _canonical(value: Any) -> bytes:
    if value is None:
        return b"\x00N"
    if isinstance(value, bytes):
        return b"\x00B" + value
    if isinstance(value, bool):
        return b"1" if value else b"0"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, Decimal):  # 12.50 = 12.5, and a big integer = the same int
        if value == value.to_integral_value():
            return str(int(value)).encode()
        return format(value.normalize(), "f").encode()
    if isinstance(value, dict | list):  # jsonb keeps keys in its own order
        return json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
    return str(value).encode()


def _document(value: Any) -> Any:
    """A JSON value by content: its text parsed (JSON null stays apart from SQL NULL)."""
    if isinstance(value, bytes | str):
        return json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
    return value


def table_digest(engine: Engine, table: Table) -> Digest:
    h = hashlib.sha256()
    count = 0
    padded = [i for i, c in enumerate(table.columns) if c.type.kind is Kind.CHAR]
    documents = [i for i, c in enumerate(table.columns) if c.type.kind is Kind.JSON]
    for row in engine.iter_rows(table):
        if padded:
            row = tuple(v.rstrip(" ") if i in padded and isinstance(v, str) else v
                        for i, v in enumerate(row))
        if documents:  # JSON arrives as its text, which each engine spaces its own way
            row = tuple(_document(v) if i in documents else v for i, v in enumerate(row))
        h.update(b"\x1e".join(_canonical(v) for v in row) + b"\x1f")
        count += 1
    return Digest(count, h.hexdigest())
