"""Verification queries in PostgreSQL's words: canonical spellings, MD5 and exact sums."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from turnout.engines.checksums import Probe, VerifyReader
from turnout.engines.forms import FLOAT32_HIGH, FLOAT32_LOW, NAN, Form
from turnout.engines.postgres.dialect import qualified, quote
from turnout.engines.postgres.values import load_rows_as_text
from turnout.model import Table
from turnout.types import CanonicalType, Kind

_STAMP = "'YYYY-MM-DD HH24:MI:SS.US'"
# Types whose own hash tells two values apart exactly where their canonical spellings
# differ, so hash_record_extended may read them as stored when both sides declare them
# alike: integers, booleans, dates, times and timestamps hash their stored integer; uuid and
# bytea hash their bytes; text hashes its bytes under COLLATE "C" (another collation may hash
# 'A' like 'a'), character(n) without its padding (as spelled). Left out: floats (their hash
# takes -0 for 0), numeric (NaN and both infinities hash alike), domains, arrays, json,
# intervals (1 day hashes like 24 hours) and extension types such as citext (which hash
# case-blind): format_type() names them otherwise, and they hash their canonical spelling.
_RAW_TYPES = {"smallint", "integer", "bigint", "boolean", "date", "uuid", "bytea",
              "time without time zone", "timestamp without time zone",
              "timestamp with time zone"}
_TEXT_TYPES = {"text", "character varying", "character"}
_NATIVE_SINCE = 140000  # hash_record_extended() came with PostgreSQL 14
_BIGINT_SAFE = 1 << 61  # a span inside ±2**61 keeps every key and distance in bigint


class PgVerifyReader(VerifyReader):
    def __init__(self, conn: Any, schema: str) -> None:
        super().__init__(conn)
        self.schema = schema
        # JIT compiles every checksum query anew, which costs more than it saves on ranges
        # of this size; and bucket sums group by an expression the planner cannot estimate,
        # so it would sort the whole range rather than hash a few hundred groups
        conn.execute("SET jit = off")
        conn.execute("SET enable_sort = off")
        # verification runs several range queries at once already; parallel workers on top
        # only make the queries fight for the same cores
        conn.execute("SET max_parallel_workers_per_gather = 0")
        if conn.info.server_version >= _NATIVE_SINCE:
            self.native = "postgresql hash_record_extended"

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows as the snapshot reader reads them (arrays and ranges as their text), so the
        rows verify fetches compare with what the migration wrote."""
        cur = self.conn.cursor()
        load_rows_as_text(cur)
        try:
            cur.execute(sql, [self.param(p) for p in params])
            return list(cur.fetchall())
        finally:
            cur.close()

    def quote(self, name: str) -> str:
        return quote(name)

    def table_sql(self, table: Table) -> str:
        return qualified(self.schema, table.name)

    def spell(self, column_sql: str, ctype: CanonicalType, form: Form) -> str:
        c = column_sql
        if form is Form.NUMBER:
            if ctype.kind is Kind.BOOLEAN:
                return f"({c})::int::text"
            return f"trim_scale({c})::text" if ctype.kind is Kind.DECIMAL else f"({c})::text"
        if form in (Form.FLOAT64, Form.FLOAT32):
            return _float_form(c, ctype, form)
        if form is Form.CHAR:  # char(n) loses its padding as text; others may have spaces
            return f"({c})::text" if ctype.kind is Kind.CHAR else f"rtrim(({c})::text, ' ')"
        if form is Form.BYTES:
            return f"encode({c}, 'hex')"
        if form is Form.DATE:
            return _within_years(c, f"to_char({c}, 'YYYY-MM-DD')")
        if form is Form.TIME and ctype.kind is Kind.INTERVAL:
            return _duration(c)
        if form is Form.TIME:
            return f"to_char(({c})::time::interval, 'HH24:MI:SS.US')"
        if form is Form.TIMESTAMP:
            zoned = f"({c}) AT TIME ZONE 'UTC'" if ctype.kind is Kind.TIMESTAMPTZ else c
            return _within_years(f"({zoned})", f"to_char({zoned}, {_STAMP})")
        return f"({c})::text"  # text, uuid (lower case already), and one engine's own forms

    def int_div(self, number_sql: str, divisor: int) -> str:
        return f"div(({number_sql})::numeric, {divisor})"  # integer and numeric keys alike

    def bucket_sql(self, column_sql: str, after: int, upto: int, width: int) -> str:
        """In bigint arithmetic where the span's keys and their distance from its start fit in
        it (numeric division cost a quarter of a whole checksum of a sysbench table); else in
        numeric. Keys in the span are above `after`, so integer division rounds down."""
        if -_BIGINT_SAFE < after < upto < _BIGINT_SAFE:
            return f"(({column_sql})::bigint - {after + 1}) / {width}"
        return super().bucket_sql(column_sql, after, upto, width)

    def hash_sql(self, text_sql: str) -> str:
        return f"('x' || substr(md5({text_sql}), 1, 15))::bit(60)::bigint"

    def native_row_hash(self, table: Table, probes: list[Probe]) -> str:
        """hash_record_extended over the row's values: each column as stored where both sides
        declare it alike and its type's hash is exact (_RAW_TYPES), else its canonical
        spelling under COLLATE "C". The record hashes a NULL as 0, which a value may hash to
        too, so a column that may hold NULL adds whether it does."""
        parts: list[str] = []
        for probe in probes:
            c = self.quote(probe.name)
            declared = re.sub(r"\([^)]*\)", "", table.column(probe.name).native_type).strip()
            if probe.alike and declared in _RAW_TYPES:
                parts.append(c)
            elif probe.alike and declared in _TEXT_TYPES:
                parts.append(f'{c} COLLATE "C"')
            else:
                parts.append(f'({self.spell_column(table, probe)}) COLLATE "C"')
            if probe.nullable:
                parts.append(f"{c} IS NULL")
        return f"hash_record_extended(ROW({', '.join(parts)}), 0)"

    def bytes_literal(self, data: bytes) -> str:
        return f"'\\x{data.hex()}'::bytea"


