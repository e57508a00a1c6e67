"""MySQL beside the other engines, both directions, and what stops a MySQL-source task."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg

from tests.integration.helpers import chinook_under_writes, running, same_rows, wait_caught_up
from tests.integration.test_mysql import (
    _connect,
    my_execute,
    my_rows,
    purge_binlogs,
)
from tests.integration.test_postgres import TYPES as PG_TYPES
from turnout import api, engines
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store


def test_postgres_to_mysql_refuses_unfaithful_types_and_takes_casts(
    store: Store, pg_url: str, mysql_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(PG_TYPES)
    dest = mysql_url + "_pg"
    api.create_task(TaskSpec("pgmy", pg_url, dest, types=parse_types("schema,full")), store)
    assert api.run_task("pgmy", store=store) == "Failed"
    error = api.task_status("pgmy", store)["error"]
    assert "everything.ttz (time with time zone)" in error and "--cast everything.ttz=" in error
    assert "everything.iv (interval)" in error and "--cast everything.iv=" in error
    casts = {"everything": {"ttz": "text", "iv": "text"}}
    api.create_task(TaskSpec("pgmy2", pg_url, dest, types=parse_types("schema,full"),
                             casts=casts), store)
    assert api.run_task("pgmy2", store=store) == "Completed", api.task_status("pgmy2", store)
    first, second = my_rows(dest, "everything")
    with _connect(dest) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM everything LIMIT 0")
        row = dict(zip([d[0] for d in cur.description], first, strict=True))
    assert row["b"] == 9000000000 and str(row["n"]) == "12.34" and row["ok"] == 1
    assert row["raw"] == b"\x00\xff" and row["vc"] == "vé" and row["m"] == "happy"
    assert row["ttz"] == "12:00:00+02:00" and row["iv"] == "1 day 02:00:00"
    assert row["u"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert str(row["tstz"]) == "2024-01-01 10:00:00"  # UTC, as a datetime(6)
    assert second[-1] == "c2" and second[2] == 7
    assert my_rows(dest, "child") == [(1, 1, "x"), (2, 2, "y")]


def test_chinook_sqlite_to_mysql_and_back(store: Store, mysql_url: str, tmp_path: Path) -> None:
    tables = chinook_under_writes(store, "slmy", tmp_path / "chinook.db", mysql_url)
    back = tmp_path / "back.db"  # and MySQL → SQLite, full and incremental
    api.create_task(TaskSpec("mysl", mysql_url, f"sqlite:///{back}"), store)
    with running(store, "mysl"):
        wait_caught_up(store, "mysl", timeout=60)
        my_execute(mysql_url, "UPDATE Track SET Name = concat(Name, ' (live)') "
                   "WHERE TrackId < 50;\nDELETE FROM InvoiceLine WHERE InvoiceLineId > 2000")
        wait_caught_up(store, "mysl")
    same_rows(mysql_url, f"sqlite:///{back}", tables)


def test_ddl_on_a_mysql_source_is_made_and_a_renamed_table_is_followed(
    store: Store, mysql_url: str, tmp_path: Path
) -> None:
    my_execute(mysql_url, "CREATE TABLE item (id int PRIMARY KEY, name text)")
    dest = tmp_path / "d.db"
    api.create_task(TaskSpec("myddl", mysql_url, f"sqlite:///{dest}"), store)
    with running(store, "myddl"):
        wait_caught_up(store, "myddl")
        my_execute(mysql_url, "INSERT INTO item VALUES (1, 'before');\n"
                   "ALTER TABLE item ADD INDEX by_name (name(10));\n"
                   "INSERT INTO item VALUES (2, 'between');\n"
                   "ALTER TABLE item ADD COLUMN colour text;\n"
                   "INSERT INTO item VALUES (3, 'after', 'red')")
        wait_caught_up(store, "myddl")
    with sqlite3.connect(dest) as db:  # the column came in order with the rows
        assert db.execute("SELECT id, colour FROM item ORDER BY id").fetchall() == [
            (1, None), (2, None), (3, "red")]
    same_rows(mysql_url, f"sqlite:///{dest}", ["item"])
    renamed = f"sqlite:///{tmp_path / 'e.db'}"  # a rename is followed (docs/ddl.md)
    api.create_task(TaskSpec("myren", mysql_url, renamed), store)
    with running(store, "myren"):
        wait_caught_up(store, "myren")
        my_execute(mysql_url, "RENAME TABLE item TO item_old;\n"
                   "INSERT INTO item_old VALUES (4, 'renamed', 'blue')")
        wait_caught_up(store, "myren")
        assert api.task_status("myren", store)["state"] == "Migrating"
    same_rows(mysql_url, renamed, ["item_old"])
    assert not engines.connect(renamed).table_exists("item")


def test_resume_from_a_purged_binlog_fails_clearly(store: Store, mariadb_server, mysql_url: str,
                                                   tmp_path: Path) -> None:
    my_execute(mysql_url, "CREATE TABLE item (id int PRIMARY KEY, name text)")
    api.create_task(TaskSpec("mypurge", mysql_url, f"sqlite:///{tmp_path / 'd.db'}"), store)
    with running(store, "mypurge"):
        wait_caught_up(store, "mypurge")
    my_execute(mysql_url, "INSERT INTO item VALUES (1, 'lost unless re-copied')")
    purge_binlogs(mariadb_server)
    assert api.run_task("mypurge", store=store) == "Failed"
    error = api.task_status("mypurge", store)["error"]
    assert "has been purged" in error and "--resnapshot" in error
    api.start_task("mypurge", store, resnapshot=True)  # the way out: copy afresh
    wait_caught_up(store, "mypurge")
    my_execute(mysql_url, "INSERT INTO item VALUES (2, 'and captured again')")
    wait_caught_up(store, "mypurge")
    api.stop_task("mypurge", store)
    same_rows(mysql_url, f"sqlite:///{tmp_path / 'd.db'}", ["item"])
