"""RENAME TABLE of a moved table, followed under a running writer: the destination table
takes the new name, the rows written under it keep flowing, and the task never stops; for
PostgreSQL and MySQL sources into both, with a restart and with kill -9 in the middle.

The task selects acct by its exact name, so the new names are not selected by --tables:
the task follows the table it moves, not the name (docs/ddl.md)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.integration.ddl import deleting, kill_through_ddl
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_ddl_mysql import ACCT as MYSQL_ACCT
from tests.integration.test_ddl_mysql import run_sql
from tests.integration.test_ddl_postgres import ACCT as PG_ACCT
from tests.integration.test_ddl_postgres import run_ddl
from tests.integration.test_mysql import _connect
from turnout import api, engines
from turnout.spec import TaskSpec
from turnout.store import Store

# (statement, the table's name once it ran) in order; each runs while the writer writes
SEQUENCES = {
    "postgresql": [
        ("ALTER TABLE acct RENAME TO acct2", "acct2"),
        ("ALTER TABLE acct2 ADD COLUMN colour text NOT NULL DEFAULT 'red'", "acct2"),
        ("UPDATE acct2 SET colour = 'blue' WHERE id % 7 = 0", "acct2"),
        ("ALTER TABLE acct2 RENAME TO acct3", "acct3"),
        ("UPDATE acct3 SET colour = 'green' WHERE id % 5 = 0", "acct3"),
    ],
    "mysql": [
        ("RENAME TABLE acct TO acct2", "acct2"),
        ("ALTER TABLE acct2 ADD COLUMN colour varchar(20) NOT NULL DEFAULT 'red'", "acct2"),
        ("UPDATE acct2 SET colour = 'blue' WHERE id % 7 = 0", "acct2"),
        ("ALTER TABLE `acct2` RENAME TO acct3", "acct3"),
        ("UPDATE acct3 SET colour = 'green' WHERE id % 5 = 0", "acct3"),
    ],
}


def source_of(kind: str, request: pytest.FixtureRequest) -> str:
    if kind == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
        run_ddl(url, [PG_ACCT], 0)
    else:
        url = str(request.getfixturevalue("mysql_url"))
        run_sql(url, MYSQL_ACCT)
    return url


def dest_of(kind: str, request: pytest.FixtureRequest) -> str:
    if kind == "postgresql":
        return str(request.getfixturevalue("pg_server").create_database(
            f"renf_dst_{time.time_ns()}"))
    return str(request.getfixturevalue("mysql_url")) + "_dst"


def connect(url: str) -> Any:
    return psycopg.connect(url) if url.startswith("postgresql") else _connect(url)


class RenamingWriter(threading.Thread):
    """Inserts and updates rows of the table called `table` (the test moves it along right
    after each RENAME) until halted; a transaction the RENAME broke is rolled back and
    written again under the new name, so every transaction lands once."""

    def __init__(self, url: str, first_id: int = 10_000) -> None:
        super().__init__(daemon=True)
        self.url, self.table, self.halt = url, "acct", threading.Event()
        self.first_id = first_id
        self.transactions, self.retried = 0, 0
        self.errors: list[str] = []  # the last errors a RENAME caused, for a failed assertion
        self.rng = random.Random(23)

    def run(self) -> None:
        conn = connect(self.url)
        next_id = self.first_id
        try:
            while not self.halt.is_set():
                batch = []
                for _ in range(self.rng.randint(1, 4)):
                    if self.rng.random() < 0.5:
                        batch.append(("INSERT INTO {} (id, n) VALUES (%s, %s)",
                                      (next_id, next_id)))
                        next_id += 1
                    else:
                        batch.append(("UPDATE {} SET n = n + 1 WHERE id = %s",
                                      (self.rng.randint(1, 600),)))
                while not self._wrote(conn, batch):
                    self.retried += 1
                    if self.halt.wait(0.02):
                        return
                self.transactions += 1
                time.sleep(0.005)
        finally:
            conn.close()

    def begin(self) -> None:
        """Start, and return once a first transaction is in (a loaded box may take seconds
        to connect, and the RENAMEs are to happen under a writer)."""
        self.start()
        deadline = time.monotonic() + 60
        while self.transactions == 0 and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.transactions > 0, self.errors

    def _wrote(self, conn: Any, batch: list[tuple[str, tuple[int, ...]]]) -> bool:
        try:
            if hasattr(conn, "begin"):  # PyMySQL under turnout's autocommit: one transaction,
                conn.begin()  # or a batch half written before the RENAME is written twice
            with conn.cursor() as cur:
                for sql, params in batch:
                    cur.execute(sql.format(self.table), params)
            conn.commit()
            return True
        except Exception as exc:  # noqa: BLE001 - the table was renamed under the transaction
            self.errors = [*self.errors[-4:], f"{type(exc).__name__}: {exc}"]
            conn.rollback()
            return False


def renaming(url: str, writer: RenamingWriter, pause: float) -> Callable[[], None]:
    """Run the source engine's sequence, moving the writer to each new name."""
    kind = "postgresql" if url.startswith("postgresql") else "mysql"

    def run() -> None:
        conn = connect(url)
        try:
            for statement, table in SEQUENCES[kind]:
                with conn.cursor() as cur:
                    cur.execute(statement)
                conn.commit()
                writer.table = table
                time.sleep(pause)
        finally:
            conn.close()

    return run


