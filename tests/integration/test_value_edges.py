"""Values at the edges of each engine's domain, through full, incremental and verify.

Every case either arrives exactly or is refused before a row moves, with one
line naming table, column, an example key and a fix that works.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.integration import pairs
from tests.integration.helpers import execute, running, wait_caught_up
from tests.integration.pairs import over
from turnout import api, engines
from turnout.casts import interval_delta
from turnout.spec import Options, TaskSpec, parse_types
from turnout.store import Store

KEYED = {
    "postgresql": "CREATE TABLE ck (d date, t time(6), ts timestamp(6), tz timestamptz, "
                  "n numeric(10,2), b bytea, u uuid, v text, "
                  "PRIMARY KEY (d, t, ts, tz, n, b, u))",
    "mysql": "CREATE TABLE ck (d date, t time(6), ts datetime(6), tz timestamp(6) NOT NULL, "
             "n decimal(10,2), b varbinary(8), u char(36), v text, "
             "PRIMARY KEY (d, t, ts, tz, n, b, u))",
    "sqlite": "CREATE TABLE ck (d date, t time, ts datetime, tz datetime, n numeric(10,2), "
              "b blob, u text, v text, PRIMARY KEY (d, t, ts, tz, n, b, u))",
}
KEYED_ROWS = [
    "('2024-02-29', '10:00:00.5', '2024-02-29 10:00:00.123456', '2024-02-29 10:00:00+00', "
    "1.50, {b1}, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'one')",
    "('1970-01-01', '00:00:00', '1970-01-01 00:00:00', '1999-12-31 23:59:59+00', "
    "-0.01, {b2}, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'two')",
    "('1970-01-01', '23:59:59.999999', '2000-01-01 00:00:00', '2000-01-01 00:00:00+00', "
    "0, {b3}, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', 'three')",
]


def _bytes(kind: str, hexes: list[str]) -> dict[str, str]:
    spell = {"postgresql": "'\\x{}'::bytea", "mysql": "X'{}'", "sqlite": "X'{}'"}[kind]
    return {f"b{i}": spell.format(h) for i, h in enumerate(hexes, 1)}


def task_name(prefix: str) -> str:
    """A task name no other test uses: PostgreSQL slot names are server-wide."""
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def _delete_tasks(store: Store) -> Iterator[None]:
    """Delete the test's tasks afterwards: each holds a replication slot of a server whose
    slots the whole session shares."""
    yield
    for task in api.list_tasks(store):
        api.delete_task(task["name"], store, force=True)


PAIRS = [("postgresql", "postgresql"), ("postgresql", "mysql"), ("mysql", "postgresql"),
         ("mysql", "mysql"), ("mysql", "sqlite"), ("postgresql", "sqlite")]


@over(*PAIRS)
def test_composite_keys_of_every_kind_go_through_checkpoints_changes_and_verify(
        store: Store, urls: tuple[str, str], tmp_path: Path) -> None:
    source, dest = urls
    kind = pairs.kind(source)
    values = _bytes(kind, ["00", "00ff", ""])
    rows = [r.format(**values) for r in KEYED_ROWS]
    if kind != "postgresql":
        rows = [r.replace("+00'", "'") for r in rows]
    ddl = KEYED[kind]
    if kind == "postgresql" and pairs.kind(dest) == "mysql":
        # a bytea key becomes varbinary(3072), which alone fills InnoDB's key length
        # and uuid becomes char(36), which verify reports as another type (mappings are not
        # this test's subject)
        ddl = ddl.replace("n, b, u)", "n, u)").replace("u uuid", "u varchar(36)")
    execute(source, ddl, "INSERT INTO ck VALUES " + ", ".join(rows))
    name = task_name("ck")
    api.create_task(TaskSpec(name, source, dest, options=Options(chunk_rows=1)), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(source, "UPDATE ck SET v = 'changed' WHERE v = 'one'",
                "UPDATE ck SET n = 2.25 WHERE v = 'two'",
                "DELETE FROM ck WHERE v = 'three'")
        wait_caught_up(store, name)
    report = api.verify_task(name, store)
    assert report["consistent"], str(report["tables"])
    execute(dest, "UPDATE ck SET v = 'stray' WHERE v = 'changed'")
    report = api.verify_task(name, store, repair="dest", apply=True,
                             repair_file=str(tmp_path / "fix.sql"))
    assert not report["consistent"]
    assert api.verify_task(name, store)["consistent"]


# PostgreSQL's special and far dates and times (its regression tests' timestamp.sql, date.sql
# and rangetypes.sql use these): Python's datetime holds none of them.
PG_SPECIAL = """
CREATE TABLE far (k timestamp, id int, d date, ts timestamp(6), tz timestamptz,
                  r tsrange, dr daterange, tzr tstzrange, iv interval, t time,
                  PRIMARY KEY (k, id));
