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
from tests.integration.test_keyless import multiset
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
    "CREATE TABLE fresh (id int PRIMARY KEY, note varchar(40))",
    "INSERT INTO fresh SELECT g, 'f' || g FROM generate_series(1, 200) g",
    "CREATE INDEX acct_amount ON acct (amount)",
    "UPDATE fresh SET note = 'changed' WHERE id % 4 = 0",
    "DROP INDEX acct_amount",
    "DELETE FROM fresh WHERE id % 9 = 0",
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
                "CREATE TABLE new_log (at int, what text)",  # no key: followed by whole rows
                "INSERT INTO new_log SELECT g % 7, 'l' || g FROM generate_series(1, 200) g",
                "INSERT INTO new_log SELECT g % 7, 'l' || g FROM generate_series(1, 20) g",
                "UPDATE new_log SET what = 'changed' WHERE at = 3",
                "DELETE FROM new_log WHERE at = 5",
            ], 0.1)
            time.sleep(0.3)
            writer.halt.set()
            writer.join(10)
            wait_caught_up(store, "ddlnew", timeout=60)
            assert api.task_status("ddlnew", store)["state"] == "Migrating"
        same_rows(pg_url, dest, ["acct", "new_orders"])
        assert multiset(pg_url, "new_log") == multiset(dest, "new_log")
        assert sum(multiset(dest, "new_log").values()) == 220 - 28 - 3
        engine = engines.connect(dest)
        assert not engine.table_exists("other_log")
        assert "new_orders_acct" in {i.name for i in engine.reflect(["new_orders"])[0].indexes}


def test_the_reverse_task_applies_ddl_made_on_the_new_primary(store: Store, pg_url: str,
                                                              pg_server) -> None:  # noqa: ANN001
    """After switchover the application writes to the destination, and its schema changes
    there too: the reverse task (destination → source) makes them on the old source in
    order with the rows, under a writer, so a rollback would find the same table."""
    dest = pg_server.create_database(f"ddl_back_{time.time_ns()}")
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ddlback", pg_url, dest), store)
    with deleting(store, "ddlback-reverse"), deleting(store, "ddlback"):
        api.start_task("ddlback", store)
        wait_caught_up(store, "ddlback", timeout=60)
        api.switchover("ddlback", store, grace=0, session_timeout=20)
        wait_caught_up(store, "ddlback-reverse", timeout=60)
        writer = Writer(dest)
        writer.start()
        try:
            run_ddl(dest, DDL)
            time.sleep(0.5)
        finally:
            writer.halt.set()
            writer.join(10)
        wait_caught_up(store, "ddlback-reverse", timeout=90)
        assert api.task_status("ddlback-reverse", store)["state"] == "Migrating"
        assert writer.transactions > 20
        assert_ddl_made(store, "ddlback-reverse", dest, pg_url, least=8, plant=False,
                        created=False)


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_create_table_as_of_a_selected_table_stops_the_task(store: Store, pg_url: str,
                                                            dest: str) -> None:
    """CREATE TABLE AS writes its rows before the event trigger runs, so the stream lacks
    them: the task stops naming the table, rather than create it without them."""
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ddlctas", pg_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "ddlctas"):
        with running(store, "ddlctas", expect=("Failed",)):
            wait_caught_up(store, "ddlctas", timeout=60)
            run_ddl(pg_url, ["CREATE TABLE other_copy AS SELECT * FROM acct",  # not selected
                             "INSERT INTO acct (id, n) VALUES (900001, 1)",
                             "CREATE TABLE new_copy AS SELECT * FROM acct"], 0)
            api.wait_for("ddlctas", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("ddlctas", store)["error"]
        assert "'new_copy'" in error and "CREATE TABLE AS" in error, error
        assert "--resnapshot" in error and "--exclude new_copy" in error, error
        with psycopg.connect(dest) as conn:  # everything before it is applied
            assert conn.execute("SELECT count(*) FROM acct WHERE id = 900001").fetchone() == (1,)


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_an_unlogged_new_table_is_refused_by_the_task_not_by_the_source(
        store: Store, pg_url: str, dest: str) -> None:
    """No publication takes an UNLOGGED table: the trigger leaves it out, so the
    application's CREATE works, and a task that selects it stops naming it."""
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ddlunl", pg_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "ddlunl"):
        with running(store, "ddlunl", expect=("Failed",)):
            wait_caught_up(store, "ddlunl", timeout=60)
            run_ddl(pg_url, ["CREATE UNLOGGED TABLE other_cache (id int PRIMARY KEY)",
                             "CREATE UNLOGGED TABLE other_scratch (v text)",
                             "INSERT INTO acct (id, n) VALUES (900002, 1)",
                             "CREATE UNLOGGED TABLE new_cache (id int PRIMARY KEY)"], 0)
            api.wait_for("ddlunl", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("ddlunl", store)["error"]
        assert "'new_cache'" in error and "UNLOGGED" in error, error
        assert "--exclude new_cache" in error, error
        with psycopg.connect(dest) as conn:
            assert conn.execute("SELECT count(*) FROM acct WHERE id = 900002").fetchone() == (1,)


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_a_resumed_task_remakes_an_older_turnout_s_trigger(store: Store, pg_url: str,
                                                           dest: str) -> None:
    """A task resumed under a newer turnout records DDL the newer way: the trigger's
    functions (and its table's columns) are made again at resume, here from a stand-in
    for an older trigger that recorded nothing and a DDL table without `renamed`."""
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ddlold", pg_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "ddlold"):
        with running(store, "ddlold"):
            wait_caught_up(store, "ddlold", timeout=60)
        run_ddl(pg_url, [
            "CREATE OR REPLACE FUNCTION public._turnout_ddl_record() RETURNS event_trigger "
            "LANGUAGE plpgsql AS $f$ BEGIN END $f$",
            "ALTER TABLE public._turnout_ddl DROP COLUMN renamed",
        ], 0)
        with running(store, "ddlold"):
            wait_caught_up(store, "ddlold", timeout=60)
            run_ddl(pg_url, [
                "CREATE TABLE new_log (at int, what text)",
                "INSERT INTO new_log SELECT g % 7, 'l' || g FROM generate_series(1, 200) g",
                "ALTER TABLE acct RENAME COLUMN name TO title",
                "UPDATE acct SET title = 'renamed' WHERE id % 5 = 0",
            ], 0.1)
            wait_caught_up(store, "ddlold", timeout=60)
            assert api.task_status("ddlold", store)["state"] == "Migrating"
        same_rows(pg_url, dest, ["acct"])
        assert multiset(pg_url, "new_log") == multiset(dest, "new_log")
