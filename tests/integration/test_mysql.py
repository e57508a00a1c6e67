"""The MySQL / MariaDB engine against a private MariaDB server (turnout.testing.servers)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from decimal import Decimal
from typing import Any

import psycopg
import pymysql
import pytest

from tests.integration.helpers import execute, running, wait_caught_up
from turnout import api, engines
from turnout.endpoint import Endpoint
from turnout.engines.mysql.settings import connection_settings
from turnout.spec import Options, TaskSpec, parse_types
from turnout.store import Store
from turnout.verify.digest import table_digest

TYPES = r"""
CREATE TABLE everything (
    id int unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
    ti tinyint, tiu tinyint unsigned, flag tinyint(1), si smallint, siu smallint unsigned,
    mi mediumint, i int NOT NULL DEFAULT 7, iu int unsigned, bi bigint, biu bigint unsigned,
    dec1 decimal(12,3), f float, d double, bits bit(10),
    ch char(5), vc varchar(20), tx text, mt mediumtext,
    bin binary(4), vb varbinary(10), bl blob,
    dt date, dtm datetime(3), ts timestamp(6) NULL DEFAULT NULL, tm time, yr year,
    en enum('a,b', 'it''s', 'plain'), st set('x', 'y', 'z'), js json,
    gen int AS (i * 2) VIRTUAL,
    code varchar(8) UNIQUE
) DEFAULT CHARSET = utf8mb4;
CREATE TABLE child (id bigint PRIMARY KEY, parent int unsigned, note varchar(10),
                    KEY child_note (note),
                    FOREIGN KEY (parent) REFERENCES everything (id) ON DELETE CASCADE);
INSERT INTO everything (ti, tiu, flag, si, siu, mi, iu, bi, biu, dec1, f, d, bits, ch, vc, tx,
    mt, bin, vb, bl, dt, dtm, ts, tm, yr, en, st, js, code)
VALUES (-128, 255, 1, -32768, 65535, -8388608, 4294967295, -9223372036854775808,
        18446744073709551615, 123456789.125, 1.1, 2.25, b'1010101010', 'ab  ', 'vé ', 'long',
        'medium', 'ab', X'00ff', X'deadbeef', '2024-02-29', '2024-01-01 10:00:00.123',
        '2024-01-01 10:00:00.654321', '12:34:56', 2024, 'a,b', 'x,z', '{"b": 1, "a": [1, 2]}',
        'c1'),
       (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'it''s', '', NULL, 'c2');
INSERT INTO child VALUES (1, 1, 'x'), (2, 2, 'y');
"""


def my_execute(url: str, sql: str) -> None:
    """Run statements (separated by ;\\n) on the database of a mysql:// URL."""
    with _connect(url) as conn, conn.cursor() as cur:
        for statement in sql.split(";\n"):
            if statement.strip():
                cur.execute(statement)


def purge_binlogs(mariadb_server: Any) -> None:
    """Start a new binlog and purge every older one, as a server's expiry would."""
    mariadb_server.sql("FLUSH BINARY LOGS")
    newest = mariadb_server.sql("SHOW MASTER STATUS").split()[0]
    for _ in range(100):  # a stopped task's dump thread ends at its next heartbeat
        mariadb_server.sql(f"PURGE BINARY LOGS TO '{newest}'")
        if mariadb_server.sql("SHOW BINARY LOGS").split()[0] == newest:
            return
        time.sleep(0.1)


def my_rows(url: str, table: str) -> list[tuple[Any, ...]]:
    with _connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM `{table}` ORDER BY 1")
        return list(cur.fetchall())


def _connect(url: str) -> Any:
    settings, _ = connection_settings(Endpoint.parse(url))
    return pymysql.connect(**{**settings, "program_name": "tests"})


def digests(url: str, tables: list[str]) -> dict[str, Any]:
    engine = engines.connect(url)
    try:
        return {t: table_digest(engine, t) for t in tables}
    finally:
        engine.close()


def test_mysql_to_mysql_keeps_every_type(store: Store, mariadb_server, mysql_url: str) -> None:
    my_execute(mysql_url, TYPES)
    dest = mysql_url + "_dest"
    options = Options(chunk_rows=1)
    api.create_task(TaskSpec("mymy", mysql_url, dest, types=parse_types("schema,full"),
                             options=options), store)
    assert api.run_task("mymy", store=store) == "Completed", api.task_status("mymy", store)
    assert my_rows(dest, "everything") == my_rows(mysql_url, "everything")
    assert my_rows(dest, "child") == my_rows(mysql_url, "child")
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute("SHOW CREATE TABLE everything")
        ddl = cur.fetchone()[1]
        cur.execute("INSERT INTO everything (code) VALUES ('new')")
        assert cur.lastrowid == 3  # AUTO_INCREMENT past the rows copied
    assert "GENERATED ALWAYS" not in ddl or "`gen`" in ddl