INSERT INTO far VALUES
 ('infinity', 1, 'infinity', 'infinity', 'infinity', '[2020-01-01, infinity)',
  '[-infinity, 2020-01-01)', '(-infinity, infinity)', '1 mon', '24:00:00'),
 ('-infinity', 2, '-infinity', '-infinity', '-infinity', '[-infinity, infinity]',
  '[2020-01-01, infinity)', '[,)', '-178000000 years', '00:00:00'),
 ('epoch', 3, '4714-11-24 BC', '294276-12-31 23:59:59.999999', '10000-01-01 00:00:00+00',
  '[4713-01-01 BC, 2000-01-01)', 'empty', '[1997-02-10 17:32:01.4+00, infinity)',
  '1 year 2 mons 3 days 04:05:06.7', '23:59:59.999999'),
 ('1997-02-10 17:32:01.4', 4, '5874897-12-31', '0001-01-01 00:00:00 BC', NULL, NULL, NULL, NULL,
  '1 day 02:00:00', NULL)
"""
PG_SPECIAL_WRITES = [
    "INSERT INTO far VALUES ('infinity', 5, '-infinity', 'infinity', '-infinity', "
    "'(,infinity]', '[infinity,infinity]', '[-infinity,-infinity]', '-1 mon', '24:00')",
    "INSERT INTO far VALUES ('12345-06-07 08:09:10', 6, '0099-01-01 BC', 'infinity', "
    "'infinity', '[2000-01-01, 10000-01-01)', '[-infinity, 100000-01-01)', NULL, "
    "'2 decades', '12:00')",
    "UPDATE far SET ts = '-infinity', d = '2000-01-01', iv = '30 days' WHERE id = 1",
    "UPDATE far SET k = '-infinity' WHERE id = 4",
    "DELETE FROM far WHERE id = 2",
]


def pg_rows(url: str, table: str) -> list[tuple[str, ...]]:
    """Every row as PostgreSQL itself spells it (text), whatever Python could hold."""
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT t::text FROM {table} t ORDER BY t::text").fetchall()


def test_postgres_infinity_and_far_dates_through_replication_and_verify(
        store: Store, pg_url: str, pg_server) -> None:  # type: ignore[no-untyped-def]
    dest = pg_server.create_database(pg_url.rsplit("/", 1)[1] + "_d")
    execute(pg_url, *PG_SPECIAL.split(";\n"))
    name = task_name("far")
    api.create_task(TaskSpec(name, pg_url, dest, options=Options(chunk_rows=1)), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(pg_url, *PG_SPECIAL_WRITES)
        wait_caught_up(store, name)
    assert pg_rows(dest, "far") == pg_rows(pg_url, "far")
    report = api.verify_task(name, store)
    assert report["consistent"], str(report["tables"])
    execute(dest, "UPDATE far SET r = '[2020-01-01, infinity]' WHERE id = 1",
            "UPDATE far SET ts = '294276-12-31 23:59:59' WHERE id = 3")
    report = api.verify_task(name, store, repair="dest", apply=True,
                             repair_file=str(store.home / "fix.sql"))
    assert sorted(report["tables"][0]["different"]) == [["1970-01-01T00:00:00", 3],
                                                         ["infinity", 1]]
    assert api.verify_task(name, store)["consistent"]
    assert pg_rows(dest, "far") == pg_rows(pg_url, "far")


# MySQL TIME is a duration of up to ±838:59:59 (pgloader's and Debezium's MySQL fixtures use
# the ends); a time of day elsewhere.
MY_TIMES = """
CREATE TABLE dur (id int PRIMARY KEY, t time(6), t0 time);
INSERT INTO dur VALUES (1, '838:59:59.000000', '-838:59:59'), (2, '-00:00:01.5', '24:00:00'),
 (3, '10:00:00.25', '00:00:00'), (4, NULL, '-01:00:00'), (5, '23:59:59.999999', '100:00:00')
