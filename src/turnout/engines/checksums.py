"""What verification asks of a SQL database: range checksums, cut points and rows.

Comparing two big tables must not carry them over the network. Each side
sums a hash of every row of a key range inside the database, so only two
numbers per range travel; rows are fetched only for small ranges whose sums
differ. The SQL here is shared by the SQL engines; each engine's checksums
module supplies how it spells values in the canonical forms
(turnout.engines.forms), how it concatenates and how it hashes.

The per-row hash is the first 60 bits of MD5 over the row's canonical text,
and a range's checksum is their sum with the row count: a sum does not
cancel duplicated rows the way XOR would, and every engine sums 60-bit
integers exactly. MD5 is the one hash every engine has; when both sides are
the same engine and name the same faster row hash (`native`), that one is
used instead (PostgreSQL's hash_record_extended costs a sixth of MD5 over the
row's text).
"""

from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from turnout.engines.forms import Form
from turnout.engines.snapshot import KeySpan
from turnout.model import Key, Row, Table
from turnout.types import CanonicalType

SEPARATOR = "\x1f"  # between column spellings, so ("ab", "c") and ("a", "bc") differ
KEYS_PER_QUERY = 500


@dataclass(frozen=True)
class Probe:
    """One column as verification reads it on one side: its name there, type and form."""

    name: str
    type: CanonicalType
    form: Form
    nullable: bool = True  # on either side; when neither holds NULLs the row text needs no mark
    # both sides are one engine and declare the column alike, so a native row hash may read
    # the value as it is stored rather than its canonical spelling
    alike: bool = False


