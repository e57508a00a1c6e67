"""PostgreSQL's text for intervals and floats, checked against a real server.

Where an interval becomes text elsewhere (a cast to text, SQLite's column) the user must
see the text PostgreSQL itself prints, and a float's text must read back as the same
value, even where the database sets another IntervalStyle or extra_float_digits = 0.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.integration.helpers import execute, running, wait_caught_up
from turnout import api
from turnout.casts import interval_delta, interval_text, postgres_interval
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store
from turnout.testing.servers import PgServer

# negative and mixed-sign intervals, as a user types them
NEGATIVE = ["-1 day 00:00:01", "-00:00:05", "1 day -00:00:01", "-1 mon 2 days -03:00:00",
            "1 year -2 mons +3 days -00:00:00.5", "-2 days", "-838:59:59", "-1 days +23:59:55"]
MICROS = 2 ** 53 - 1  # what a float8 factor carries exactly into interval '1 microsecond' * n


@pytest.fixture(scope="module")
def pg(pg_server: PgServer) -> Iterator[psycopg.Connection[Any]]:
    conn = psycopg.connect(pg_server.url(), autocommit=True)
    conn.execute("SET intervalstyle = postgres")
    yield conn
    conn.close()


def _printed(pg: psycopg.Connection[Any], months: int, days: int, micros: int) -> str:
    row = pg.execute("SELECT (make_interval(months => %s, days => %s) "
                     "+ interval '1 microsecond' * %s)::text", (months, days, micros)).fetchone()
    assert row is not None
    return str(row[0])


@settings(max_examples=400, deadline=None)
@given(st.integers(-30000, 30000) | st.sampled_from([0, 1, -1, 12, -12, 13, -13]),
       st.integers(-10 ** 6, 10 ** 6) | st.sampled_from([0, 1, -1]),
       st.integers(-MICROS, MICROS) | st.sampled_from([0, 1, -1, 500_000, -86_400_000_000]))
@example(0, -1, 1_000_000)
@example(0, 0, -5_000_000)
@example(-1, 2, -10_800_000_000)
def test_interval_fields_print_as_postgresql_prints_them(
        pg: psycopg.Connection[Any], months: int, days: int, micros: int) -> None:
    printed = _printed(pg, months, days, micros)
    assert postgres_interval(months, days, micros) == printed
    if months == 0:  # a duration: read back as the same one
        assert interval_delta(printed) == dt.timedelta(days=days, microseconds=micros)


@settings(max_examples=200, deadline=None)
@given(st.timedeltas(min_value=-dt.timedelta(microseconds=MICROS),
                    max_value=dt.timedelta(microseconds=MICROS)))
@example(dt.timedelta(seconds=-5))
@example(dt.timedelta(days=-1, seconds=1))
def test_a_duration_prints_as_postgresql_prints_it(
        pg: psycopg.Connection[Any], value: dt.timedelta) -> None:
    """PostgreSQL's own form of a duration is justify_hours(): days and clock of one sign."""
    micros = value // dt.timedelta(microseconds=1)
    row = pg.execute("SELECT justify_hours(interval '1 microsecond' * %s)::text",
                     (micros,)).fetchone()
    assert row is not None and interval_text(value) == row[0]


@pytest.fixture()
def tasks(store: Store) -> Iterator[Store]:
    yield store
    for task in api.list_tasks(store):  # replication slots are server-wide
        api.delete_task(task["name"], store, force=True)


def _name() -> str:
    return f"forms{uuid.uuid4().hex[:8]}"