def _duration(c: str) -> str:
    """An interval in forms.TIME: its days and clock as one duration, hours past 24 staying
    hours (`-838:59:59.000000`). to_char() alone leaves the days out, so `1 day 01:00:00`
    spelled like `01:00:00`, and writes `-838:-59:-59`. An interval of months, which no
    duration is, keeps its own text, unlike any duration's."""
    micros = f"(extract(epoch from {c}) * 1000000)"
    clock = f"to_char(interval '1 microsecond' * abs({micros}), 'HH24:MI:SS.US')"
    return (f"CASE WHEN extract(year from {c}) <> 0 OR extract(month from {c}) <> 0 "
            f"THEN ({c})::text WHEN {micros} < 0 THEN '-' || {clock} ELSE {clock} END")


def _float_form(c: str, ctype: CanonicalType, form: Form) -> str:
    """A number in forms.FLOAT64 or FLOAT32: the bits of the double it is (a real widens
    exactly), or of the float4 a double rounds to where it rounds to a finite non-zero one."""
    if ctype.kind is Kind.DECIMAL:  # past a double's range the cast would fail: keep the text
        return (f"CASE WHEN ({c}) = 0 OR abs({c}) BETWEEN 1e-307 AND 1e308 "
                f"THEN {_float_form(f'({c})::float8', CanonicalType(Kind.FLOAT64), form)} "
                f"ELSE ({c})::text END")
    double = c if ctype.kind is Kind.FLOAT64 else (
        f"({c})::int::float8" if ctype.kind is Kind.BOOLEAN else f"({c})::float8")
    if form is Form.FLOAT64 or ctype.kind is Kind.FLOAT32:
        return _bits(double)
    low, high = f"'{FLOAT32_LOW!r}'::float8", f"'{FLOAT32_HIGH!r}'::float8"
    return (f"CASE WHEN abs({double}) > {low} AND abs({double}) < {high} "  # NaN is above all
            f"THEN {_bits(f'({double})::float4::float8')} ELSE {_bits(double)} END")


def _bits(double: str) -> str:
    """The IEEE-754 bits of a double in hex; every NaN as one (PostgreSQL holds them equal)."""
    return (f"CASE WHEN ({double}) = 'NaN'::float8 THEN '{NAN}' "
            f"ELSE encode(float8send({double}), 'hex') END")


def _within_years(c: str, spelled: str) -> str:
    """`spelled` for years 1 to 9999, PostgreSQL's own text beyond: to_char() fails on a date
    past a timestamp's range, and writes the year 1 BC as 0001, like 1 AD."""
    return (f"CASE WHEN {c} >= '0001-01-01' AND {c} < '10000-01-01' THEN {spelled} "
            f"ELSE ({c})::text END")