def tables_on(url: str) -> set[str]:
    engine = engines.connect(url)
    try:
        return {t for t in engine.list_tables() if t.startswith("acct")}
    finally:
        engine.close()


PAIRS = [("postgresql", "postgresql"), ("postgresql", "mysql"), ("mysql", "postgresql"),
         ("mysql", "mysql")]


@pytest.mark.parametrize(("source_kind", "dest_kind"), PAIRS)
def test_a_renamed_table_is_followed_under_a_writer(
        store: Store, request: pytest.FixtureRequest, source_kind: str, dest_kind: str) -> None:
    source, dest = source_of(source_kind, request), dest_of(dest_kind, request)
    api.create_task(TaskSpec("renf", source, dest, tables=("acct",)), store)
    with deleting(store, "renf"):
        with running(store, "renf"):
            wait_caught_up(store, "renf", timeout=60)  # before the writer: never idle after
            writer = RenamingWriter(source)
            writer.begin()
            renaming(source, writer, 0.3)()
            time.sleep(0.3)
            writer.halt.set()
            writer.join(10)
            wait_caught_up(store, "renf", timeout=60)
            status = api.task_status("renf", store)
            assert status["state"] == "Migrating", status
        assert writer.transactions > 20, writer.errors
        assert tables_on(dest) == {"acct3"}
        same_rows(source, dest, ["acct3"])
        assert [(t["source"], t["dest"]) for t in api.task_status("renf", store)["tables"]] \
            == [("acct3", "acct3")]
        made = [e["message"] for e in api.events("renf", store=store)
                if e["message"].startswith("DDL on acct")]
        assert sum("RENAME TO" in m for m in made) == 2, made
        # a restart reads the stream by the names its checkpoint keeps
        with running(store, "renf"):
            wait_caught_up(store, "renf", timeout=60)
            writer = RenamingWriter(source, first_id=500_000)
            writer.table = "acct3"
            writer.begin()
            time.sleep(0.5)
            writer.halt.set()
            writer.join(10)
            wait_caught_up(store, "renf", timeout=60)
            assert api.task_status("renf", store)["state"] == "Migrating"
        assert writer.transactions > 5, writer.errors
        same_rows(source, dest, ["acct3"])


@pytest.mark.parametrize(("source_kind", "dest_kind"),
                         [("postgresql", "postgresql"), ("mysql", "mysql")])
def test_kill_in_the_middle_of_renames_changes_nothing(
        store: Store, request: pytest.FixtureRequest, source_kind: str, dest_kind: str) -> None:
    source, dest = source_of(source_kind, request), dest_of(dest_kind, request)
    api.create_task(TaskSpec("renkill", source, dest, tables=("acct",)), store)
    writer = RenamingWriter(source)
    sequence = threading.Thread(target=renaming(source, writer, 0.45))
    with deleting(store, "renkill"):
        api.start_task("renkill", store)
        wait_caught_up(store, "renkill", timeout=60)
        writer.begin()
        sequence.start()
        kill_through_ddl(store, "renkill", source, dest, sequence, writer, table="acct3")
        assert tables_on(dest) == {"acct3"}
        assert writer.transactions > 20, (writer.transactions, writer.retried, writer.errors)


@pytest.mark.parametrize(("source_kind", "dest_kind"),
                         [("postgresql", "mysql"), ("mysql", "postgresql")])
