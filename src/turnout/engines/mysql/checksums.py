"""Verification queries in MySQL's words: canonical spellings, MD5 and exact sums.

Every statement goes with parameters, so each literal % is written %%.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from turnout.engines.checksums import Probe, VerifyReader
from turnout.engines.forms import FLOAT32_HIGH, FLOAT32_LOW, Form
from turnout.engines.mysql.dialect import quote
from turnout.engines.mysql.values import reader
from turnout.model import Row, Table
from turnout.types import CanonicalType, Kind

_STAMP = "'%%Y-%%m-%%d %%H:%%i:%%s.%%f'"
_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "bigint"}  # not bit, not year
_UTF8 = {"utf8mb4", "utf8mb3"}  # the bytes MD5 sees on every other engine (utf8mb3: the BMP)
_CRC32C_SINCE = (10, 8)  # MariaDB's CRC32C(); MySQL has none


def _trim_scale(number_sql: str) -> str:
    """12.50 → 12.5 and 12.00 → 12, like PostgreSQL's trim_scale(); only for scale > 0."""
    return f"TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM {number_sql}))"


def _float_form(c: str, ctype: CanonicalType, form: Form) -> str:
    """A number in forms.FLOAT64 or FLOAT32: the bits of the double it is (`+ 0e0` widens a
    FLOAT exactly and reads other numbers as a double), or of the float4 a double rounds to
    where it rounds to a finite non-zero one."""
    double = c if ctype.kind is Kind.FLOAT64 else f"({c} + 0e0)"
    if form is Form.FLOAT64 or ctype.kind is Kind.FLOAT32:
        return _bits(double)
    return (f"CASE WHEN ABS({double}) > {FLOAT32_LOW!r} AND ABS({double}) < {FLOAT32_HIGH!r} "
            f"THEN {_bits(f'(CAST({double} AS FLOAT) + 0e0)')} ELSE {_bits(double)} END")


def _bits(d: str) -> str:
    """The IEEE-754 bits of a double in hex, computed: MySQL has no function that shows them,
    and its shortest text is laid out unlike PostgreSQL's. The exponent is LOG2's, put right
    where it is one off next to a power of two (LOG2 of the largest double is 1024); the
    mantissa is the value scaled into [1, 2) by a power of two, which is exact, and a
    subnormal's is the value times 2**1074. -0 (MySQL 8 keeps it, MariaDB stores 0) is told
    by its text. Each part shifts an unsigned integer, so nothing passes through DECIMAL."""
    a = f"ABS({d})"
    e0 = f"LEAST(1023, FLOOR(LOG2({a})))"
    e = f"({e0} - ({a} < POW(2, {e0})) + IF({e0} < 1023, {a} >= POW(2, {e0} + 1), 0))"
    normal = (f"((({e}) + 1023) << 52) | "
              f"CAST(({a} / POW(2, {e}) - 1) * 4503599627370496 AS UNSIGNED)")
    subnormal = f"CAST({a} * POW(2, 1000) * POW(2, 74) AS UNSIGNED)"
    return (f"LOWER(LPAD(HEX(CASE WHEN {d} = 0 THEN (LEFT(CAST({d} AS CHAR), 1) = '-') << 63 "
            f"ELSE ({d} < 0) << 63 | CASE WHEN {a} < 2.2250738585072014e-308 THEN {subnormal} "
            f"ELSE {normal} END END), 16, '0'))")


