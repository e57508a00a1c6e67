"""Verification queries in SQLite, which has no MD5: turnout lends it Python functions.

The spellings come from turnout.engines.forms itself, so SQLite agrees with
the other engines by construction.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any, ClassVar

from turnout.engines.checksums import VerifyReader
from turnout.engines.forms import Form, canonical
from turnout.engines.sqlite.dialect import quote
from turnout.engines.sqlite.values import to_sqlite
from turnout.types import CanonicalType


def row_hash(text: str | None) -> int | None:
    if text is None:
        return None
    return int(hashlib.md5(text.encode()).hexdigest()[:15], 16)


class _ExactSum:
    """SUM without SQLite's 64-bit overflow; the total travels as text."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: int | None) -> None:
        if value is not None:
            self.total += value

    def finalize(self) -> str:
        return str(self.total)


class SqliteVerifyReader(VerifyReader):
    placeholder: ClassVar[str] = "?"

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(conn)
        conn.create_function("turnout_spell", 2, lambda v, f: canonical(v, Form(f)),
                             deterministic=True)
        conn.create_function("turnout_hash", 1, row_hash, deterministic=True)
        conn.create_aggregate("turnout_sum", 1, _ExactSum)  # type: ignore[arg-type]

    def quote(self, name: str) -> str:
        return quote(name)

    def spell(self, column_sql: str, ctype: CanonicalType, form: Form) -> str:
        return f"turnout_spell({column_sql}, '{form.value}')"

    def hash_sql(self, text_sql: str) -> str:
        return f"turnout_hash({text_sql})"

    def sum_sql(self, hash_sql: str) -> str:
        return f"turnout_sum({hash_sql})"

    def param(self, value: Any) -> Any:
        return to_sqlite(value)