def test_a_table_renamed_while_the_task_is_stopped_is_followed_at_its_start(
        store: Store, request: pytest.FixtureRequest, source_kind: str, dest_kind: str) -> None:
    """The stream still has the rows under the old name, then the RENAME: the task reads
    them by the names its checkpoint keeps, though the source has the old name no more."""
    source, dest = source_of(source_kind, request), dest_of(dest_kind, request)
    api.create_task(TaskSpec("renoff", source, dest), store)
    with deleting(store, "renoff"):
        with running(store, "renoff"):
            wait_caught_up(store, "renoff", timeout=60)
        statements = ["INSERT INTO acct (id, n) VALUES (900000, 1)",
                      "ALTER TABLE acct RENAME TO acct2",
                      "INSERT INTO acct2 (id, n) VALUES (900001, 1)",
                      "UPDATE acct2 SET n = -1 WHERE id = 900000"]
        with connect(source) as conn:
            for statement in statements:
                with conn.cursor() as cur:
                    cur.execute(statement)
                conn.commit()
        with running(store, "renoff"):
            wait_caught_up(store, "renoff", timeout=60)
            assert api.task_status("renoff", store)["state"] == "Migrating"
        assert tables_on(dest) == {"acct2"}
        same_rows(source, dest, ["acct2"])


def test_a_table_with_its_own_destination_name_keeps_it(
        store: Store, request: pytest.FixtureRequest) -> None:
    """--rename acct=accounts: the destination table keeps the name the task gave it, and the
    table's other options (a column renamed) follow it under its new source name; verify
    compares the renamed tables. A renamed table with a serial column gets its destination
    sequence moved past its values at the stop, under its new name."""
    source, dest = source_of("postgresql", request), dest_of("postgresql", request)
    run_ddl(source, ["CREATE TABLE tick (id serial PRIMARY KEY, v int)",
                     "INSERT INTO tick (v) SELECT g FROM generate_series(1, 50) g"], 0)
    api.create_task(TaskSpec("renmap", source, dest, table_renames={"acct": "accounts"},
                             column_renames={"acct": {"name": "label"}}), store)
    with deleting(store, "renmap"):
        with running(store, "renmap"):
            wait_caught_up(store, "renmap", timeout=60)
            writer = RenamingWriter(source)
            writer.begin()
            renaming(source, writer, 0.3)()
            writer.halt.set()
            writer.join(10)
            run_ddl(source, ["ALTER TABLE tick RENAME TO tock",
                             "INSERT INTO tock (v) VALUES (51), (52)"], 0)
            wait_caught_up(store, "renmap", timeout=60)
            assert api.task_status("renmap", store)["state"] == "Migrating"
        assert writer.transactions > 20
        assert tables_on(dest) == set()
        engine = engines.connect(dest)
        assert [c.name for c in engine.reflect(["accounts"])[0].columns] == [
            "id", "label", "n", "amount", "colour"]
        report = api.verify_task("renmap", store)
        assert report["consistent"], report
        assert sorted((t["source"], t["dest"]) for t in report["tables"]) == [
            ("acct3", "accounts"), ("tock", "tock")]
        with psycopg.connect(dest) as conn:  # the next id written there is past the copied ones
            assert conn.execute("SELECT nextval('tick_id_seq')").fetchone()[0] == 53


def test_a_mysql_swap_of_tables_stops_the_task_naming_it(
        store: Store, request: pytest.FixtureRequest) -> None:
    """RENAME TABLE of several tables at once (a swap, as online schema change tools end)
    is not followed: the task stops at it with every change before it applied."""
    source, dest = source_of("mysql", request), dest_of("postgresql", request)
    run_sql(source, ["CREATE TABLE acct_new LIKE acct"])
    api.create_task(TaskSpec("renswap", source, dest, tables=("acct",)), store)
    with deleting(store, "renswap"):
        with running(store, "renswap", expect=("Failed",)):
            wait_caught_up(store, "renswap", timeout=60)
            run_sql(source, ["INSERT INTO acct (id, n) VALUES (900000, 1)",
                             "RENAME TABLE acct TO acct_old, acct_new TO acct"])
            api.wait_for("renswap", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("renswap", store)["error"]
        assert "'acct'" in error and "swap" in error and "--resnapshot" in error, error
        with psycopg.connect(dest) as conn:  # the row before the swap arrived
            assert conn.execute("SELECT id FROM acct WHERE id >= 900000").fetchall() == [
                (900000,)]
