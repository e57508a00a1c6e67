"""TRUNCATE at the source while a task follows it: replicated in order, or a clean stop.

pgbench (a real client, run with its defaults) truncates pgbench_history at the start of
every run; MySQL logs TRUNCATE as a statement of its own between row events.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.integration.helpers import AppWriter, running, same_rows, wait_caught_up
from tests.integration.test_mysql import my_execute, my_rows
from turnout import api
from turnout.spec import Options, TaskSpec
from turnout.store import Store

PGBENCH_TABLES = ["pgbench_accounts", "pgbench_branches", "pgbench_history", "pgbench_tellers"]


def pgbench(url: str, *args: str) -> int:
    """Run pgbench; how many transactions it made (0 for -i)."""
    tool = shutil.which("pgbench")
    if tool is None:
        pytest.skip("pgbench is not installed (postgresql-contrib / postgresql-client)")
    done = subprocess.run([tool, *args, url], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    made = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    return int(made.group(1)) if made else 0


@pytest.mark.slow
def test_pgbench_with_its_defaults_runs_through_a_postgres_task(
    store: Store, pg_server: Any, pg_url: str
) -> None:
    pgbench(pg_url, "-i", "-q")
    with psycopg.connect(pg_url, autocommit=True) as conn:  # replication needs a key
        conn.execute("ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY")
    dest = pg_server.create_database(f"bench_{uuid.uuid4().hex[:8]}")
    api.create_task(TaskSpec("bench", pg_url, dest), store)
    with running(store, "bench"):
        wait_caught_up(store, "bench", timeout=120)
        first = pgbench(pg_url, "-T", "5")  # fills pgbench_history
        wait_caught_up(store, "bench", timeout=60)
        with psycopg.connect(dest) as conn:
            assert conn.execute("SELECT count(*) FROM pgbench_history").fetchone()[0] == first
        second = pgbench(pg_url, "-T", "5")  # truncates it first, then fills it again
        wait_caught_up(store, "bench", timeout=60)
        with psycopg.connect(dest) as conn:
            assert conn.execute("SELECT count(*) FROM pgbench_history").fetchone()[0] == second
        print(f"pgbench: {first} then {second} transactions replicated")
        status = api.task_status("bench", store)
        assert status["state"] == "Migrating" and status["error"] is None
    same_rows(pg_url, dest, PGBENCH_TABLES)


def test_truncate_in_a_postgres_transaction_applies_in_order_or_stops(
    store: Store, pg_server: Any, pg_url: str, tmp_path: Path, mysql_url: str
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE parent (id int PRIMARY KEY);"
                     "CREATE TABLE child (id int PRIMARY KEY, parent int REFERENCES parent);"
                     "INSERT INTO parent SELECT generate_series(1, 50);"
                     "INSERT INTO child SELECT g, g FROM generate_series(1, 50) g")
    dest = pg_server.create_database(f"trunc_{uuid.uuid4().hex[:8]}")
    stopping = pg_server.create_database(f"trunc_stop_{uuid.uuid4().hex[:8]}")
    api.create_task(TaskSpec("tr", pg_url, dest), store)
    api.create_task(TaskSpec("trstop", pg_url, stopping,
                             options=Options(on_truncate="stop")), store)
    lite = f"sqlite:///{tmp_path / 'lite.db'}"
    api.create_task(TaskSpec("trlite", pg_url, lite), store)
    mine = mysql_url + "_dst"
    api.create_task(TaskSpec("trmy", pg_url, mine), store)
    with running(store, "tr"), running(store, "trlite"), running(store, "trmy"), \
            running(store, "trstop", expect=("Failed",)):
        wait_caught_up(store, "tr")
        wait_caught_up(store, "trlite")
        wait_caught_up(store, "trmy")
        wait_caught_up(store, "trstop")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("INSERT INTO parent VALUES (51)")  # before: applied by both
            with conn.transaction():  # in one transaction: rows, the truncate, more rows
                conn.execute("INSERT INTO parent VALUES (52)")
                conn.execute("TRUNCATE parent CASCADE")
                conn.execute("INSERT INTO parent VALUES (1), (2)")
                conn.execute("INSERT INTO child VALUES (7, 2)")
        wait_caught_up(store, "tr")
        wait_caught_up(store, "trlite")
        wait_caught_up(store, "trmy")
        with pytest.raises(Exception, match="truncated at the source"):
            wait_caught_up(store, "trstop", timeout=20)
    same_rows(pg_url, dest, ["parent", "child"])
    same_rows(pg_url, lite, ["parent", "child"])
    same_rows(pg_url, mine, ["parent", "child"])
    error = api.task_status("trstop", store)["error"]
    assert "'child'" in error or "'parent'" in error
    assert "on_truncate" in error and "--resnapshot" in error
    with psycopg.connect(stopping) as conn:  # everything before the truncate, nothing after
        assert conn.execute("SELECT count(*), max(id) FROM parent").fetchone() == (51, 51)
        assert conn.execute("SELECT count(*) FROM child").fetchone() == (50,)


class LogWriter(AppWriter):
    """Appends to `log` and bumps counters in `acct`, several statements a transaction."""

    max_statements = 5

    def __init__(self, url: str) -> None:
        super().__init__(url, 1, seed=5)

    def one(self, cur: Any) -> None:
        if self.rng.random() < 0.7:
            cur.execute("INSERT INTO log (acct, note) VALUES (%s, 'x')", (self.rng.randint(1, 9),))
        else:
            cur.execute("UPDATE acct SET n = n + 1 WHERE id = %s", (self.rng.randint(1, 9),))


@pytest.mark.parametrize("to", ["postgresql", "mysql"])
def test_mysql_truncate_under_a_writer_is_replicated(
    store: Store, mysql_url: str, pg_server: Any, to: str
) -> None:
    my_execute(mysql_url, "CREATE TABLE acct (id int PRIMARY KEY, n int NOT NULL);\n"
               "CREATE TABLE log (id bigint AUTO_INCREMENT PRIMARY KEY, acct int, note text);\n"
               "INSERT INTO acct SELECT seq, 0 FROM seq_1_to_9")
    dest = (pg_server.create_database(f"mytr_{uuid.uuid4().hex[:8]}") if to == "postgresql"
            else mysql_url + "_copy")
    api.create_task(TaskSpec("mytr", mysql_url, dest), store)
    writer = LogWriter(mysql_url)
    with running(store, "mytr"):
        wait_caught_up(store, "mytr")
        writer.start()
        for _ in range(3):
            while len(my_rows(mysql_url, "log")) < 50:
                pass  # the writer is filling it
            my_execute(mysql_url, "TRUNCATE TABLE log")
        writer.halt.set()
        writer.join()
        wait_caught_up(store, "mytr")
        assert api.task_status("mytr", store)["state"] == "Migrating"
    assert writer.transactions > 20
    same_rows(mysql_url, dest, ["acct", "log"])


def test_mysql_truncate_stops_a_task_that_asks_for_it(store: Store, mysql_url: str,
                                                     pg_server: Any) -> None:
    my_execute(mysql_url, "CREATE TABLE log (id int PRIMARY KEY, note text);\n"
               "INSERT INTO log VALUES (1, 'copied')")
    dest = pg_server.create_database(f"mystop_{uuid.uuid4().hex[:8]}")
    api.create_task(TaskSpec("mystop", mysql_url, dest, options=Options(on_truncate="stop")),
                    store)
    with running(store, "mystop", expect=("Failed",)):
        wait_caught_up(store, "mystop")
        my_execute(mysql_url, "INSERT INTO log VALUES (2, 'before');\n"
                   "TRUNCATE TABLE log;\n"
                   "INSERT INTO log VALUES (3, 'after')")
        with pytest.raises(Exception, match="truncated at the source"):
            wait_caught_up(store, "mystop", timeout=20)
    with psycopg.connect(dest) as conn:
        assert conn.execute("SELECT id FROM log ORDER BY id").fetchall() == [(1,), (2,)]


def test_a_publication_made_beforehand_must_publish_truncate(store: Store, pg_server: Any,
                                                            pg_url: str) -> None:
    dest = pg_server.create_database(f"pub_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
        api.create_task(TaskSpec("pub", pg_url, dest), store)
        conn.execute(f"CREATE PUBLICATION turnout_{store.get('pub').capture_name} FOR TABLE t "
                     "WITH (publish = 'insert, update, delete')")
    assert api.run_task("pub", store=store) == "Failed"
    error = api.task_status("pub", store)["error"]
    assert "leaves out some kinds of change" in error and "publish = 'insert, update, " in error


def test_mysql_truncate_of_a_partition_stops_the_task(store: Store, mysql_url: str,
                                                      pg_server: Any) -> None:
    my_execute(mysql_url, "CREATE TABLE part (id int PRIMARY KEY, v int) PARTITION BY RANGE (id) "
               "(PARTITION p0 VALUES LESS THAN (100), PARTITION p1 VALUES LESS THAN MAXVALUE);\n"
               "INSERT INTO part SELECT seq, 0 FROM seq_1_to_200")
    dest = pg_server.create_database(f"mypart_{uuid.uuid4().hex[:8]}")
    api.create_task(TaskSpec("mypart", mysql_url, dest), store)
    with running(store, "mypart", expect=("Failed",)):
        wait_caught_up(store, "mypart")
        my_execute(mysql_url, "ALTER TABLE part TRUNCATE PARTITION p0")
        with pytest.raises(Exception, match="lost a partition's rows"):
            wait_caught_up(store, "mypart", timeout=20)


@pytest.mark.parametrize("to", ["postgresql", "mysql"])
def test_truncate_between_ddl_and_rows_applies_in_stream_order(
    store: Store, pg_server: Any, pg_url: str, mysql_url: str, to: str
) -> None:
    """One transaction adds a column, truncates, and writes rows with the new column, under a
    writer on another table: the destination is altered, emptied, then refilled, in that
    order, and the task goes on."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE acct (id int PRIMARY KEY, n int NOT NULL);"
                     "CREATE TABLE log (id bigserial PRIMARY KEY, acct int, note text);"
                     "INSERT INTO acct SELECT g, 0 FROM generate_series(1, 9) g;"
                     "INSERT INTO log (acct, note) SELECT g % 9, 'old' FROM "
                     "generate_series(1, 100) g")
    dest = (pg_server.create_database(f"trddl_{uuid.uuid4().hex[:8]}") if to == "postgresql"
            else mysql_url + "_dst")
    api.create_task(TaskSpec("trddl", pg_url, dest), store)
    writer = LogWriter(pg_url)
    try:
        with running(store, "trddl"):
            wait_caught_up(store, "trddl")
            writer.start()
            with psycopg.connect(pg_url, autocommit=True) as conn:
                for round_ in range(3):
                    with conn.transaction():
                        conn.execute("INSERT INTO log (acct, note) VALUES (1, 'before')")
                        conn.execute(f"ALTER TABLE log ADD COLUMN c{round_} int DEFAULT {round_}")
                        conn.execute("TRUNCATE log")
                        conn.execute(f"INSERT INTO log (acct, note, c{round_}) SELECT g, "
                                     f"'after', g FROM generate_series(1, 20) g")
                    time.sleep(0.3)  # the writer goes on between the rounds
            writer.halt.set()
            writer.join()
            wait_caught_up(store, "trddl", timeout=60)
            assert api.task_status("trddl", store)["state"] == "Migrating"
        assert writer.transactions > 5
        same_rows(pg_url, dest, ["acct", "log"])
    finally:
        writer.halt.set()
        api.delete_task("trddl", store, force=True)