def test_mysql_to_postgres_maps_types(store: Store, pg_url: str, mysql_url: str) -> None:
    my_execute(mysql_url, TYPES)
    api.create_task(TaskSpec("mypg", mysql_url, pg_url, types=parse_types("schema,full")), store)
    assert api.run_task("mypg", store=store) == "Completed", api.task_status("mypg", store)
    with psycopg.connect(pg_url) as conn:
        cols = [c.name for c in conn.execute("SELECT * FROM everything LIMIT 0").description]
        first, second = conn.execute("SELECT * FROM everything ORDER BY id").fetchall()
    row = dict(zip(cols, first, strict=True))
    assert row["biu"] == Decimal("18446744073709551615")
    assert row["tiu"] == 255 and row["siu"] == 65535 and row["iu"] == 4294967295
    assert row["f"] == pytest.approx(1.1) and str(row["f"]) == "1.1"
    assert row["bits"] == 0b1010101010
    assert row["ch"] == "ab   "  # char(5) padded by PostgreSQL, as its own char would be
    assert row["vc"] == "vé "
    assert row["bin"] == b"ab\x00\x00" and row["vb"] == b"\x00\xff"
    assert row["dtm"] == dt.datetime(2024, 1, 1, 10, 0, 0, 123000)
    assert row["ts"] == dt.datetime(2024, 1, 1, 10, 0, 0, 654321, tzinfo=dt.UTC)
    assert row["tm"] == dt.time(12, 34, 56)
    assert row["en"] == "a,b" and row["st"] == "x,z"
    assert row["js"] == {"b": 1, "a": [1, 2]}
    assert "gen" not in row
    assert dict(zip(cols, second, strict=True))["en"] == "it's"


def test_zero_dates_are_refused_or_read_as_null(store: Store, sqlite_dest, mysql_url: str) -> None:
    my_execute(mysql_url, "SET SESSION sql_mode = '';\n"
               "CREATE TABLE z (id int PRIMARY KEY, d date, t datetime);\n"
               "INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), "
               "(2, '2024-01-02', NULL)")
    api.create_task(TaskSpec("z1", mysql_url, sqlite_dest("z1"), types=parse_types("schema,full")),
                    store)
    assert api.run_task("z1", store=store) == "Failed"
    assert "zero date" in api.task_status("z1", store)["error"]
    lenient = mysql_url + "?zero_dates=null"
    api.create_task(TaskSpec("z2", lenient, sqlite_dest("z2"), types=parse_types("schema,full")),
                    store)
    assert api.run_task("z2", store=store) == "Completed", api.task_status("z2", store)


@pytest.fixture()
def sqlite_dest(tmp_path):  # type: ignore[no-untyped-def]
    return lambda name: f"sqlite:///{tmp_path / name}.db"


def test_tinyint1_is_boolean_unless_asked_otherwise(store: Store, pg_server,
                                                    mysql_url: str) -> None:
    my_execute(mysql_url, "CREATE TABLE f (id int PRIMARY KEY, ok tinyint(1));\n"
               "INSERT INTO f VALUES (1, 1), (2, 0), (3, NULL)")
    engine = engines.connect(mysql_url)
    plain = engines.connect(mysql_url + "?tinyint1=int")
    try:
        assert str(engine.reflect(["f"])[0].column("ok").type) == "boolean"
        assert str(plain.reflect(["f"])[0].column("ok").type) == "int16"
    finally:
        engine.close()
        plain.close()


