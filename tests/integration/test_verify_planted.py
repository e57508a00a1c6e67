"""Verify finds every planted difference on its fast paths: one changed value per column type,
one missing row, one extra row.

PostgreSQL vs PostgreSQL sums PostgreSQL's own hash_record_extended over each row instead of
MD5 over the row's canonical text, MariaDB vs MariaDB two CRCs of that text; MySQL vs
PostgreSQL keeps MD5. The planted values are the
ones a careless fast hash misses: -0 against 0 (a float hash takes them alike), NaN against
Infinity in a numeric (both hash 0), a case change in text (a case-blind collation hashes
them alike), '' against NULL and NULL against 0 (a record hashes NULL as 0), one microsecond,
one float4 step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from turnout import api
from turnout.engines.mysql.checksums import MysqlVerifyReader
from turnout.engines.postgres.checksums import PgVerifyReader
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store

from .helpers import execute
from .pairs import kind, over


@dataclass(frozen=True)
class Col:
    name: str
    pg: str  # the column's type on a PostgreSQL source
    mysql: str | None  # on a MySQL source; None: MySQL has no such type, left out there
    pg_value: str  # a literal for every row but the all-NULL one, on a PostgreSQL source
    my_value: str | None  # the same on a MySQL source
    changed: str  # the planted value, written on a PostgreSQL destination
    my_changed: str | None = None  # on a MySQL destination, where it is written otherwise

    def planted(self, dest: str) -> str:
        return self.changed if kind(dest) == "postgresql" else self.my_changed or self.changed


COLS = [
    Col("i16", "smallint", "smallint", "7", "7", "8"),
    Col("i64", "bigint", "bigint", "4611686018427387904", "4611686018427387904",
        "4611686018427387905"),
    Col("k", "integer", "int", "NULL", "NULL", "0"),  # NULL against 0
    Col("flag", "boolean", None, "true", None, "false"),
    Col("n", "numeric(12,3)", "decimal(12,3)", "12.5", "12.5", "12.501"),
    Col("nn", "numeric", None, "'NaN'", None, "'Infinity'"),
    Col("r", "real", "float", "0.5", "0.5", "'0.50000006'"),  # the next float4
    Col("d", "double precision", "double", "0", "0", "'-0'", "5e-324"),  # MariaDB has no -0
    Col("c", "char(5)", "char(5)", "'ab'", "'ab'", "'aB'"),
    Col("v", "varchar(20)", "varchar(20)", "''", "''", "NULL"),  # '' against NULL
    Col("t", "text", "text", "'naïve ✓'", "'naïve ✓'", "'NAÏVE ✓'"),
    Col("b", "bytea", "varbinary(16)", "'\\x00ff'", "X'00ff'", "'\\x01ff'", "X'01ff'"),
    Col("day", "date", "date", "'2024-02-29'", "'2024-02-29'", "'2024-03-01'"),
    Col("clock", "time(6)", "time(6)", "'13:05:00.5'", "'13:05:00.5'", "'13:05:00.500001'"),
    Col("ts", "timestamp(6)", "datetime(6)", "'2024-02-29 13:05:00.123456'",
        "'2024-02-29 13:05:00.123456'", "'2024-02-29 13:05:00.123457'"),
    Col("tz", "timestamptz(6)", "timestamp(6) NULL DEFAULT NULL",
        "'2024-02-29 13:05:00.123456+00'", "'2024-02-29 13:05:00.123456'",
        "'2024-02-29 13:05:00.123457+00'", "'2024-02-29 13:05:00.123457'"),
    Col("u", "uuid", None, "'6ba7b810-9dad-11d1-80b4-00c04fd430c8'", None,
        "'6ba7b810-9dad-11d1-80b4-00c04fd430c9'"),
    # JSON is compared row by row across engines (no checksum path), so PostgreSQL only
    Col("j", "jsonb", None, "'{\"a\": [1, 2.5]}'", None, "'{\"a\": [1, 2.25]}'"),
    Col("span", "interval", None, "'1 day 02:00:00'", None, "'1 day 02:00:01'"),
    Col("arr", "integer[]", None, "'{1,2,3}'", None, "'{1,2,4}'"),
]
ROWS = 40  # rows 1 .. ROWS hold the values; the row after them holds NULLs only


def _columns(source: str) -> list[Col]:
    return [c for c in COLS if kind(source) == "postgresql" or c.mysql is not None]


def _fill(source: str) -> list[Col]:
    cols = _columns(source)
    pg = kind(source) == "postgresql"
    ddl = ", ".join(f"{c.name} {c.pg if pg else c.mysql}" for c in cols)
    values = ", ".join(str(c.pg_value if pg else c.my_value) for c in cols)
    nulls = ", ".join("NULL" for _ in cols)
    rows = [f"({i}, {values})" for i in range(1, ROWS + 1)] + [f"({ROWS + 1}, {nulls})"]
    execute(source, f"CREATE TABLE planted (id int PRIMARY KEY, {ddl})",
            f"INSERT INTO planted VALUES {', '.join(rows)}")
    return cols


@pytest.fixture()
def native_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often an engine's native row hash was written into a query."""
    calls: list[int] = []
    for reader in (PgVerifyReader, MysqlVerifyReader):
        original = reader.native_row_hash

        def counted(self: Any, *args: Any, original: Any = original) -> str:
            calls.append(1)
            return str(original(self, *args))

        monkeypatch.setattr(reader, "native_row_hash", counted)
    return calls