"""
MY_TIME_WRITES = ["INSERT INTO dur VALUES (6, '-838:59:59.000000', '838:59:59')",
                  "UPDATE dur SET t = '34:00:00.000001' WHERE id = 3",
                  "DELETE FROM dur WHERE id = 2"]


def my_values(url: str, sql: str) -> list[tuple]:
    engine = engines.connect(url)
    try:
        return [tuple(r) for r in engine.verify_reader().query(sql)]
    finally:
        engine.close()


def test_mysql_time_durations_are_exact_into_mysql(store: Store, mysql_url: str) -> None:
    execute(mysql_url, *MY_TIMES.split(";\n"))
    dest = mysql_url + "_d"
    name = task_name("dur")
    api.create_task(TaskSpec(name, mysql_url, dest), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(mysql_url, *MY_TIME_WRITES)
        wait_caught_up(store, name)
    sql = "SELECT id, CAST(t AS char), CAST(t0 AS char) FROM dur ORDER BY id"
    assert my_values(dest, sql) == my_values(mysql_url, sql)
    assert api.verify_task(name, store)["consistent"]


def test_mysql_time_durations_into_postgres_are_refused_then_cast(
        store: Store, mysql_url: str, pg_url: str) -> None:
    execute(mysql_url, *MY_TIMES.split(";\n"))
    name = task_name("dur")
    api.create_task(TaskSpec(name, mysql_url, pg_url), store)
    assert api.run_task(name, store=store) == "Failed"
    error = api.task_status(name, store)["error"]
    assert "dur.t holds a time outside 00:00:00..23:59:59" in error, error
    assert "dur key 1" in error and "--cast dur.t=interval" in error
    assert "dur.t0 holds" in error and "--cast dur.t0=interval" in error
    api.delete_task(name, store)

    name = task_name("dur")
    api.create_task(TaskSpec(name, mysql_url, pg_url,
                             casts={"dur": {"t": "interval", "t0": "text"}}), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(mysql_url, *MY_TIME_WRITES)
        wait_caught_up(store, name)
    assert api.verify_task(name, store)["consistent"]
    mine = my_values(mysql_url, "SELECT id, t, CAST(t0 AS char) FROM dur ORDER BY id")
    theirs = my_values(pg_url, "SELECT id, t, t0 FROM dur ORDER BY id")
    # PostgreSQL's interval comes as its own text, the duration MySQL holds
    assert [(i, interval_delta(str(t))) for i, t, _ in theirs] == [(i, t) for i, t, _ in mine]
    assert [t0 for *_, t0 in theirs] == [t0 for *_, t0 in mine]  # MySQL's own spelling
    assert [t0 for *_, t0 in theirs] == ["-838:59:59", "00:00:00", "-01:00:00", "100:00:00",
                                         "838:59:59"]


PG_BEYOND_MYSQL = """
CREATE TABLE odd (id int PRIMARY KEY, ts timestamp, f double precision, n numeric(10,2),
                  note text);
INSERT INTO odd VALUES (1, '2024-01-01 10:00:00', 1.5, 2.5, 'plain'),
 (2, 'infinity', 'NaN', 'NaN', 'special'), (3, '-infinity', '-Infinity', 1, 'minus')
