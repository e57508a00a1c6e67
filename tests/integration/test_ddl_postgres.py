"""DDL on a PostgreSQL source during the incremental step, under a running writer: the
common changes are made on the destination in the stream's order, and the task never stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.integration.ddl import (
    AcctWriter,
    assert_ddl_made,
    ddl_under_writer,
    deleting,
    kill_through_ddl,
)
from tests.integration.helpers import running, same_rows, wait_caught_up
from turnout import api, engines
from turnout.spec import TaskSpec
from turnout.store import Store

ACCT = """
CREATE TABLE acct (id int PRIMARY KEY, name varchar(20), n int NOT NULL DEFAULT 0,
                   amount numeric(8,2));
INSERT INTO acct SELECT g, 'a' || g, g, g / 10.0 FROM generate_series(1, 500) g;
"""

# in the order of the most common changes; each runs while the writer writes
DDL = [
    "ALTER TABLE acct ADD COLUMN colour text NOT NULL DEFAULT 'red'",
    "UPDATE acct SET colour = 'blue' WHERE id % 7 = 0",
    "ALTER TABLE acct RENAME COLUMN name TO title",
    "UPDATE acct SET title = 'renamed' WHERE id % 5 = 0",
    "ALTER TABLE acct ADD COLUMN spare int",
    "UPDATE acct SET spare = id WHERE id % 3 = 0",
    "ALTER TABLE acct DROP COLUMN spare",
    "ALTER TABLE acct ALTER COLUMN title TYPE varchar(60)",
    "ALTER TABLE acct ALTER COLUMN n TYPE bigint",
    "ALTER TABLE acct ALTER COLUMN amount TYPE numeric(14,2)",
    "UPDATE acct SET n = 5000000000 + id, amount = 123456789.5 WHERE id % 11 = 0",
    "CREATE INDEX acct_n ON acct (n)",
]


class Writer(AcctWriter):
    """acct's writer on PostgreSQL."""

    seed = 20

    def run(self) -> None:
        with psycopg.connect(self.target, autocommit=True) as conn:
            conn.execute("SET synchronous_commit = on")
            for batch in self.batches():
                with conn.transaction():
                    for sql, params in batch:
                        conn.execute(sql, params)


@contextmanager
def writing(url: str) -> Iterator[Writer]:
    writer = Writer(url)
    writer.start()
    try:
        yield writer
    finally:
        writer.halt.set()
        writer.join(10)


def run_ddl(url: str, statements: list[str], pause: float = 0.15) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = on")
        for statement in statements:
            conn.execute(statement)
            time.sleep(pause)


@pytest.fixture()
def dest(request: pytest.FixtureRequest, pg_server) -> str:  # noqa: ANN001
    if request.param == "postgresql":
        return pg_server.create_database(f"ddl_dst_{time.time_ns()}")
    if request.param == "sqlite":
        return f"sqlite:///{request.getfixturevalue('tmp_path') / 'ddl.db'}"
    return request.getfixturevalue("mysql_url") + "_dst"


@pytest.mark.parametrize("dest", ["postgresql", "mysql", "sqlite"], indirect=True)
def test_common_ddl_is_made_in_order_under_a_writer(store: Store, pg_url: str,
                                                     dest: str) -> None:
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ddl", pg_url, dest), store)
    with deleting(store, "ddl"):
        ddl_under_writer(store, "ddl", Writer(pg_url), lambda: run_ddl(pg_url, DDL))
        assert_ddl_made(store, "ddl", pg_url, dest, least=8)


@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_kill_in_the_middle_of_a_ddl_sequence_changes_nothing(store: Store, pg_url: str,
                                                               dest: str) -> None:
    """The worker is killed (-9) again and again while the DDL runs: each restart makes
    what a DDL left half made, reads the rest with the layouts of its checkpoint, and the
    end is the same as without a kill."""
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ddlkill", pg_url, dest), store)
    sequence = threading.Thread(target=run_ddl, args=(pg_url, DDL, 0.25))
    with deleting(store, "ddlkill"), writing(pg_url) as writer:
        api.start_task("ddlkill", store)
        wait_caught_up(store, "ddlkill", timeout=60)
        sequence.start()
        kill_through_ddl(store, "ddlkill", pg_url, dest, sequence, writer)


@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_a_new_table_matching_the_pattern_is_created_and_followed(store: Store, pg_url: str,
                                                                   dest: str) -> None:
    """CREATE TABLE of a table --tables selects: built on the destination and its rows
    followed from the moment it exists; one the patterns leave out stays away."""
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ddlnew", pg_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "ddlnew"):
        with running(store, "ddlnew"), writing(pg_url) as writer:
            wait_caught_up(store, "ddlnew", timeout=60)
            run_ddl(pg_url, [
                "CREATE TABLE new_orders (id int PRIMARY KEY, acct int, note varchar(40))",
                "INSERT INTO new_orders SELECT g, g % 50, 'o' || g FROM generate_series(1, 300) g",
                "CREATE TABLE other_log (id int PRIMARY KEY, v text)",
                "INSERT INTO other_log VALUES (1, 'not moved')",
                "UPDATE new_orders SET note = 'changed' WHERE id % 4 = 0",
                "DELETE FROM new_orders WHERE id % 9 = 0",
                "CREATE INDEX new_orders_acct ON new_orders (acct)",
                "ALTER TABLE new_orders ADD COLUMN qty int NOT NULL DEFAULT 1",
            ], 0.1)
            time.sleep(0.3)
            writer.halt.set()
            writer.join(10)
            wait_caught_up(store, "ddlnew", timeout=60)
            assert api.task_status("ddlnew", store)["state"] == "Migrating"
        same_rows(pg_url, dest, ["acct", "new_orders"])
        engine = engines.connect(dest)
        assert not engine.table_exists("other_log")
        assert "new_orders_acct" in {i.name for i in engine.reflect(["new_orders"])[0].indexes}
