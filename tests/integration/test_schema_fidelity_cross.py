"""Schema objects across engines (MySQL ↔ PostgreSQL, SQLite where it applies): every unique
key and default arrives, names are kept where legal and unique where they must be, and what
cannot be carried is refused at precheck or reported in an event."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.integration.helpers import running, wait_caught_up
from tests.integration.test_mysql import _connect, my_execute
from turnout import api
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store

TWINS = """
CREATE TABLE a (id int PRIMARY KEY, email varchar(80), UNIQUE KEY email (email));
CREATE TABLE b (id int PRIMARY KEY, email varchar(80), a_id int,
                UNIQUE KEY email (email), KEY a_id (a_id),
                CONSTRAINT b_belongs_to_a FOREIGN KEY (a_id) REFERENCES a (id));
INSERT INTO a VALUES (1, 'x@example.com');
INSERT INTO b VALUES (1, 'x@example.com', 1)
"""


def pg_indexes(url: str) -> dict[str, tuple[str, bool]]:
    """Index name → (table, unique) in the public schema, primary keys left out."""
    with psycopg.connect(url) as conn:
        return {name: (table, unique) for name, table, unique in conn.execute(
            "SELECT ic.relname, t.relname, i.indisunique FROM pg_index i "
            "JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public' "
            "AND NOT i.indisprimary AND t.relname NOT LIKE '\\_turnout%'").fetchall()}


def test_mysql_to_postgres_builds_every_unique_key_with_names_unique_per_schema(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, TWINS)
    api.create_task(TaskSpec("twins", mysql_url, pg_url), store)
    with running(store, "twins"):
        wait_caught_up(store, "twins")
        my_execute(mysql_url, "INSERT INTO b VALUES (2, 'y@example.com', 1)")
        wait_caught_up(store, "twins")
    indexes = pg_indexes(pg_url)
    assert indexes["a_email"] == ("a", True) and indexes["b_email"] == ("b", True)
    assert indexes["a_id"] == ("b", False)  # unique in the schema already: kept
    with psycopg.connect(pg_url) as conn:
        for table in ("a", "b"):
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute(f"INSERT INTO {table} (id, email) VALUES (9, 'x@example.com')")
            conn.rollback()
        fks = conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'f'").fetchall()
    assert fks == [("b_belongs_to_a",)]
    events = " ".join(e["message"] for e in api.events("twins", store=store))
    assert "index 'email' of 'b' is 'b_email'" in events
    assert "not carried" not in events  # built under its new name: nothing to add by hand
    report = api.verify_task("twins", store, level="schema")  # keys compared by their columns
    assert report["consistent"], report


def test_sqlite_takes_twin_index_names_too(store: Store, mysql_url: str, tmp_path: Path) -> None:
    my_execute(mysql_url, TWINS)
    dest = f"sqlite:///{tmp_path / 'twins.db'}"
    api.create_task(TaskSpec("twsl", mysql_url, dest, types=parse_types("schema,full")), store)
    assert api.run_task("twsl", store=store) == "Completed", api.task_status("twsl", store)
    import sqlite3

    db = sqlite3.connect(tmp_path / "twins.db")
    names = dict(db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' "
                            "AND name NOT LIKE 'sqlite_%'").fetchall())
    assert names["a_email"] == "a" and names["b_email"] == "b"


def test_an_index_name_held_by_another_relation_stops_the_task_naming_both(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE t (id int PRIMARY KEY, v int, KEY blocker (v))")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE blocker (x int)")
    api.create_task(TaskSpec("blk", mysql_url, pg_url, types=parse_types("schema,full")), store)
    assert api.run_task("blk", store=store) == "Failed"
    error = api.task_status("blk", store)["error"]
    assert error.startswith("cannot build index 'blocker' of table 't': schema 'public' "
                            "already has another relation called so"), error
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE blocker RENAME TO elsewhere")
    assert api.run_task("blk", store=store) == "Completed", api.task_status("blk", store)
    assert pg_indexes(pg_url)["blocker"] == ("t", False)


def test_a_failed_unique_index_build_is_retried_not_skipped(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    """The build fails on rows the destination holds; the next run builds it, never skips it."""
    my_execute(mysql_url, "CREATE TABLE u (id int PRIMARY KEY, code int, UNIQUE KEY code (code));\n"
                          "INSERT INTO u VALUES (1, 1), (2, 2)")
    api.create_task(TaskSpec("uq", mysql_url, pg_url, types=parse_types("schema")), store)
    assert api.run_task("uq", store=store) == "Completed"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP INDEX code")
        conn.execute("INSERT INTO u VALUES (1, 5), (2, 5)")
    api.create_task(TaskSpec("uq2", mysql_url, pg_url, types=parse_types("schema")), store)
    assert api.run_task("uq2", store=store) == "Failed"
    error = api.task_status("uq2", store)["error"]
    assert error.startswith("cannot build unique index 'code' of table 'u' on (code)"), error
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM u WHERE id = 2")
    assert api.run_task("uq2", store=store) == "Completed"
    assert pg_indexes(pg_url)["code"] == ("u", True)


LONG = "t" * 60 + "_one"  # 64 characters: MySQL's limit, one over PostgreSQL's
LONG_TWIN = "t" * 60 + "_two"  # the same first 63 characters but one


def test_names_over_the_destination_limit_are_refused_with_the_rename_that_works(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, f"CREATE TABLE {LONG} (id int PRIMARY KEY, {LONG_TWIN} int);\n"
                          f"CREATE TABLE {LONG_TWIN} (id int PRIMARY KEY);\n"
                          f"INSERT INTO {LONG} VALUES (1, 2)")
    api.create_task(TaskSpec("long", mysql_url, pg_url, types=parse_types("schema,full")), store)
    assert api.run_task("long", store=store) == "Failed"
    lines = api.task_status("long", store)["error"].splitlines()
    assert f"table {LONG!r}: its name {LONG!r} is 64 bytes, PostgreSQL allows 63: add " \
           f"--rename {LONG}=SHORTER" in lines
    assert f"{LONG}.{LONG_TWIN}: the column name is 64 bytes, PostgreSQL allows 63: add " \
           f"--rename {LONG}.{LONG_TWIN}=SHORTER" in lines
    assert len(lines) == 3, lines
    with psycopg.connect(pg_url) as conn:  # refused before anything was written
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                            ).fetchone() == (0,)
    renames = {LONG: "one", LONG_TWIN: "two"}
    api.create_task(TaskSpec("long2", mysql_url, pg_url, types=parse_types("schema,full"),
                             table_renames=renames, column_renames={LONG: {LONG_TWIN: "two"}}),
                    store)
    assert api.run_task("long2", store=store) == "Completed", api.task_status("long2", store)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT id, two FROM one").fetchall() == [(1, 2)]


def test_names_one_where_case_does_not_count_are_refused(
    store: Store, pg_url: str, mysql_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute('CREATE TABLE "Item" (id int PRIMARY KEY, "Code" int, code int);'
                     'CREATE TABLE item (id int PRIMARY KEY)')
    api.create_task(TaskSpec("case", pg_url, mysql_url + "_case",
                             types=parse_types("schema,full"), tables=["Item"]), store)
    assert api.run_task("case", store=store) == "Failed"
    assert api.task_status("case", store)["error"] == (
        "table 'Item': columns 'Code', 'code' would be one column on MySQL, where case does "
        "not count: add --rename Item.code=OTHER")
    dest = f"sqlite:///{tmp_path / 'case.db'}"
    api.create_task(TaskSpec("case2", pg_url, dest, types=parse_types("schema,full"),
                             column_renames={"Item": {"code": "code2"}}), store)
    assert api.run_task("case2", store=store) == "Failed"
    assert api.task_status("case2", store)["error"] == (
        "tables 'Item', 'item' would be one table on SQLite, where case does not count in "
        "table names: add --rename item=OTHER")


DEFAULTS_MY = r"""
SET SESSION sql_mode = '';
CREATE TABLE account (
    id int PRIMARY KEY,
    plan varchar(20) NOT NULL DEFAULT 'free',
    quote varchar(20) DEFAULT 'it''s a\\b',
    credits int NOT NULL DEFAULT 0,
    ratio decimal(5,2) DEFAULT -1.50,
    active tinyint(1) NOT NULL DEFAULT 1,
    note text DEFAULT 'none',
    born date DEFAULT '2000-01-01',
    created datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
    changed timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
    token varchar(36) DEFAULT (uuid()),
    legacy datetime NULL DEFAULT '0000-00-00 00:00:00'
)"""


def test_mysql_to_postgres_keeps_defaults_and_names_what_it_cannot(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, DEFAULTS_MY)
    api.create_task(TaskSpec("dflt", mysql_url, pg_url, types=parse_types("schema")), store)
    assert api.run_task("dflt", store=store) == "Completed", api.task_status("dflt", store)
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("INSERT INTO account (id) VALUES (1)")
        row = conn.execute("SELECT plan, quote, credits, ratio, active, note, born, "
                           "created > now() - interval '1 hour', changed IS NOT NULL, token "
                           "FROM account").fetchone()
    assert row[:6] == ("free", "it's a\\b", 0, Decimal("-1.50"), True, "none")
    assert row[6:] == (date(2000, 1, 1), True, True, None)
    warnings = [e["message"] for e in api.events("dflt", store=store) if e["level"] == "warning"]
    assert "account.token: its default uuid() has no equivalent on PostgreSQL and is left " \
           "out: set a default there by hand if the application relies on it" in warnings
    assert any(w.startswith("account.changed: ON UPDATE CURRENT_TIMESTAMP(3) has no equivalent "
                            "on PostgreSQL") for w in warnings), warnings
    assert any(w.startswith("account.legacy: its default '0000-00-00 00:00:00' has no "
                            "equivalent") for w in warnings), warnings


DEFAULTS_PG = r"""
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE account (
    id int PRIMARY KEY,
    plan varchar(20) NOT NULL DEFAULT 'free',
    quote text DEFAULT 'it''s a\b',
    credits int NOT NULL DEFAULT 0,
    debt int DEFAULT -3,
    active boolean NOT NULL DEFAULT true,
    feeling mood DEFAULT 'happy',
    doc jsonb DEFAULT '{}',
    created timestamp(0) NOT NULL DEFAULT now(),
    seen timestamptz DEFAULT CURRENT_TIMESTAMP,
    day date DEFAULT CURRENT_DATE,
    token uuid DEFAULT gen_random_uuid()
)"""


def test_postgres_to_mysql_keeps_defaults(store: Store, pg_url: str, mysql_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(DEFAULTS_PG)
    dest = mysql_url + "_d"
    api.create_task(TaskSpec("pgd", pg_url, dest, types=parse_types("schema")), store)
    assert api.run_task("pgd", store=store) == "Completed", api.task_status("pgd", store)
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute("SET time_zone = '+05:00'")  # an application's own zone
        cur.execute("INSERT INTO account (id) VALUES (1)")
        cur.execute("SELECT plan, quote, credits, debt, active, feeling, doc, "
                    "created <= utc_timestamp() + INTERVAL 5 HOUR, "
                    "abs(timestampdiff(MINUTE, seen, utc_timestamp())) < 5, day IS NOT NULL, "
                    "token FROM account")
        row = cur.fetchone()
    assert row == ("free", "it's a\\b", 0, -3, 1, "happy", "{}", 1, 1, 1, None)
    warnings = [e["message"] for e in api.events("pgd", store=store) if e["level"] == "warning"]
    assert [w for w in warnings if "gen_random_uuid()" in w], warnings


def test_mysql_to_sqlite_keeps_defaults(store: Store, mysql_url: str, tmp_path: Path) -> None:
    my_execute(mysql_url, DEFAULTS_MY)
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("mysl", mysql_url, dest, types=parse_types("schema")), store)
    assert api.run_task("mysl", store=store) == "Completed", api.task_status("mysl", store)
    import sqlite3

    db = sqlite3.connect(tmp_path / "d.db")
    db.execute("INSERT INTO account (id) VALUES (1)")
    row = db.execute("SELECT plan, quote, credits, active, note, born, created IS NOT NULL "
                     "FROM account").fetchone()
    assert row == ("free", "it's a\\b", 0, 1, "none", "2000-01-01", 1)


TIMES_MY = """
CREATE TABLE k (id int PRIMARY KEY, ok tinyint(1), d0 datetime, d3 datetime(3),
                t0 timestamp NULL, t6 timestamp(6) NULL, tm time, tm2 time(2));