"""


@pytest.mark.parametrize("kind", ["mysql", "sqlite"])
def test_postgres_values_mysql_and_sqlite_cannot_hold_are_refused_then_cast(
        store: Store, pg_url: str, kind: str, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    execute(pg_url, *PG_BEYOND_MYSQL.split(";\n"))
    dest = (request.getfixturevalue("mysql_url") if kind == "mysql"
            else f"sqlite:///{tmp_path / 'dest.db'}")
    name = task_name("odd")
    api.create_task(TaskSpec(name, pg_url, dest, types=parse_types("schema,full")), store)
    assert api.run_task(name, store=store) == "Failed"
    error = api.task_status(name, store)["error"]
    lines = error.splitlines()
    assert any(line.startswith("odd.ts holds a value past its type's range") and
               "(odd key 2)" in line and "--cast odd.ts=text" in line for line in lines), error
    assert any(line.startswith("odd.f holds NaN (odd key 2)") for line in lines), error
    if kind == "mysql":
        assert any(line.startswith("odd.f holds an infinite number (odd key 3)")
                   for line in lines), error
    api.delete_task(name, store)

    name = task_name("odd")
    casts = {"odd": {"ts": "text", "f": "text", "n": "text"}}
    api.create_task(TaskSpec(name, pg_url, dest, casts=casts), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(pg_url, "INSERT INTO odd VALUES (4, 'infinity', 'Infinity', 'NaN', 'later')")
        wait_caught_up(store, name)
    engine = engines.connect(dest)
    try:
        rows = engine.verify_reader().query("SELECT id, ts, f, n FROM odd ORDER BY id")
    finally:
        engine.close()
    assert [tuple(r) for r in rows] == [
        (1, "2024-01-01 10:00:00", "1.5", "2.50"), (2, "infinity", "nan", "NaN"),
        (3, "-infinity", "-inf", "1.00"), (4, "infinity", "inf", "NaN")]


def test_a_value_written_later_that_mysql_cannot_hold_stops_the_task_naming_it(
        store: Store, pg_url: str, mysql_url: str) -> None:
    execute(pg_url, *PG_BEYOND_MYSQL.split(";\n"), "DELETE FROM odd WHERE id > 1")
    name = task_name("odd")
    api.create_task(TaskSpec(name, pg_url, mysql_url), store)
    with running(store, name, expect=("Failed",)):
        wait_caught_up(store, name)
        execute(pg_url, "INSERT INTO odd VALUES (7, now(), 'NaN', 1, 'later')")
        api.wait_for(name, lambda s: s["state"] == "Failed", 30, store)
    error = api.task_status(name, store)["error"]
    assert error.startswith("odd.f holds NaN (odd key 7), which "), error
    assert "--cast odd.f=text" in error


def my_zero_dates(url: str) -> None:
    """Zero and partly zero dates, which only a server without strict modes takes."""
    execute(url, "SET SESSION sql_mode = ''",
            "CREATE TABLE z (id int PRIMARY KEY, d date NOT NULL, dt datetime NOT NULL, n date)",
            "INSERT INTO z VALUES (1, '2024-01-01', '2024-01-01 10:00:00', '0000-00-00'), "
            "(2, '2024-00-10', '0000-00-00 00:00:00', NULL), (3, '2024-02-29', "
            "'2024-02-29 00:00:00', '2024-02-29')")


def test_zero_dates_read_as_null_into_not_null_columns_are_refused_at_precheck(
        store: Store, mysql_url: str, pg_url: str) -> None:
    my_zero_dates(mysql_url)
    name = task_name("z")
    api.create_task(TaskSpec(name, mysql_url + "?zero_dates=null", pg_url), store)
    assert api.run_task(name, store=store) == "Failed"
    lines = api.task_status(name, store)["error"].splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "z.d holds a zero date (read as NULL by zero_dates=null) (z key 2)",
        "z.dt holds a zero date (read as NULL by zero_dates=null) (z key 2)"], lines
    assert all("make it nullable on the source (ALTER TABLE" in line for line in lines)
    api.delete_task(name, store)

    execute(mysql_url, "SET SESSION sql_mode = ''",  # the fix, applied
            "ALTER TABLE z MODIFY d date NULL, MODIFY dt datetime NULL")
    name = task_name("z")
    api.create_task(TaskSpec(name, mysql_url + "?zero_dates=null", pg_url), store)
    with running(store, name):
        wait_caught_up(store, name)
    assert my_values(pg_url, "SELECT id, d, dt, n FROM z ORDER BY id")[1] == (2, None, None, None)


def test_postgres_arrays_of_bytes_dates_and_decimals_and_serials_into_mysql(
        store: Store, pg_url: str, mysql_url: str) -> None:
    execute(pg_url,
            "CREATE TABLE arr (id serial PRIMARY KEY, other serial, big bigserial, b bytea[], "
            "d date[], n numeric[], note text)",
            "INSERT INTO arr (b, d, n, note) VALUES (ARRAY['\\x00ff'::bytea, NULL, ''], "
            "ARRAY['2024-02-29'::date], ARRAY[1.50, -0.001], 'one')")
    name = task_name("arr")
    api.create_task(TaskSpec(name, pg_url, mysql_url), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(pg_url, "INSERT INTO arr (b, d, n, note) VALUES (ARRAY['\\x01'::bytea], NULL, "
                "'{}', 'two')", "UPDATE arr SET b = '{}' WHERE note = 'one'")
        wait_caught_up(store, name)
    # arrays keep PostgreSQL's own text, which a reverse task writes back as the same array
    assert my_values(mysql_url, "SELECT id, other, big, b, d, n FROM arr ORDER BY id") == [
        (1, 1, 1, "{}", "{2024-02-29}", "{1.50,-0.001}"),
        (2, 2, 2, '{"\\\\x01"}', None, "{}")]
    assert api.verify_task(name, store)["consistent"]
    # the key's counter is MySQL's one AUTO_INCREMENT column: new rows there go on counting
    execute(mysql_url, "INSERT INTO arr (other, big, note) VALUES (0, 0, 'three')")
    assert my_values(mysql_url, "SELECT max(id) FROM arr") == [(3,)]
    # the other two count no more there: the task's events say so, naming each
    warned = [e["message"] for e in api.events(name, store=store) if e["level"] == "warning"]
    for column in ("other", "big"):
        assert any(m.startswith(f"arr.{column} counts from a sequence on the source, but MySQL "
                                "lets only one column a table (arr.id here) count")
                   for m in warned), warned


def test_mysql_serial_key_and_a_long_row_under_a_fulltext_index_into_postgres(
        store: Store, mysql_url: str, pg_url: str) -> None:
    execute(mysql_url, "CREATE TABLE s (id SERIAL PRIMARY KEY, body text, FULLTEXT KEY (body))",
            "INSERT INTO s (body) VALUES ('x'), "
            "((SELECT GROUP_CONCAT(MD5(seq) SEPARATOR ' ') FROM seq_1_to_1000))",
            "INSERT INTO s VALUES (18446744073709551615, 'largest')")
    name = task_name("s")
    api.create_task(TaskSpec(name, mysql_url, pg_url), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(mysql_url, "INSERT INTO s VALUES (5, "
                "(SELECT GROUP_CONCAT(SHA1(seq) SEPARATOR ' ') FROM seq_1_to_800))")
        wait_caught_up(store, name)
    assert api.verify_task(name, store)["consistent"]
    rows = my_values(pg_url, "SELECT id, length(body) FROM s ORDER BY id")
    assert rows == [(1, 1), (2, 32999), (5, 32799), (18446744073709551615, 7)]
    # the key still counts, and stops at the largest value it holds, as MySQL's counter would
    with pytest.raises(psycopg.errors.SequenceGeneratorLimitExceeded):
        execute(pg_url, "INSERT INTO s (body) VALUES ('after switchover')")
    execute(pg_url, "DELETE FROM s WHERE id > 5", "SELECT setval('s_id_seq', 5)",
            "INSERT INTO s (body) VALUES ('after switchover')")
    assert my_values(pg_url, "SELECT max(id) FROM s") == [(6,)]


# pgloader's and Debezium's MySQL spatial fixtures hold one of each kind, with and without SRID
MY_GEOMETRY = """
CREATE TABLE geo (id int PRIMARY KEY, g geometry, p point, l linestring, poly polygon,
                  mp multipoint, ml multilinestring, mpoly multipolygon, gc geometrycollection);