def _table(report: dict[str, Any]) -> dict[str, Any]:
    return next(t for t in report["tables"] if t["source"] == "planted")


@over(("postgresql", "postgresql"), ("mysql", "mysql"), ("mysql", "postgresql"))
def test_every_planted_difference_is_found_on_the_fast_path(
        store: Store, urls: tuple[str, str], native_calls: list[int]) -> None:
    source, dest = urls
    cols = _fill(source)
    api.create_task(TaskSpec("planted", source, dest, types=parse_types("schema,full")), store)
    assert api.run_task("planted", None, store) == "Completed"

    table = _table(api.verify_task("planted", store))
    assert table["different"] == table["missing"] == table["extra"] == [], table
    assert table["rows_fetched"] == 0, "equal rows must hash alike on both sides"
    same_engine = kind(source) == kind(dest)
    assert bool(native_calls) == same_engine, "one engine hashes natively, MySQL vs PG with MD5"

    execute(dest, *[f"UPDATE planted SET {c.name} = {c.planted(dest)} WHERE id = {i}"
                    for i, c in enumerate(cols, start=1)],
            f"DELETE FROM planted WHERE id = {ROWS + 1}",
            f"INSERT INTO planted (id) VALUES ({ROWS + 2})")
    native_calls.clear()
    report = api.verify_task("planted", store)
    table = _table(report)
    assert not report["consistent"]
    assert sorted(zip(table["different"], table["different_columns"], strict=True)) == [
        ([i], [c.name]) for i, c in enumerate(cols, start=1)], table
    assert table["missing"] == [[ROWS + 1]]
    assert table["extra"] == [[ROWS + 2]]
    assert bool(native_calls) == same_engine


@over(("postgresql", "postgresql"), ("mysql", "postgresql"))
def test_a_change_is_found_among_keys_at_the_ends_of_bigint(
        store: Store, urls: tuple[str, str]) -> None:
    """Key slices are counted in bigint where that cannot overflow, and in numeric (MySQL:
    DIV) where the keys reach the ends of bigint; both must find a change anywhere."""
    source, dest = urls
    top = 2**63 - 1
    keys = [-top - 1, -top, -(2**62), -(2**61) - 1, -1, 0, 1, 2**61, 2**61 + 1, 2**62, top - 1,
            top] + list(range(1000, 1300))
    execute(source, "CREATE TABLE wide (id bigint PRIMARY KEY, v varchar(10))",
            "INSERT INTO wide VALUES " + ", ".join(f"({k}, 'v{k % 7}')" for k in keys))
    api.create_task(TaskSpec("wide", source, dest, types=parse_types("schema,full")), store)
    assert api.run_task("wide", None, store) == "Completed"
    report = api.verify_task("wide", store)
    assert report["consistent"], report
    changed = [-top - 1, -(2**61) - 1, 2**61 + 1, 1150, top]
    execute(dest, *[f"UPDATE wide SET v = 'changed' WHERE id = {k}" for k in changed])
    table = next(t for t in api.verify_task("wide", store)["tables"] if t["source"] == "wide")
    assert sorted(k for (k,) in table["different"]) == sorted(changed), table