class VerifyReader(ABC):
    """Read-only verification queries on a connection of its own (one per thread)."""

    placeholder: ClassVar[str] = "%s"
    # the name of a faster row hash than MD5 this server computes (native_row_hash), or None:
    # used only when both sides name the same one
    native: str | None = None

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    # what each engine says its own way ----------------------------------------

    @abstractmethod
    def quote(self, name: str) -> str: ...

    def table_sql(self, table: Table) -> str:
        return self.quote(table.name)

    @abstractmethod
    def spell(self, column_sql: str, ctype: CanonicalType, form: Form) -> str:
        """SQL giving the column's value in `form` as text (NULL for NULL)."""

    def concat(self, parts: list[str]) -> str:
        return " || ".join(parts)

    @abstractmethod
    def hash_sql(self, text_sql: str) -> str:
        """SQL for the first 60 bits of MD5(text) as a non-negative integer."""

    def sum_sql(self, hash_sql: str) -> str:
        return f"SUM({hash_sql})"

    def native_row_hash(self, table: Table, probes: list[Probe]) -> str:
        """SQL for the row hash named by `native`, an integer; the same rows must give the
        same hash on any server naming it, and a different value in any column (as the
        canonical forms tell values apart) a different hash but by chance."""
        raise NotImplementedError(f"{type(self).__name__} has no native row hash")

    def row_hash(self, table: Table, probes: list[Probe], native: bool = False) -> str:
        """SQL for one row's hash: MD5 over its canonical text, or the native hash."""
        if native:
            return self.native_row_hash(table, probes)
        return self.hash_sql(self.row_text(table, probes))

    def param(self, value: Any) -> Any:
        """A key value (read from either side) as this driver takes it as a parameter."""
        return value

    def convert(self, table: Table, names: tuple[str, ...], rows: list[Row]) -> list[Row]:
        """Rows as the engine's snapshot reader returns them, so a repair writes what a
        migration would."""
        return rows

    @property
    def percent(self) -> str:
        """A literal % in SQL sent with parameters."""
        return "%%" if self.placeholder == "%s" else "%"

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, [self.param(p) for p in params])
            return list(cur.fetchall())
        finally:
            cur.close()

    def close(self) -> None:
        self.conn.close()

    # the queries ---------------------------------------------------------------

    def select_column(self, table: Table, name: str) -> str:
        """SQL that fetches a column's value as exactly as the snapshot reader reads it."""
        return self.quote(name)

    def select_list(self, table: Table, names: tuple[str, ...]) -> str:
        return ", ".join(self.select_column(table, n) for n in names)

    def spell_column(self, table: Table, probe: Probe) -> str:
        """SQL giving one column of `table` in its probe's form; an engine that knows more of
        the column than its canonical type (its character set, say) may spell it cheaper."""
        return self.spell(self.quote(probe.name), probe.type, probe.form)

    def row_text(self, table: Table, probes: list[Probe]) -> str:
        """SQL for the canonical text of a whole row: NULL and '' stay apart ('n' / 'v')
        wherever a column may hold NULL."""
        parts: list[str] = []
        for probe in probes:
            if parts:
                parts.append(f"'{SEPARATOR}'")
            value = self.spell_column(table, probe)
            if probe.nullable:
                marked = self.concat(["'v'", value])
                value = f"COALESCE({marked}, 'n')"
            parts.append(value)
        return self.concat(parts) if len(parts) > 1 else parts[0]

    def where(self, key: tuple[str, ...], span: KeySpan) -> tuple[str, list[Any]]:
        """`WHERE` for the rows of a span, with its parameters."""
        cols = ", ".join(self.quote(k) for k in key)
        one = f"({cols})" if len(key) > 1 else cols
        marks = ", ".join([self.placeholder] * len(key))
        bound = f"({marks})" if len(key) > 1 else marks
        terms: list[str] = []
        params: list[Any] = []
        if span.after is not None:
            terms.append(f"{one} > {bound}")
            params += list(span.after)
        if span.upto is not None:
            terms.append(f"{one} <= {bound}")
            params += list(span.upto)
        return (" WHERE " + " AND ".join(terms) if terms else ""), params

    def checksum(self, table: Table, key: tuple[str, ...], probes: list[Probe],
                 span: KeySpan, native: bool = False) -> tuple[int, int]:
        """(rows, sum of row hashes) of the span."""
        where, params = self.where(key, span)
        sql = (f"SELECT COUNT(*), {self.sum_sql(self.row_hash(table, probes, native))} "
               f"FROM {self.table_sql(table)}{where}")
        count, total = self.query(sql, params)[0]
        return int(count), int(total or 0)

    def int_div(self, number_sql: str, divisor: int) -> str:
        """Integer division of a non-negative number, rounding down."""
        return f"({number_sql}) / {divisor}"

    def bucket_sql(self, column_sql: str, after: int, upto: int, width: int) -> str:
        """The slice of (after, upto] an integer key falls in, counted from 0."""
        return self.int_div(f"{column_sql} - {after + 1}", width)

    def bucket_checksums(self, table: Table, column: str, probes: list[Probe], after: int,
                         upto: int, width: int, native: bool = False,
                         ) -> dict[int, tuple[int, int]]:
        """(rows, hash sum) of each slice of an integer key's span (after, upto]: slice n
        holds the keys in (after + n * width, after + (n + 1) * width]. One scan."""
        c = self.quote(column)
        bucket = self.bucket_sql(c, after, upto, width)
        hashed = self.sum_sql(self.row_hash(table, probes, native))
        sql = (f"SELECT {bucket}, COUNT(*), {hashed} FROM {self.table_sql(table)} "
               f"WHERE {c} > {self.placeholder} AND {c} <= {self.placeholder} GROUP BY 1")
        rows = self.query(sql, [after, upto])
        return {int(b): (int(n), int(total or 0)) for b, n, total in rows}

    def count(self, table: Table, where: str = "") -> int:
        """The table's rows; `where`: only those a condition holds for (a task's --where)."""
        condition = f" WHERE {where}" if where else ""
        return int(self.query(f"SELECT COUNT(*) FROM {self.table_sql(table)}{condition}")[0][0])

    def bounds(self, table: Table, column: str, span: KeySpan | None = None,
               ) -> tuple[Any, Any]:
        """The lowest and highest key in the span (None, None when it is empty): two index
        lookups where the key is indexed."""
        c = self.quote(column)
        where, params = self.where((column,), span or KeySpan())
        low, high = self.query(f"SELECT MIN({c}), MAX({c}) FROM {self.table_sql(table)}{where}",
                               params)[0]
        return low, high

    def cuts(self, table: Table, key: tuple[str, ...], span: KeySpan, every: int) -> list[Key]:
        """The key of every `every`-th row of the span, in key order: the ends of sub-ranges."""
        cols = ", ".join(self.quote(k) for k in key)
        where, params = self.where(key, span)
        sql = (f"SELECT {cols} FROM (SELECT {cols}, ROW_NUMBER() OVER (ORDER BY {cols}) AS rn "
               f"FROM {self.table_sql(table)}{where}) numbered "
               f"WHERE rn {self.percent} {int(every)} = 0 ORDER BY {cols}")
        return [tuple(r) for r in self.query(sql, params)]

    def rows(self, table: Table, names: tuple[str, ...], key: tuple[str, ...],
             span: KeySpan) -> list[Row]:
        where, params = self.where(key, span)
        order = ", ".join(self.quote(k) for k in key)
        cols = self.select_list(table, names)
        return self.convert(table, names, [tuple(r) for r in self.query(
            f"SELECT {cols} FROM {self.table_sql(table)}{where} ORDER BY {order}", params)])

    def rows_by_keys(self, table: Table, names: tuple[str, ...], key: tuple[str, ...],
                     keys: list[Key]) -> list[Row]:
        cols = self.select_list(table, names)
        key_sql = ", ".join(self.quote(k) for k in key)
        one = "(" + ", ".join([self.placeholder] * len(key)) + ")"
        found: list[Row] = []
        for start in range(0, len(keys), KEYS_PER_QUERY):
            part = keys[start:start + KEYS_PER_QUERY]
            sql = (f"SELECT {cols} FROM {self.table_sql(table)} WHERE ({key_sql}) IN "
                   f"({', '.join([one] * len(part))})")
            found += [tuple(r) for r in self.query(sql, [v for k in part for v in k])]
        return self.convert(table, names, found)

    def hash_counts(self, table: Table, probes: list[Probe], native: bool = False,
                    ) -> dict[int, int]:
        """How many rows have each row hash: a table without a key compared as a multiset."""
        hashed = self.row_hash(table, probes, native)
        rows = self.query(f"SELECT {hashed}, COUNT(*) FROM {self.table_sql(table)} "
                          f"GROUP BY {hashed}")
        return {int(h): int(n) for h, n in rows}

    def rows_by_hash(self, table: Table, names: tuple[str, ...], probes: list[Probe],
                     hashes: list[int], native: bool = False) -> list[tuple[int, Row]]:
        """The rows whose hash is one of `hashes`, each with its hash."""
        hashed = self.row_hash(table, probes, native)
        cols = self.select_list(table, names)
        found: list[tuple[int, Row]] = []
        for start in range(0, len(hashes), KEYS_PER_QUERY):
            part = hashes[start:start + KEYS_PER_QUERY]
            marks = ", ".join([self.placeholder] * len(part))
            sql = (f"SELECT {hashed}, {cols} FROM {self.table_sql(table)} "
                   f"WHERE {hashed} IN ({marks})")
            rows = self.query(sql, part)
            converted = self.convert(table, names, [tuple(r[1:]) for r in rows])
            found += [(int(r[0]), row) for r, row in zip(rows, converted, strict=True)]
        return found

    # repair, written out for review ----------------------------------------------

    def text_literal(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def bytes_literal(self, data: bytes) -> str:
        return f"X'{data.hex()}'"

    def literal(self, value: Any) -> str:
        """`value` written in SQL, for a repair script a person reads before it runs."""
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, int | float | Decimal):
            return str(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return self.bytes_literal(bytes(value))
        if isinstance(value, dt.datetime):
            return self.text_literal(value.isoformat(sep=" "))
        if isinstance(value, dict | list):
            return self.text_literal(json.dumps(value, ensure_ascii=False))
        if isinstance(value, dt.date | dt.time):
            return self.text_literal(value.isoformat())
        return self.text_literal(str(value))

    def upsert_sql(self, table: Table, names: tuple[str, ...], key: tuple[str, ...],
                   row: Row) -> str:
        cols = ", ".join(self.quote(n) for n in names)
        values = ", ".join(self.literal(v) for v in row)
        others = [n for n in names if n not in key]
        action = ("DO UPDATE SET " + ", ".join(f"{self.quote(n)} = excluded.{self.quote(n)}"
                                               for n in others)) if others else "DO NOTHING"
        keys = ", ".join(self.quote(k) for k in key)
        return (f"INSERT INTO {self.table_sql(table)} ({cols}) VALUES ({values}) "
                f"ON CONFLICT ({keys}) {action};")

    def delete_sql(self, table: Table, key: tuple[str, ...], values: Key) -> str:
        match = " AND ".join(f"{self.quote(k)} = {self.literal(v)}"
                             for k, v in zip(key, values, strict=True))
        return f"DELETE FROM {self.table_sql(table)} WHERE {match};"