INSERT INTO geo VALUES
 (1, ST_GeomFromText('POINT(1 2)', 4326), POINT(0.1, -3.5),
  ST_GeomFromText('LINESTRING(0 0,1 1,2 0.5)'),
  ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))'),
  ST_GeomFromText('MULTIPOINT(1 1,2 2)'), ST_GeomFromText('MULTILINESTRING((0 0,1 1),(2 2,3 3))'),
  ST_GeomFromText('MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))'),
  ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1e-7 123456789.125))')),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
"""
GEO_COLUMNS = ("g", "p", "l", "poly", "mp", "ml", "mpoly", "gc")


def test_mysql_geometry_into_mysql_is_exact_and_verifies(store: Store, mysql_url: str) -> None:
    execute(mysql_url, *MY_GEOMETRY.split(";\n"))
    dest = mysql_url + "_d"
    name = task_name("geo")
    api.create_task(TaskSpec(name, mysql_url, dest), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(mysql_url, "INSERT INTO geo (id, g, p) VALUES (3, ST_GeomFromText("
                "'POLYGON((0 0,1 0,1 1,0 0))', 3857), POINT(-180, 90))",
                "UPDATE geo SET l = ST_GeomFromText('LINESTRING(5 5,6 6)') WHERE id = 2")
        wait_caught_up(store, name)
    sql = "SELECT id, " + ", ".join(f"HEX({c})" for c in GEO_COLUMNS) + " FROM geo ORDER BY id"
    assert my_values(dest, sql) == my_values(mysql_url, sql)
    assert api.verify_task(name, store)["consistent"]
    execute(dest, "UPDATE geo SET p = POINT(0.1, -3.6) WHERE id = 1")
    report = api.verify_task(name, store)
    assert report["tables"][0]["different"] == [[1]]


def test_mysql_geometry_into_postgres_is_refused_then_carried_as_ewkt(
        store: Store, mysql_url: str, pg_url: str) -> None:
    execute(mysql_url, *MY_GEOMETRY.split(";\n"))
    name = task_name("geo")
    api.create_task(TaskSpec(name, mysql_url, pg_url), store)
    assert api.run_task(name, store=store) == "Failed"
    error = api.task_status(name, store)["error"]
    assert "geo.p (point): MySQL geometry has no PostgreSQL type here: add --cast geo.p=text" \
        in error, error
    api.delete_task(name, store)
    name = task_name("geo")
    api.create_task(TaskSpec(name, mysql_url, pg_url,
                             casts={"geo": {c: "text" for c in GEO_COLUMNS}}), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(mysql_url, "INSERT INTO geo (id, g) VALUES (3, ST_GeomFromText("
                "'POLYGON((0 0,1 0,1 1,0 0))', 3857))")
        wait_caught_up(store, name)
    sql = "SELECT id, " + ", ".join(GEO_COLUMNS) + " FROM geo ORDER BY id"
    theirs = my_values(pg_url, sql)
    assert theirs[0] == (
        1, "SRID=4326;POINT(1 2)", "POINT(0.1 -3.5)", "LINESTRING(0 0,1 1,2 0.5)",
        "POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,3 2,3 3,2 2))", "MULTIPOINT(1 1,2 2)",
        "MULTILINESTRING((0 0,1 1),(2 2,3 3))",
        "MULTIPOLYGON(((0 0,1 0,1 1,0 0)),((5 5,6 5,6 6,5 5)))",
        "GEOMETRYCOLLECTION(POINT(1 1),LINESTRING(0 0,1e-07 123456789.125))")
    assert theirs[2][:2] == (3, "SRID=3857;POLYGON((0 0,1 0,1 1,0 0))")
    # MySQL reads the text back as the very same geometry
    back = ", ".join(f"HEX(ST_GeomFromText('{t.split(';')[-1]}', {t.split(';')[0][5:] or 0}))"
                     if t.startswith("SRID") else f"HEX(ST_GeomFromText('{t}'))"
                     for t in theirs[0][1:])
    mine = my_values(mysql_url, "SELECT " + ", ".join(f"HEX({c})" for c in GEO_COLUMNS)
                     + " FROM geo WHERE id = 1")
    assert my_values(mysql_url, "SELECT " + back) == mine
    assert api.verify_task(name, store)["consistent"]


def test_verify_reads_zero_dates_by_the_source_url_rule(
        store: Store, mysql_url: str, pg_url: str) -> None:
    """verify stopped with a traceback at a zero date; it now follows ?zero_dates= like the
    task: NULL with `null`, else the zero date as MySQL spells it, which differs from the
    NULL the destination holds."""
    my_zero_dates(mysql_url)
    execute(mysql_url, "SET SESSION sql_mode = ''",
            "ALTER TABLE z MODIFY d date NULL, MODIFY dt datetime NULL")
    name = task_name("z")
    api.create_task(TaskSpec(name, mysql_url + "?zero_dates=null", pg_url,
                             types=parse_types("schema,full")), store)
    assert api.run_task(name, store=store) == "Completed"
    assert api.verify_task(name, store)["consistent"]
    assert not api.verify_urls(mysql_url, pg_url, ["z"])["consistent"]


@pytest.mark.parametrize("kind", ["mysql", "sqlite"])
def test_postgres_ranges_arrive_as_postgres_writes_them(
        store: Store, pg_url: str, kind: str, request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    """Ranges became Python's text of psycopg's Range (`(None, 3)`), or stopped the task at an
    infinite bound; a text column now holds PostgreSQL's own spelling."""
    execute(pg_url, "CREATE TABLE r (id int PRIMARY KEY, a tsrange, b int4range, c daterange, "
            "n numrange)",
            "INSERT INTO r VALUES (1, '[2020-01-01, infinity)', '[1,5)', "
            "'[-infinity, 2020-01-01)', '(1.5, 2.25]'), (2, 'empty', '(,)', NULL, '[,3)')")
    dest = (request.getfixturevalue("mysql_url") if kind == "mysql"
            else f"sqlite:///{tmp_path / 'dest.db'}")
    name = task_name("r")
    api.create_task(TaskSpec(name, pg_url, dest), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(pg_url, "INSERT INTO r VALUES (3, '(-infinity, 2021-01-01 10:00]', '[3,4]', "
                "'[2020-01-01, infinity]', 'empty')")
        wait_caught_up(store, name)
    theirs = my_values(dest, "SELECT * FROM r ORDER BY id")
    assert theirs == my_values(
        pg_url, "SELECT id, a::text, b::text, c::text, n::text FROM r ORDER BY id")
    assert theirs[1] == (2, "empty", "(,)", None, "(,3)")
    assert api.verify_task(name, store)["consistent"]


# PostgreSQL's own types at their edges (its regression tests' money.sql, timetz.sql,
# float8.sql, numeric.sql, arrays.sql): each through the replication stream and verify
PG_EDGE_COLUMNS = ("m money, tz timetz, ta timestamp[], da date[], bv bit varying(10), x xml, "
                   "tv tsvector, pt point, ci cidr, ma macaddr, f4 real, f8 float8, nu numeric, "
                   "ia interval[], js jsonb, tt time")
PG_EDGE_ROWS = (
    "'-92233720368547758.08', '24:00:00+01', '{infinity,-infinity,\"2020-01-01 00:00:00\"}', "
    "'{infinity,\"4714-11-24 BC\"}', B'101', '<a>x</a>', 'a:1 b', '(1,2)', '10.0.0.0/8', "
    "'08:00:2b:01:02:03', 'NaN', '-Infinity', 'NaN', '{\"1 mon\",\"1 day\"}', "
    "'{\"a\": null}', '24:00'",
    "'1.5', '00:00:00-12', '{}', NULL, B'', NULL, '', '(0,-0)', '::1/128', NULL, 'Infinity', "
    "'1e308', 'Infinity', NULL, 'null', '00:00'",
)


def test_postgres_edge_values_through_replication_and_verify(
        store: Store, pg_url: str, pg_server) -> None:  # type: ignore[no-untyped-def]
    dest = pg_server.create_database(pg_url.rsplit("/", 1)[1] + "_d")
    execute(pg_url, f"CREATE TABLE t (id int PRIMARY KEY, {PG_EDGE_COLUMNS})",
            f"INSERT INTO t VALUES (1, {PG_EDGE_ROWS[0]})")
    name = task_name("t")
    api.create_task(TaskSpec(name, pg_url, dest), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(pg_url, f"INSERT INTO t VALUES (2, {PG_EDGE_ROWS[0]})",
                f"INSERT INTO t VALUES (3, {PG_EDGE_ROWS[1]})",
                "UPDATE t SET ta = '{2000-01-01}', tt = '24:00' WHERE id = 3")
        wait_caught_up(store, name)
    assert pg_rows(dest, "t") == pg_rows(pg_url, "t")
    assert api.verify_task(name, store)["consistent"]


def test_sqlite_infinity_into_mysql_is_refused_at_precheck(
        store: Store, mysql_url: str, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'src.db'}"
    Path(tmp_path / "src.db").touch()
    execute(source, "CREATE TABLE m (id INTEGER PRIMARY KEY, x REAL, y DOUBLE)",
            "INSERT INTO m VALUES (1, 1.5, 2), (2, 9e999, 3), (3, 4, -9e999)")
    name = task_name("m")
    api.create_task(TaskSpec(name, source, mysql_url, types=parse_types("schema,full")), store)
    assert api.run_task(name, store=store) == "Failed"
    lines = api.task_status(name, store)["error"].splitlines()
    assert [line.split(", which")[0] for line in lines] == [
        "m.x holds an infinite number (m key 2)", "m.y holds an infinite number (m key 3)"]


def test_a_zero_date_written_later_into_a_not_null_column_stops_the_task_naming_it(
        store: Store, mysql_url: str, pg_url: str) -> None:
    execute(mysql_url, "CREATE TABLE z (id int PRIMARY KEY, d date NOT NULL)",
            "INSERT INTO z VALUES (1, '2024-01-01')")
    name = task_name("z")
    api.create_task(TaskSpec(name, mysql_url + "?zero_dates=null", pg_url), store)
    with running(store, name, expect=("Failed",)):
        wait_caught_up(store, name)
        execute(mysql_url, "SET SESSION sql_mode = ''", "INSERT INTO z VALUES (2, '0000-00-00')")
        api.wait_for(name, lambda s: s["state"] == "Failed", 30, store)
    error = api.task_status(name, store)["error"]
    assert error.startswith("z.d holds a zero date (read as NULL by zero_dates=null) (z key 2)")
    assert my_values(pg_url, "SELECT id FROM z") == [(1,)]


def test_mysql_zero_and_partly_zero_dates_are_exact_into_mysql(
        store: Store, mysql_url: str, pg_url: str) -> None:
    """MySQL holds `0000-00-00` and `2024-00-10`: MySQL → MySQL carries them on the full copy
    and through the binlog (whose library gives them as None, so the row is read back), where
    they used to be refused as something no other engine holds; PostgreSQL refuses them at
    precheck with a key and the fix."""
    my_zero_dates(mysql_url)
    dest = mysql_url + "_d"
    name = task_name("z")
    api.create_task(TaskSpec(name, mysql_url, dest), store)
    with running(store, name):
        wait_caught_up(store, name)
        execute(mysql_url, "SET SESSION sql_mode = ''",
                "INSERT INTO z SELECT id + 10, d, dt, n FROM z",
                "UPDATE z SET d = '2023-05-00' WHERE id = 11")
        wait_caught_up(store, name)
    sql = "SELECT id, CAST(d AS char), CAST(dt AS char), CAST(n AS char) FROM z ORDER BY id"
    mine = my_values(mysql_url, sql)
    assert (12, "2024-00-10", "0000-00-00 00:00:00", None) in mine
    assert my_values(dest, sql) == mine
    assert api.verify_task(name, store)["consistent"]

    name = task_name("z")
    api.create_task(TaskSpec(name, mysql_url, pg_url), store)
    assert api.run_task(name, store=store) == "Failed"
    error = api.task_status(name, store)["error"]
    assert "z.d holds a zero date (0000-00-00) (z key 2)" in error, error
    assert "?zero_dates=null" in error


def test_mysql_bigint_unsigned_past_sqlites_integer_is_refused_then_cast_to_text(
        store: Store, mysql_url: str, tmp_path: Path) -> None:
    """SQLite's INTEGER is 64-bit signed and would make a wider value a REAL: precheck names
    the key, and the cast it names carries every digit."""
    execute(mysql_url, "CREATE TABLE w (id int PRIMARY KEY, u bigint unsigned, b bit(64))",
            "INSERT INTO w VALUES (1, 5, b'1'), (2, 18446744073709551615, 0x8000000000000000)")
    dest = f"sqlite:///{tmp_path / 'w.db'}"
    name = task_name("w")
    api.create_task(TaskSpec(name, mysql_url, dest), store)
    check = api.precheck(name, store)
    assert [line.split(",")[0] for line in check["problems"]] == [
        "w.u holds an integer above 9223372036854775807 (64-bit signed) (w key 2)",
        "w.b holds an integer above 9223372036854775807 (64-bit signed) (w key 2)"]
    api.delete_task(name, store)
    name = task_name("w")
    api.create_task(TaskSpec(name, mysql_url, dest, casts={"w": {"u": "text", "b": "text"}}),
                    store)
    with running(store, name):
        wait_caught_up(store, name)
    rows = sqlite3.connect(tmp_path / "w.db").execute("SELECT * FROM w ORDER BY id").fetchall()
    assert rows == [(1, "5", "1"), (2, "18446744073709551615", "9223372036854775808")]