INSERT INTO k VALUES (1, 1, '2024-01-01 10:00:00', '2024-01-01 10:00:00.123',
                      '2024-01-01 10:00:00', '2024-01-01 10:00:00.123456', '10:00:00',
                      '10:00:00.25')
"""
PG_TYPES = {"ok": "boolean", "d0": "timestamp(0) without time zone",
            "d3": "timestamp(3) without time zone", "t0": "timestamp(0) with time zone",
            "t6": "timestamp(6) with time zone", "tm": "time(0) without time zone",
            "tm2": "time(2) without time zone"}


def pg_types(url: str, table: str) -> dict[str, str]:
    with psycopg.connect(url) as conn:
        return dict(conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid "
            "= %s::regclass AND attnum > 0 AND NOT attisdropped", (table,)).fetchall())


def my_types(url: str, table: str) -> dict[str, str]:
    with _connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT column_name, column_type FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = %s", (table,))
        return dict(cur.fetchall())


def test_mysql_types_arrive_app_ready_and_values_written_on_postgres_come_back_exactly(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, TIMES_MY)
    api.create_task(TaskSpec("app", mysql_url, pg_url, types=parse_types("schema,full")), store)
    assert api.run_task("app", store=store) == "Completed", api.task_status("app", store)
    assert pg_types(pg_url, "k") == {"id": "integer", **PG_TYPES}
    # PostgreSQL → MySQL gives back the source's own types (timestamptz: datetime holding UTC,
    # since MySQL's timestamp ends in 2038)
    api.create_task(TaskSpec("back", pg_url, mysql_url + "_b", types=parse_types("schema")),
                    store)
    assert api.run_task("back", store=store) == "Completed", api.task_status("back", store)
    source = my_types(mysql_url, "k")
    assert my_types(mysql_url + "_b", "k") == {**source, "t0": "datetime", "t6": "datetime(6)"}
    # what the reverse task does after switchover: writes on PostgreSQL into the source's tables
    api.create_task(TaskSpec("rev", pg_url, mysql_url, types=parse_types("incremental")), store)
    with running(store, "rev"):
        wait_caught_up(store, "rev")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("SET TIME ZONE 'UTC'")
            conn.execute("INSERT INTO k VALUES (2, false, '2024-02-02 10:00:00.6', "
                         "'2024-02-02 10:00:00.1234', '2024-02-02 10:00:00.4+00', "
                         "'2024-02-02 10:00:00.654321+00', '23:59:59.4', '10:00:00.256')")
        wait_caught_up(store, "rev")
    with _connect(mysql_url) as conn, conn.cursor() as cur:
        cur.execute("SET time_zone = '+00:00'")
        cur.execute("SELECT ok, CAST(d0 AS char), CAST(d3 AS char), CAST(t0 AS char), "
                    "CAST(t6 AS char), CAST(tm AS char), CAST(tm2 AS char) FROM k WHERE id = 2")
        row = cur.fetchone()
    with psycopg.connect(pg_url) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        pg_row = conn.execute("SELECT ok::int, d0::text, d3::text, t0::text, t6::text, "
                              "tm::text, tm2::text FROM k WHERE id = 2").fetchone()
    assert row == (0, "2024-02-02 10:00:01", "2024-02-02 10:00:00.123", "2024-02-02 10:00:00",
                   "2024-02-02 10:00:00.654321", "23:59:59", "10:00:00.26")
    assert pg_row[:3] == row[:3] and pg_row[5:] == row[5:]


def test_a_tinyint1_holding_other_values_is_refused_with_the_option_that_keeps_it(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE f (id int PRIMARY KEY, ok tinyint(1), b tinyint(1));\n"
                          "INSERT INTO f VALUES (1, 1, 0), (2, 0, 1), (3, 2, NULL), (4, -1, 1)")
    api.create_task(TaskSpec("tb", mysql_url, pg_url, types=parse_types("schema,full")), store)
    assert api.run_task("tb", store=store) == "Failed"
    assert api.task_status("tb", store)["error"] == (
        "f.ok (tinyint(1)): the row with key (3) holds 2, which is neither true nor false: add "
        "?tinyint1=int to the source URL to keep tinyint(1) columns integers, or "
        "--cast f.ok=int16 for this one")
    api.create_task(TaskSpec("tb2", mysql_url + "?tinyint1=int", pg_url,
                             types=parse_types("schema,full")), store)
    assert api.run_task("tb2", store=store) == "Completed", api.task_status("tb2", store)
    assert pg_types(pg_url, "f")["ok"] == "smallint"
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT ok FROM f ORDER BY id").fetchall() == [(1,), (0,), (2,), (-1,)]


def test_a_tinyint1_value_written_later_that_no_boolean_holds_stops_the_task(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE f (id int PRIMARY KEY, ok tinyint(1));\n"
                          "INSERT INTO f VALUES (1, 1)")
    api.create_task(TaskSpec("tl", mysql_url, pg_url), store)
    with running(store, "tl", expect=("Failed",)):
        wait_caught_up(store, "tl")
        my_execute(mysql_url, "INSERT INTO f VALUES (7, 3)")
        api.wait_for("tl", lambda s: s["state"] == "Failed", 30, store)
    error = api.task_status("tl", store)["error"]
    assert error.startswith("f.ok: the row with key (7) holds 3, which a PostgreSQL boolean "
                            "cannot hold: keep the column an integer"), error


def test_a_sqlite_boolean_holding_other_values_is_refused_going_to_postgres(
    store: Store, pg_url: str, tmp_path: Path
) -> None:
    import sqlite3

    db = sqlite3.connect(tmp_path / "b.db")
    db.executescript("CREATE TABLE f (id INTEGER PRIMARY KEY, ok BOOLEAN DEFAULT TRUE);"
                     "INSERT INTO f VALUES (1, 1), (2, 0), (3, 'yes')")
    db.close()
    source = f"sqlite:///{tmp_path / 'b.db'}"
    api.create_task(TaskSpec("slb", source, pg_url, types=parse_types("schema,full")), store)
    assert api.run_task("slb", store=store) == "Failed"
    assert api.task_status("slb", store)["error"] == (
        "f.ok (BOOLEAN): the row with key (3) holds 'yes', which is neither true nor false: "
        "give the column a type that holds it, such as --cast f.ok=int16 (or text)")
    db = sqlite3.connect(tmp_path / "b.db")
    db.execute("UPDATE f SET ok = 1 WHERE id = 3")
    db.commit()
    db.close()
    assert api.run_task("slb", store=store) == "Completed", api.task_status("slb", store)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT ok FROM f ORDER BY id").fetchall() == [(True,), (False,),
                                                                           (True,)]
        conn.execute("INSERT INTO f (id) VALUES (4)")
        assert conn.execute("SELECT ok FROM f WHERE id = 4").fetchone() == (True,)


def test_postgres_foreign_key_names_per_table_become_unique_per_database_in_mysql(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE parent (id int PRIMARY KEY);"
                     "CREATE TABLE a (id int PRIMARY KEY, p int CONSTRAINT to_parent "
                     "REFERENCES parent);"
                     "CREATE TABLE b (id int PRIMARY KEY, p int CONSTRAINT to_parent "
                     "REFERENCES parent, q int CONSTRAINT b_own REFERENCES parent);"
                     "INSERT INTO parent VALUES (1); INSERT INTO a VALUES (1, 1);"
                     "INSERT INTO b VALUES (1, 1, 1)")
    dest = mysql_url + "_fk"
    api.create_task(TaskSpec("fkn", pg_url, dest, types=parse_types("schema,full")), store)
    assert api.run_task("fkn", store=store) == "Completed", api.task_status("fkn", store)
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute("SELECT table_name, constraint_name FROM "
                    "information_schema.referential_constraints WHERE constraint_schema = "
                    "DATABASE() ORDER BY 1, 2")
        assert cur.fetchall() == (("a", "a_to_parent"), ("b", "b_own"), ("b", "b_to_parent"))


def test_a_destination_made_when_tinyint1_was_an_integer_is_refused_with_the_option(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    """Tables an earlier turnout made (tinyint(1) as smallint) and a source now read with
    booleans: precheck says so instead of failing on the first row."""
    my_execute(mysql_url, "CREATE TABLE f (id int PRIMARY KEY, ok tinyint(1));\n"
                          "INSERT INTO f VALUES (1, 1)")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE f (id int PRIMARY KEY, ok smallint)")
    api.create_task(TaskSpec("old", mysql_url, pg_url, types=parse_types("full")), store)
    assert api.run_task("old", store=store) == "Failed"
    assert api.task_status("old", store)["error"] == (
        "f.ok (tinyint(1)) is read as a boolean, but the destination has it as smallint: keep "
        "it an integer (?tinyint1=int on a MySQL source URL, or --cast f.ok=int16)")
    api.create_task(TaskSpec("old2", mysql_url + "?tinyint1=int", pg_url,
                             types=parse_types("full")), store)
    assert api.run_task("old2", store=store) == "Completed", api.task_status("old2", store)
