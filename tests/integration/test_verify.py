"""Verification on real servers, for every pair of engines.

Each test copies a table of awkward values (padded CHAR, decimals of several
scales, floats, time zones, empty strings beside NULLs, bytes) with a turnout
task, proves the copy consistent, injects known differences on one side,
finds exactly those, repairs them, and proves the sides consistent again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from turnout import api
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store

from .helpers import execute, insert_sql, running
from .pairs import kind, over

EDGE_DDL = {
    "postgresql": "CREATE TABLE edge (id int PRIMARY KEY, c char(5), n numeric(12,3), "
                  "f double precision, r real, ts timestamp(6), d date, v varchar(20), "
                  "bin bytea, t time(6), big bigint)",
    "mysql": "CREATE TABLE edge (id int PRIMARY KEY, c char(5), n decimal(12,3), f double, "
             "r float, ts datetime(6), d date, v varchar(20), bin varbinary(16), t time(6), "
             "big bigint)",
    "sqlite": "CREATE TABLE edge (id INTEGER PRIMARY KEY, c CHAR(5), n NUMERIC(12,3), f DOUBLE, "
              "r REAL, ts DATETIME, d DATE, v VARCHAR(20), bin BLOB, t TIME, big BIGINT)",
}
EDGE_ROWS: list[tuple[Any, ...]] = [
    (1, "ab", Decimal("12.5"), 0.1, 0.5, dt.datetime(2024, 2, 29, 13, 5, 0, 123456),
     dt.date(2024, 2, 29), "", b"\x00\xff", dt.time(13, 5, 0, 500000), 2**62),
    (2, None, None, None, None, None, None, None, None, None, None),
    (3, "abcde", Decimal("-0.001"), 1e20, 3.25, dt.datetime(1999, 12, 31, 23, 59, 59),
     dt.date(1970, 1, 1), "x y ", b"", dt.time(0, 0), -(2**62)),
    (4, " a", Decimal("0"), -2.5, -1.0, dt.datetime(2024, 1, 1), dt.date(2000, 1, 1),
     "naïve ✓", b"abc", dt.time(23, 59, 59, 999999), 0),
] + [(i, f"r{i}", Decimal(i) / 8, i / 3, i / 4, dt.datetime(2020, 1, 1) + dt.timedelta(hours=i),
      dt.date(2020, 1, 1) + dt.timedelta(days=i), f"row {i}", bytes([i % 256]), dt.time(i % 24),
      i * 1000) for i in range(5, 1200)]
NOKEY_DDL = "CREATE TABLE nokey (a int, b varchar(10))"

PAIRS = [("sqlite", "postgresql"), ("postgresql", "mysql"), ("mysql", "postgresql"),
         ("sqlite", "mysql"), ("postgresql", "postgresql"), ("mysql", "mysql"),
         ("mysql", "sqlite"), ("postgresql", "sqlite")]


def copied(store: Store, urls: tuple[str, str]) -> tuple[str, str]:
    """The edge table on the source, copied to the destination by a turnout task."""
    source, dest = urls
    execute(source, EDGE_DDL[kind(source)], insert_sql(source, "edge", EDGE_ROWS))
    api.create_task(TaskSpec("copy", source, dest, types=parse_types("schema,full")), store)
    assert api.run_task("copy", None, store) == "Completed"
    return source, dest


def table(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in report["tables"] if t["source"] == name)


@over(*PAIRS)
def test_finds_exactly_the_injected_differences_and_repairs_them(
        store: Store, urls: tuple[str, str], tmp_path: Path) -> None:
    source, dest = copied(store, urls)
    report = api.verify_task("copy", store)
    edge = table(report, "edge")
    assert report["consistent"], edge
    assert edge["rows_source"] == edge["rows_dest"] == len(EDGE_ROWS)
    assert edge["rows_fetched"] == 0, "the two databases' checksums should agree on equal rows"

    execute(dest, "UPDATE edge SET v = 'changed' WHERE id = 1",
            "UPDATE edge SET n = 99.125, c = 'zz' WHERE id = 700",
            "UPDATE edge SET v = NULL WHERE id = 4",
            "DELETE FROM edge WHERE id IN (3, 900)",
            insert_sql(dest, "edge", [(5000, *EDGE_ROWS[0][1:])]))
    report = api.verify_task("copy", store, repair="dest", apply=True,
                             repair_file=str(tmp_path / "fix.sql"))
    edge = table(report, "edge")
    assert not report["consistent"]
    assert edge["missing"] == [[3], [900]]
    assert edge["extra"] == [[5000]]
    assert sorted(zip(edge["different"], edge["different_columns"], strict=True)) == [
        ([1], ["v"]), ([4], ["v"]), ([700], ["c", "n"])]
    assert report["repair"]["applied"] == 6
    assert "DELETE FROM" in (tmp_path / "fix.sql").read_text()

    again = api.verify_task("copy", store)
    assert again["consistent"], table(again, "edge")


@over(*PAIRS[:4])
def test_a_table_without_a_key_compares_as_a_multiset(urls: tuple[str, str]) -> None:
    source, dest = urls
    for url in urls:
        execute(url, NOKEY_DDL, insert_sql(url, "nokey", [(1, "x"), (2, "y"), (3, None)]))
    execute(source, insert_sql(source, "nokey", [(1, "x")]))  # a duplicate only the source has
    report = api.verify_urls(source, dest, ["nokey"])
    nokey = table(report, "nokey")
    assert not nokey["keyed"]
    assert (nokey["rows_source"], nokey["rows_dest"]) == (4, 3)
    assert nokey["missing"] == [[1, "x"]] and nokey["extra"] == []


@over(("postgresql", "mysql"))
def test_repairing_the_source_after_a_write_to_the_old_side(
        store: Store, urls: tuple[str, str], tmp_path: Path) -> None:
    """After switchover, someone writes to the old source by mistake: verify shows exactly
    that row, and repairing the source from the destination puts it right."""
    source, _ = copied(store, urls)
    execute(source, "UPDATE edge SET v = 'stray write' WHERE id = 10")
    report = api.verify_task("copy", store, repair="source", apply=True,
                             repair_file=str(tmp_path / "fix.sql"))
    assert table(report, "edge")["different"] == [[10]]
    assert api.verify_task("copy", store)["consistent"]


def test_json_documents_compare_by_content(pg_url: str, mysql_url: str) -> None:
    """jsonb reorders keys and MySQL keeps the text as written: the same documents agree."""
    execute(pg_url, "CREATE TABLE docs (id int PRIMARY KEY, doc jsonb)",
            """INSERT INTO docs VALUES (1, '{"b": 1, "a": [1, 2.5, "x"]}'), (2, NULL),
               (3, '{"k": {"z": null, "y": true}}')""")
    execute(mysql_url, "CREATE TABLE docs (id int PRIMARY KEY, doc json)",
            """INSERT INTO docs VALUES (1, '{"a":[1,2.5,"x"],"b":1}'), (2, NULL),
               (3, '{ "k" : { "y" : true, "z" : null } }')""")
    report = api.verify_urls(pg_url, mysql_url, ["docs"])
    assert report["consistent"], report
    execute(mysql_url, """UPDATE docs SET doc = '{"a":[1,2.5,"x"],"b":2}' WHERE id = 1""")
    assert table(api.verify_urls(pg_url, mysql_url, ["docs"]), "docs")["different"] == [[1]]


def test_mysql_character_sets_and_integer_kinds_hash_like_postgres(
        pg_url: str, mysql_url: str) -> None:
    """MySQL hashes utf8 text and plain integers as they are, and converts the rest: latin1
    text, year, bit and zerofill must still agree with PostgreSQL's spelling of the same
    values."""
    execute(mysql_url, "CREATE TABLE cs (id int PRIMARY KEY, l1 varchar(10) CHARACTER SET "
            "latin1, u3 char(8) CHARACTER SET utf8mb3, u4 text, y year, b bit(9), "
            "u bigint unsigned, s smallint, z int(6) zerofill)",
            "INSERT INTO cs VALUES (1, 'café', 'naïve', '✓ ok', 2024, b'100000001', "
            "18446744073709551615, -5, 42), (2, NULL, '', '', NULL, NULL, 0, NULL, NULL)")
    execute(pg_url, "CREATE TABLE cs (id int PRIMARY KEY, l1 varchar(10), u3 char(8), "
            "u4 text, y smallint, b bigint, u numeric(20), s smallint, z bigint)",
            "INSERT INTO cs VALUES (1, 'café', 'naïve', '✓ ok', 2024, 257, "
            "18446744073709551615, -5, 42), (2, NULL, '', '', NULL, NULL, 0, NULL, NULL)")
    for url in (mysql_url, pg_url):  # latin1 alone: no utf8 column converts it in CONCAT
        execute(url, "CREATE TABLE l1 (id int PRIMARY KEY, t varchar(10)"
                + (" CHARACTER SET latin1)" if url == mysql_url else ")"),
                "INSERT INTO l1 VALUES (1, 'café'), (2, 'plain')")
    report = api.verify_urls(mysql_url, pg_url, ["cs", "l1"])
    assert report["consistent"], report
    assert [t["rows_fetched"] for t in report["tables"]] == [0, 0]
    execute(mysql_url, "UPDATE cs SET l1 = 'cafe' WHERE id = 1")
    assert table(api.verify_urls(mysql_url, pg_url, ["cs"]), "cs")["different"] == [[1]]


def test_schema_level_reports_missing_tables_columns_and_indexes(tmp_path: Path) -> None:
    source, dest = (f"sqlite:///{tmp_path / n}" for n in ("a.db", "b.db"))
    for url in (source, dest):
        Path(url.removeprefix("sqlite:///")).touch()
    execute(source, "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b INT)",
            "CREATE INDEX t_a ON t (a)", "CREATE TABLE gone (id INTEGER PRIMARY KEY)")
    execute(dest, "CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
    report = api.verify_urls(source, dest, level="schema")
    assert not report["consistent"]
    problems = [p for t in report["tables"] for p in t["problems"]]
    assert "table gone is missing on the destination" in problems
    assert "column t.b is missing on the destination" in problems
    assert "table t lacks the index on (a)" in problems


def test_recheck_waits_for_a_running_task_instead_of_reporting_lag(
        store: Store, tmp_path: Path) -> None:
    source, dest = tmp_path / "src.db", tmp_path / "dst.db"
    source.touch()
    execute(f"sqlite:///{source}", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)",
            insert_sql(f"sqlite:///{source}", "t", [(i, "old") for i in range(3000)]))
    api.create_task(TaskSpec("live", f"sqlite:///{source}", f"sqlite:///{dest}"), store)
    with running(store, "live"):
        api.wait_for("live", lambda s: s["phase"] == "incremental", 60, store)
        execute(f"sqlite:///{source}", "UPDATE t SET v = 'new' WHERE id % 3 = 0",
                "DELETE FROM t WHERE id % 7 = 0")
        report = api.verify_task("live", store, recheck=True)
        assert report["consistent"], table(report, "t")