def test_tables_left_out_are_skipped_inside_shared_transactions(store: Store, mysql_url: str,
                                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Capture asks the binlog only for the task's tables; a transaction that also writes a
    table left out still arrives whole."""
    my_execute(mysql_url, "CREATE TABLE kept (id int PRIMARY KEY, v text);\n"
               "CREATE TABLE skipped (id int PRIMARY KEY, v text)")
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("myskip", mysql_url, dest, exclude=("skipped",)), store)
    with running(store, "myskip"):
        wait_caught_up(store, "myskip")
        my_execute(mysql_url, "START TRANSACTION;\nINSERT INTO skipped VALUES (1, 'a');\n"
                   "INSERT INTO kept VALUES (1, 'b');\nUPDATE skipped SET v = 'c';\n"
                   "INSERT INTO kept VALUES (2, 'd');\nCOMMIT")
        wait_caught_up(store, "myskip")
    with sqlite3.connect(dest.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT id, v FROM kept ORDER BY id").fetchall() == [(1, "b"), (2, "d")]
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'skipped'").fetchall() == []


_WRITES = """
INSERT INTO everything (i, code, js, st, en, ts) SELECT seq, concat('g', seq), '[1]', 'y', 'plain',
    '2030-01-01 00:00:00' FROM seq_1_to_2000;
UPDATE everything SET vc = 'changed', f = 3.3, bits = b'11' WHERE id % 3 = 0;
UPDATE everything SET id = id + 100000 WHERE id = 5;
DELETE FROM everything WHERE id % 7 = 0;
UPDATE everything SET code = 'swap' WHERE code = 'c1';
UPDATE everything SET code = 'c1' WHERE code = 'c2';
INSERT INTO child VALUES (3, 1, 'z');
DELETE FROM everything WHERE id = 2
"""


def test_mysql_precheck_names_settings_and_fixes(store: Store, mariadb_server, mysql_url: str,
                                                 tmp_path) -> None:  # type: ignore[no-untyped-def]
    my_execute(mysql_url, "CREATE TABLE t (id int PRIMARY KEY);\nCREATE TABLE nokey (v int)")
    mariadb_server.sql("SET GLOBAL binlog_row_metadata = 'MINIMAL'")
    try:
        spec = TaskSpec("pre", mysql_url, f"sqlite:///{tmp_path / 'd.db'}")
        api.create_task(spec, store)
        assert api.run_task("pre", store=store) == "Failed"
        error = api.task_status("pre", store)["error"]
    finally:
        mariadb_server.sql("SET GLOBAL binlog_row_metadata = 'FULL'")
    assert "binlog_row_metadata = MINIMAL" in error and "SET GLOBAL binlog_row_metadata" in error
    assert "nokey" not in error  # a table without a key moves (by whole rows)


def test_sessions_and_freeze(mysql_url: str, mariadb_server) -> None:  # type: ignore[no-untyped-def]
    engine = engines.connect(mysql_url)
    other = _connect(mysql_url)
    try:
        with other.cursor() as cur:
            cur.execute("CREATE TABLE w (id int PRIMARY KEY)")
            cur.execute("BEGIN")
            cur.execute("INSERT INTO w VALUES (1)")
            listed = {s.id: s for s in engine.sessions()}
            cur.execute("SELECT CONNECTION_ID()")
            mine = str(cur.fetchone()[0])
            assert listed[mine].writing and not listed[mine].own
            assert any(s.own for s in listed.values())
            cur.execute("COMMIT")
            cur.execute("BEGIN")
            cur.execute("INSERT INTO w VALUES (2)")
        api.end_sessions(mysql_url, [mine])  # an open writer ends; its insert is rolled back
        assert mine not in {s.id for s in engine.sessions()}
        assert [r[0] for r in engine.all("SELECT id FROM w")] == [1]
        engine.freeze("switchover")
        assert mariadb_server.sql("SELECT @@GLOBAL.read_only").strip() == "1"
        engine.unfreeze()
        assert mariadb_server.sql("SELECT @@GLOBAL.read_only").strip() == "0"
    finally:
        other.close()
        engine.close()



def test_destination_account_without_write_privileges_is_refused_at_precheck(
    store: Store, mariadb_server, mysql_url: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "s.db"
    sqlite3.connect(src).executescript("CREATE TABLE t (id INTEGER PRIMARY KEY); "
                                       "INSERT INTO t VALUES (1);")
    database = mysql_url.rsplit("/", 1)[1]
    mariadb_server.sql(f"CREATE USER 'reader'@'%' IDENTIFIED BY 'pw';\n"
                       f"GRANT SELECT, INSERT ON `{database}`.* TO 'reader'@'%'")
    limited = mysql_url.replace("mysql://root@", "mysql://reader:pw@")
    api.create_task(TaskSpec("lim", f"sqlite:///{src}", limited), store)
    assert api.run_task("lim", store=store) == "Failed"
    error = api.task_status("lim", store)["error"]
    assert "lacks UPDATE, DELETE, CREATE, DROP, ALTER, INDEX" in error
    assert f"GRANT UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON `{database}`.* TO" in error
    assert "pw" not in error


def test_a_drain_reaches_its_marker_at_once_while_the_tables_are_idle(
        store: Store, mysql_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Idle tables move the checkpoint only every ADVANCE_IDLE_S (10 s), while heartbeats move
    the binlog's end each second: a drain waited for the next move. The marker's own row
    makes the capture hand its position out at once."""
    from turnout.switchover import steps

    execute(mysql_url, "CREATE TABLE idle (id int PRIMARY KEY)")
    api.create_task(TaskSpec("drain", mysql_url, f"sqlite:///{tmp_path / 'd.db'}"), store)
    said: list[str] = []
    with running(store, "drain"):
        wait_caught_up(store, "drain")
        journal = steps.Journal(store, "drain", said.append)
        steps.drain(store, "drain", 30, journal)  # the checkpoint has just moved: the next
        time.sleep(1.5)  # heartbeats pass it, and a drain waited until ten seconds after it
        begun = time.monotonic()
        steps.drain(store, "drain", 30, journal)
        took = time.monotonic() - begun
    assert took < 5, (took, said)
    api.delete_task("drain", store)