class MysqlVerifyReader(VerifyReader):
    def __init__(self, conn: Any, zero_dates: str) -> None:
        super().__init__(conn)
        self.zero_dates = zero_dates
        self._columns: dict[str, dict[str, tuple[str, str | None]]] = {}
        # MariaDB reports e.g. 5.5.5-10.11.19-MariaDB-log: the 5.5.5- is for old clients
        found = re.search(r"(\d+)\.(\d+)\.\d+-MariaDB", str(conn.get_server_info()))
        if found and tuple(map(int, found.groups())) >= _CRC32C_SINCE:
            self.native = "mariadb crc32 crc32c"

    def native_row_hash(self, table: Table, probes: list[Probe]) -> str:
        """Two CRCs of the row's canonical text side by side, 64 bits: CRC32 and CRC32C
        (another polynomial) cost a quarter of MD5 with its hex-to-integer conversion. A CRC
        tells apart any two texts differing in fewer than 32 adjacent bits, and both agree by
        chance once in 2**64; only a MariaDB with CRC32C names this hash."""
        text = self.row_text(table, probes)
        return f"(CAST(CRC32({text}) AS UNSIGNED) << 32 | CRC32C({text}))"

    def convert(self, table: Table, names: tuple[str, ...], rows: list[Row]) -> list[Row]:
        picked = replace(table, columns=tuple(table.column(n) for n in names))
        return [reader(picked, self.zero_dates)(row) for row in rows]

    def quote(self, name: str) -> str:
        return quote(name)

    def select_column(self, table: Table, name: str) -> str:
        """A FLOAT as the double it widens to: a query prints six digits of it, and a
        difference in the seventh would pass (the snapshot reads it so too)."""
        if table.column(name).type.kind is Kind.FLOAT32:
            return f"{self.quote(name)} + 0e0"
        return self.quote(name)

    def spell_column(self, table: Table, probe: Probe) -> str:
        """Integers and utf8mb4 text go into CONCAT as they are: CONCAT prints integers as
        their digits, and utf8mb4 text is already in the bytes MD5 must see. Skipping the
        casts takes about a fifth off hashing a sysbench table. Other character sets are
        converted, or MD5 would hash their bytes."""
        data_type, charset = self._column(table, probe.name)
        if probe.form is Form.NUMBER and data_type in _INTEGERS:
            return self.quote(probe.name)
        if probe.form in (Form.CHAR, Form.TEXT) and charset in _UTF8:
            if probe.form is Form.CHAR and probe.type.kind is not Kind.CHAR:
                return f"TRIM(TRAILING ' ' FROM {self.quote(probe.name)})"
            return self.quote(probe.name)
        return super().spell_column(table, probe)

    def _column(self, table: Table, name: str) -> tuple[str, str | None]:
        """(data type, character set) of a column as the server has it, read once a table."""
        if table.name not in self._columns:
            rows = self.query(
                "SELECT column_name, data_type, column_type, character_set_name FROM "
                "information_schema.columns WHERE table_schema = DATABASE() AND table_name = %s",
                [table.name])
            self._columns[table.name] = {  # ZEROFILL pads the digits CONCAT prints: cast those
                n: ("zerofill" if "zerofill" in full.lower() else t.lower(), c)
                for n, t, full, c in rows}
        return self._columns[table.name].get(name, ("", None))

    def concat(self, parts: list[str]) -> str:
        return f"CONCAT({', '.join(parts)})"

    def spell(self, column_sql: str, ctype: CanonicalType, form: Form) -> str:
        c = column_sql
        if form is Form.NUMBER:
            if ctype.kind is Kind.DECIMAL:
                text = f"CAST({c} AS CHAR)"
                return _trim_scale(text) if ctype.scale else text
            return f"CAST({c} + 0 AS CHAR)"  # + 0 reads bit(n) and year as numbers
        if form in (Form.FLOAT64, Form.FLOAT32):
            return _float_form(c, ctype, form)
        if ctype.kind is Kind.GEOMETRY and form is not Form.BYTES:  # cast to text elsewhere:
            return f"ST_AsText({c})"  # another spelling than EWKT only costs a fetch
        if form in (Form.CHAR, Form.TEXT):
            text = f"CONVERT({c} USING utf8mb4)"
            if form is Form.CHAR and ctype.kind is not Kind.CHAR:  # MySQL reads CHAR unpadded
                return f"TRIM(TRAILING ' ' FROM {text})"
            return text
        if form is Form.UUID:
            return f"LOWER(CAST({c} AS CHAR))"
        if form is Form.BYTES:
            return f"LOWER(HEX({c}))"
        if form is Form.DATE:
            return f"DATE_FORMAT({c}, '%%Y-%%m-%%d')"
        if form is Form.TIME:
            return f"TIME_FORMAT({c}, '%%H:%%i:%%s.%%f')"
        if form is Form.TIMESTAMP:  # sessions run in UTC, so TIMESTAMP reads as UTC
            return f"DATE_FORMAT({c}, {_STAMP})"
        return f"CONVERT(CAST({c} AS CHAR) USING utf8mb4)"

    def int_div(self, number_sql: str, divisor: int) -> str:
        return f"({number_sql}) DIV {divisor}"

    def hash_sql(self, text_sql: str) -> str:
        return f"CAST(CONV(SUBSTRING(MD5({text_sql}), 1, 15), 16, 10) AS UNSIGNED)"

    def text_literal(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def upsert_sql(self, table: Table, names: tuple[str, ...], key: tuple[str, ...],
                   row: Row) -> str:
        cols = ", ".join(self.quote(n) for n in names)
        values = ", ".join(self.literal(v) for v in row)
        others = [n for n in names if n not in key] or list(key)
        update = ", ".join(f"{self.quote(n)} = VALUES({self.quote(n)})" for n in others)
        return (f"INSERT INTO {self.table_sql(table)} ({cols}) VALUES ({values}) "
                f"ON DUPLICATE KEY UPDATE {update};")