def test_a_database_s_own_text_settings_change_no_value(
        tasks: Store, pg_server: PgServer, tmp_path: Path) -> None:
    """extra_float_digits = 0 prints 15 digits, iso_8601 writes `P-1DT1S`, DateStyle
    `SQL, DMY` writes 05/03/2024 (read as May 3rd by an MDY reader) and bytea_output =
    escape writes `\\001`: turnout's sessions and its replication stream set their own, so
    the copy and every change keep each value."""
    db = f"forms_{uuid.uuid4().hex[:8]}"
    source = pg_server.create_database(db)
    pg_server.psql(f"ALTER DATABASE {db} SET extra_float_digits = 0")
    pg_server.psql(f"ALTER DATABASE {db} SET intervalstyle = iso_8601")
    pg_server.psql(f"ALTER DATABASE {db} SET datestyle = 'SQL, DMY'")
    pg_server.psql(f"ALTER DATABASE {db} SET bytea_output = escape")
    row = ("(%d, 0.1234567890123456, '-1 day 00:00:01', '2024-03-05', "
           "'2024-03-05 06:07:08.5', '\\x0001ff')")
    execute(source, "CREATE TABLE t (id int PRIMARY KEY, d double precision, iv interval,"
                    " day date, at timestamp, b bytea)",
            "INSERT INTO t VALUES " + row % 1)
    dest = tmp_path / "dest.db"
    name = _name()
    api.create_task(TaskSpec(name, source, f"sqlite:///{dest}"), tasks)
    with running(tasks, name):
        wait_caught_up(tasks, name)
        execute(source, "INSERT INTO t VALUES " + row % 2)
        wait_caught_up(tasks, name)
    with sqlite3.connect(dest) as conn:
        copied = conn.execute("SELECT d, iv, day, at, b FROM t ORDER BY id").fetchall()
    assert copied == [(0.1234567890123456, "-1 days +00:00:01", "2024-03-05",
                       "2024-03-05 06:07:08.500000", b"\x00\x01\xff")] * 2


def test_a_negative_interval_cast_to_text_is_postgresql_s_own_text(
        tasks: Store, pg_url: str, mysql_url: str, tmp_path: Path) -> None:
    """Into MySQL (cast to text) and SQLite (which keeps the text) alike."""
    values = ", ".join(f"({i}, '{v}')" for i, v in enumerate(NEGATIVE))
    execute(pg_url, "CREATE TABLE iv (id int PRIMARY KEY, v interval)",
            f"INSERT INTO iv VALUES {values}")
    with psycopg.connect(pg_url) as conn:
        own = conn.execute("SELECT v::text FROM iv ORDER BY id").fetchall()
    sqlite_url = f"sqlite:///{tmp_path / 'dest.db'}"
    for dest, casts in ((mysql_url, {"iv": {"v": "text"}}), (sqlite_url, {})):
        name = _name()
        api.create_task(TaskSpec(name, pg_url, dest, types=parse_types("schema,full"),
                                 casts=casts), tasks)
        assert api.run_task(name, store=tasks) == "Completed"
        assert api.verify_task(name, tasks)["consistent"]
        dest_sql = "SELECT v FROM iv ORDER BY id"
        if dest.startswith("sqlite"):
            with sqlite3.connect(tmp_path / "dest.db") as conn:
                assert conn.execute(dest_sql).fetchall() == own
        else:
            assert _mysql_rows(dest, dest_sql) == own


def _mysql_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    from turnout import engines

    engine = engines.connect(url)
    reader = engine.verify_reader()
    try:
        return [tuple(r) for r in reader.query(sql)]
    finally:
        reader.close()
        engine.close()


def test_verify_compares_a_mysql_time_with_an_interval_by_duration(
        pg_url: str, mysql_url: str) -> None:
    """The same duration in another interval form is equal; days, and months, count."""
    execute(mysql_url, "CREATE TABLE dur (id int PRIMARY KEY, t time(6))",
            "INSERT INTO dur VALUES (1, '-00:00:05'), (2, '25:00:00'), (3, '-838:59:59'), "
            "(4, '01:00:00'), (5, '00:00:00'), (6, '-00:00:00.5')")
    execute(pg_url, "CREATE TABLE dur (id int PRIMARY KEY, t interval)",
            "INSERT INTO dur VALUES (1, '-1 days +23:59:55'), (2, '1 day 01:00:00'), "
            "(3, '-34 days -22:59:59'), (4, '01:00:00'), (5, '0'), (6, '-0.5 seconds')")
    report = api.verify_urls(mysql_url, pg_url, ["dur"])
    assert report["consistent"], report
    assert report["tables"][0]["rows_fetched"] == 0, "both sides must spell durations alike"
    execute(pg_url, "UPDATE dur SET t = '1 day 01:00:00' WHERE id = 4",
            "UPDATE dur SET t = '1 mon' WHERE id = 5")
    dur = api.verify_urls(mysql_url, pg_url, ["dur"])["tables"][0]
    assert dur["different"] == [[4], [5]], dur
