"""Schema objects across engines (MySQL ↔ PostgreSQL, SQLite where it applies): every unique
key and default arrives, names are kept where legal and unique where they must be, and what
cannot be carried is refused at precheck or reported in an event."""

from __future__ import annotations

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
