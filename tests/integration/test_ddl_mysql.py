"""DDL on a MySQL/MariaDB source during the incremental step, under a running writer: read
from the binlog's QUERY events, made on the destination in order, and the task never stops."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.ddl import (
    AcctWriter,
    assert_ddl_made,
    caught_up_then_kill_through_ddl,
    ddl_under_writer,
    deleting,
)
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_mysql import _connect
from turnout import api, engines
from turnout.migrate import plan
from turnout.spec import TaskSpec
from turnout.store import Store

ACCT = [
    "CREATE TABLE acct (id int PRIMARY KEY, name varchar(20), n int NOT NULL DEFAULT 0, "
    "amount decimal(8,2))",
    "INSERT INTO acct WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g "
    "WHERE i < 500) SELECT i, concat('a', i), i, i / 10 FROM g",
]

DDL = [
    "ALTER TABLE acct ADD COLUMN colour varchar(20) NOT NULL DEFAULT 'red'",
    "UPDATE acct SET colour = 'blue' WHERE id % 7 = 0",
    "ALTER TABLE acct RENAME COLUMN name TO title",
    "UPDATE acct SET title = 'renamed' WHERE id % 5 = 0",
    "ALTER TABLE `acct` ADD COLUMN spare int",
    "UPDATE acct SET spare = id WHERE id % 3 = 0",
    "ALTER TABLE acct DROP COLUMN spare",
    "ALTER TABLE acct MODIFY COLUMN title varchar(60)",
    "ALTER TABLE acct MODIFY n bigint NOT NULL DEFAULT 0",
    "ALTER TABLE acct MODIFY amount decimal(14,2)",
    "UPDATE acct SET n = 5000000000 + id, amount = 123456789.5 WHERE id % 11 = 0",
    "CREATE TABLE fresh (id int PRIMARY KEY, note varchar(40))",
    "INSERT INTO fresh WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g "
    "WHERE i < 200) SELECT i, concat('f', i) FROM g",
    "CREATE INDEX acct_amount ON acct (amount)",
    "UPDATE fresh SET note = 'changed' WHERE id % 4 = 0",
    "DROP INDEX acct_amount ON acct",
    "DELETE FROM fresh WHERE id % 9 = 0",
    "CREATE INDEX acct_n ON acct (n)",
    "GRANT SELECT ON acct TO CURRENT_USER",  # not the task's DDL: passes by
]


def run_sql(url: str, statements: list[str], pause: float = 0.0) -> None:
    with _connect(url) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)
            conn.commit()
            time.sleep(pause)


class Writer(AcctWriter):
    """acct's writer on MySQL."""

    seed = 21

    def run(self) -> None:
        with _connect(self.target) as conn, conn.cursor() as cur:
            for batch in self.batches():
                for sql, params in batch:
                    cur.execute(sql, params)
                conn.commit()


@pytest.fixture()
def dest(request: pytest.FixtureRequest, pg_server) -> str:  # noqa: ANN001
    if request.param == "postgresql":
        return pg_server.create_database(f"myddl_dst_{time.time_ns()}")
    return request.getfixturevalue("mysql_url") + "_dst"


@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_common_ddl_from_the_binlog_is_made_in_order(store: Store, mysql_url: str,
                                                      dest: str) -> None:
    run_sql(mysql_url, ACCT)
    api.create_task(TaskSpec("myddl", mysql_url, dest), store)
    with deleting(store, "myddl"):
        ddl_under_writer(store, "myddl", Writer(mysql_url), lambda: run_sql(mysql_url, DDL, 0.15))
        assert_ddl_made(store, "myddl", mysql_url, dest, least=8)


@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_kill_in_the_middle_of_binlog_ddl_changes_nothing(store: Store, mysql_url: str,
                                                           dest: str) -> None:
    run_sql(mysql_url, ACCT)
    api.create_task(TaskSpec("myddlkill", mysql_url, dest), store)
    sequence = threading.Thread(target=run_sql, args=(mysql_url, DDL, 0.25))
    writer = Writer(mysql_url)
    with deleting(store, "myddlkill"):
        caught_up_then_kill_through_ddl(store, "myddlkill", mysql_url, dest, sequence, writer)


@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_a_new_table_matching_the_pattern_is_created_and_followed(store: Store, mysql_url: str,
                                                                   dest: str) -> None:
    run_sql(mysql_url, ACCT)
    api.create_task(TaskSpec("mynew", mysql_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "mynew"):
        with running(store, "mynew"):
            wait_caught_up(store, "mynew", timeout=60)
            run_sql(mysql_url, [
                "CREATE TABLE new_orders (id int PRIMARY KEY, acct int, note varchar(40))",
                "INSERT INTO new_orders WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                "FROM g WHERE i < 300) SELECT i, i % 50, concat('o', i) FROM g",
                "CREATE TABLE other_log (id int PRIMARY KEY, v text)",
                "INSERT INTO other_log VALUES (1, 'not moved')",
                "UPDATE new_orders SET note = 'changed' WHERE id % 4 = 0",
                "DELETE FROM new_orders WHERE id % 9 = 0",
                "CREATE INDEX new_orders_acct ON new_orders (acct)",
                "ALTER TABLE new_orders ADD COLUMN qty int NOT NULL DEFAULT 1",
            ], 0.1)
            wait_caught_up(store, "mynew", timeout=60)
            assert api.task_status("mynew", store)["state"] == "Migrating"
        same_rows(mysql_url, dest, ["acct", "new_orders"])
        engine = engines.connect(dest)
        assert not engine.table_exists("other_log")
        assert "new_orders_acct" in {i.name for i in engine.reflect(["new_orders"])[0].indexes}


def test_a_resume_during_a_copying_alter_still_sees_the_table(mysql_url: str) -> None:
    """MariaDB's table listing misses a table at the moment an ALTER that copies it swaps its
    files in (a worker restarted then once failed with "no table … matches"): the task's
    known tables are looked for again before one counts as gone."""
    run_sql(mysql_url, ACCT)
    halt = threading.Event()

    def alter() -> None:
        with _connect(mysql_url) as conn, conn.cursor() as cur:
            wide = False
            while not halt.is_set():
                cur.execute(f"ALTER TABLE acct MODIFY n {'bigint' if wide else 'int'} NOT NULL")
                wide = not wide

    spec = TaskSpec("look", mysql_url, "sqlite:///unused.db")
    src = engines.connect(mysql_url)
    altering = threading.Thread(target=alter)
    altering.start()
    try:
        seen = [plan._source_tables(src, spec, frozenset({"acct"}))[0] for _ in range(400)]
    finally:
        halt.set()
        altering.join(30)
        src.close()
    assert all(names == ["acct"] for names in seen)
