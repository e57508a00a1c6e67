"""Tables without a primary key (nor a unique key of NOT NULL columns), on real servers.

Their rows are told apart by nothing but their values, so duplicates must stay duplicates:
the destination must hold exactly the source's multiset of rows, after the full step, after
a copy that stopped part-way and started again (it starts that table from empty), and after
the incremental step replayed an application's changes to equal rows, through a stop and
start and through kill -9.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from turnout import api, engines
from turnout.errors import BadInput
from turnout.migrate import full, setup
from turnout.spec import Options, TaskSpec, parse_types
from turnout.store import Store

from .bank import kill_worker
from .helpers import execute, insert_sql, running, wait_caught_up
from .pairs import kind, over

PAIRS = [("sqlite", "sqlite"), ("postgresql", "postgresql"), ("mysql", "postgresql"),
         ("postgresql", "mysql")]
ALL_PAIRS = PAIRS + [("mysql", "mysql"), ("sqlite", "postgresql"), ("postgresql", "sqlite"),
                     ("sqlite", "mysql"), ("mysql", "sqlite")]
DDL = {
    "postgresql": "CREATE TABLE logs (n int, msg varchar(20), note text)",
    "mysql": "CREATE TABLE logs (n int, msg varchar(20), note text)",
    "sqlite": "CREATE TABLE logs (n INTEGER, msg VARCHAR(20), note TEXT)",
}
# duplicates, rows of NULLs only, NULL beside '' : what a log table without a key holds
ROWS: list[tuple[Any, ...]] = (
    [(1, "x", "dup")] * 3 + [(None, None, None)] * 4 + [(2, "", None), (2, None, "")] * 2
    + [(i % 9, f"m{i % 5}", None if i % 3 else "n") for i in range(120)]
)


def multiset(url: str, table: str = "logs") -> Counter[tuple[Any, ...]]:
    """The table's rows as read by turnout, counted."""
    engine = engines.connect(url)
    try:
        return Counter(tuple(row) for row in engine.iter_rows(engine.reflect([table])[0]))
    finally:
        engine.close()


def consistent(source: str, dest: str) -> dict[str, Any]:
    report = api.verify_urls(source, dest, ["logs"])
    logs = next(t for t in report["tables"] if t["source"] == "logs")
    assert not logs["keyed"]
    assert report["consistent"], logs
    return logs


@over(*PAIRS)
def test_full_step_copies_a_table_without_a_key_duplicates_included(
        store: Store, urls: tuple[str, str]) -> None:
    source, dest = urls
    execute(source, DDL[kind(source)], insert_sql(source, "logs", ROWS))
    api.create_task(TaskSpec("copy", source, dest, types=parse_types("schema,full"),
                             options=Options(chunk_rows=16)), store)
    assert api.run_task("copy", None, store) == "Completed", api.task_status("copy", store)
    assert multiset(dest) == multiset(source) == Counter(ROWS)
    assert consistent(source, dest)["rows_dest"] == len(ROWS)


@over(*PAIRS[:3])
def test_a_copy_stopped_part_way_starts_the_table_again_from_empty(
        store: Store, urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    source, dest = urls
    execute(source, DDL[kind(source)], insert_sql(source, "logs", ROWS))
    api.create_task(TaskSpec("copy", source, dest, types=parse_types("schema,full"),
                             options=Options(chunk_rows=16)), store)
    commit = full._Copier._commit
    stop_after: list[Any] = []

    def commit_then_stop(self: Any, span: Any, rows: int, last: Any, *more: Any) -> None:
        commit(self, span, rows, last, *more)
        if span.rows >= 32:  # two chunks committed, the table half copied
            self.job.stop.set()
            stop_after.append(span.rows)

    monkeypatch.setattr(full._Copier, "_commit", commit_then_stop)
    assert api.run_task("copy", None, store) == "Stopped"
    assert stop_after and sum(multiset(dest).values()) == stop_after[0] < len(ROWS)
    monkeypatch.setattr(full._Copier, "_commit", commit)
    assert api.run_task("copy", None, store) == "Completed", api.task_status("copy", store)
    assert multiset(dest) == Counter(ROWS)
    consistent(source, dest)


ONE_ROW = {  # how each engine changes one row of several equal ones
    "postgresql": ("DELETE FROM logs WHERE ctid = (SELECT ctid FROM logs WHERE {w} LIMIT 1)",
                   "UPDATE logs SET n = n + 1 WHERE ctid = (SELECT ctid FROM logs WHERE {w} "
                   "LIMIT 1)"),
    "mysql": ("DELETE FROM logs WHERE {w} LIMIT 1", "UPDATE logs SET n = n + 1 WHERE {w} LIMIT 1"),
    "sqlite": ("DELETE FROM logs WHERE rowid = (SELECT rowid FROM logs WHERE {w} LIMIT 1)",
               "UPDATE logs SET n = n + 1 WHERE rowid = (SELECT rowid FROM logs WHERE {w} "
               "LIMIT 1)"),
}
# 'x', 'X' and 'x ' are three values: a case-insensitive, space-padding collation on the
# destination must not take one for another
MSGS = ["'x'", "'X'", "'x '", "''", "NULL", "'it''s'"]


class LogWriter(threading.Thread):
    """An application writing to the table without a key: duplicates in, one of several
    equal rows out or changed, many rows at once, NULLs."""

    def __init__(self, url: str, seed: int) -> None:
        super().__init__(daemon=True)
        self.url, self.rng = url, random.Random(seed)
        self.halt = threading.Event()
        self.statements = 0
        self.error: BaseException | None = None

    def statement(self) -> str:
        rng = self.rng
        n, msg, note = rng.randint(0, 4), rng.choice(MSGS), rng.choice(["'u'", "NULL", "'v'"])
        row = f"({n}, {msg}, {note})"
        where = f"n = {n}" if rng.random() < 0.7 else "n IS NULL"
        one_delete, one_update = ONE_ROW[kind(self.url)]
        return rng.choice([
            f"INSERT INTO logs VALUES {row}",
            f"INSERT INTO logs VALUES {row}, {row}, (NULL, NULL, NULL)",
            one_delete.format(w=where),
            one_update.format(w=where),
            f"UPDATE logs SET note = {note} WHERE n = {n}",
            f"UPDATE logs SET msg = {msg} WHERE {where}",
            f"DELETE FROM logs WHERE n = {n} AND note IS NULL",
        ])

    def run(self) -> None:
        engine = engines.connect(self.url)
        reader = engine.verify_reader()
        try:
            cur = reader.conn.cursor()
            while not self.halt.is_set():
                cur.execute(self.statement())
                self.statements += 1
                time.sleep(0.003)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            self.error = exc
        finally:
            reader.close()
            engine.close()

    def finish(self) -> None:
        self.halt.set()
        self.join(30)
        assert self.error is None, self.error
        assert self.statements > 30


def keyless_task(store: Store, urls: tuple[str, str], name: str) -> LogWriter:
    source, dest = urls
    statements = [DDL[kind(source)], insert_sql(source, "logs", ROWS)]
    if kind(source) == "postgresql":
        statements.append("ALTER TABLE logs REPLICA IDENTITY FULL")
    execute(source, *statements)
    api.create_task(TaskSpec(name, source, dest, options=Options(chunk_rows=16,
                                                                 batch_changes=50)), store)
    return LogWriter(source, seed=len(name))


def caught_up_and_same(store: Store, name: str, urls: tuple[str, str], writer: LogWriter) -> None:
    writer.finish()
    wait_caught_up(store, name, timeout=60)
    api.stop_task(name, store)
    source, dest = urls
    assert multiset(dest) == multiset(source)
    consistent(source, dest)


@over(*ALL_PAIRS)
def test_changes_to_equal_rows_keep_the_multiset_through_a_stop_and_start(
        store: Store, urls: tuple[str, str]) -> None:
    name = "inc-" + "-".join(map(kind, urls))  # slot names are server-wide
    writer = keyless_task(store, urls, name)
    writer.start()  # writes from before the copy's snapshot on: none may count twice
    try:
        with running(store, name):
            api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
            time.sleep(0.5)
        time.sleep(0.3)  # stopped while the application keeps writing
        with running(store, name):
            api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
            time.sleep(0.5)
            caught_up_and_same(store, name, urls, writer)
    finally:
        writer.halt.set()


@pytest.mark.slow
@over(*PAIRS)
def test_kill_9_during_the_incremental_step_applies_no_change_twice(
        store: Store, urls: tuple[str, str]) -> None:
    name = "kill-" + "-".join(map(kind, urls))
    writer = keyless_task(store, urls, name)
    writer.start()
    rng = random.Random(3)
    try:
        api.start_task(name, store)
        api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
        for _ in range(3):
            time.sleep(rng.uniform(0.1, 0.5))
            kill_worker(store, name)
            api.start_task(name, store)
            api.wait_for(name, lambda s: s["phase"] == "incremental" and s["pid"], 60, store)
        caught_up_and_same(store, name, urls, writer)
    finally:
        writer.halt.set()
        if api.task_status(name, store)["pid"]:
            kill_worker(store, name)


def test_precheck_asks_for_replica_identity_full_with_a_statement_that_works(
        store: Store, pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, DDL["postgresql"], insert_sql(pg_url, "logs", ROWS))
    api.create_task(TaskSpec("identity", pg_url, f"sqlite:///{tmp_path / 'd.db'}"), store)
    assert api.run_task("identity", None, store) == "Failed"
    error = api.task_status("identity", store)["error"]
    assert "'logs' has no primary key" in error, error
    fix = re.search(r"ALTER TABLE \S+ REPLICA IDENTITY FULL", error)
    assert fix is not None, error
    execute(pg_url, fix.group(0))
    with running(store, "identity"):
        api.wait_for("identity", lambda s: s["phase"] == "incremental", 60, store)
        execute(pg_url, "DELETE FROM logs WHERE ctid = (SELECT ctid FROM logs WHERE n = 1 "
                        "LIMIT 1)", "UPDATE logs SET msg = 'y' WHERE n IS NULL")
        wait_caught_up(store, "identity")
    assert multiset(f"sqlite:///{tmp_path / 'd.db'}") == multiset(pg_url)


@over(*PAIRS[:3])
def test_a_copy_stopped_part_way_while_capture_runs_never_counts_a_change_twice(
        store: Store, urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The table is copied again from empty in a new view; changes up to that view are in
    it. PostgreSQL places only the view its slot exported: there the run says to start
    again with --resnapshot, which makes a new slot and so a new view."""
    name = "part-" + "-".join(map(kind, urls))
    writer = keyless_task(store, urls, name)
    commit = full._Copier._commit

    def commit_then_stop(self: Any, span: Any, rows: int, last: Any, *more: Any) -> None:
        commit(self, span, rows, last, *more)
        if span.rows >= 32:
            self.job.stop.set()

    monkeypatch.setattr(full._Copier, "_commit", commit_then_stop)
    writer.start()
    try:
        assert api.run_task(name, None, store) == "Stopped"
        monkeypatch.setattr(full._Copier, "_commit", commit)
        if kind(urls[0]) == "postgresql":
            assert api.run_task(name, None, store) == "Failed"
            error = api.task_status(name, store)["error"]
            assert "'logs' has no key" in error and "--resnapshot" in error, error
            setup.resnapshot(store, name)
        with running(store, name):
            api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
            time.sleep(0.3)
            caught_up_and_same(store, name, urls, writer)
    finally:
        writer.halt.set()


@over(*PAIRS[1:3])
def test_a_transaction_larger_than_a_batch_arrives_whole(
        store: Store, urls: tuple[str, str]) -> None:
    """It is held until its commit rather than handed out in pieces, whose replay after a
    crash would insert its rows twice."""
    source, dest = urls
    name = "big-" + "-".join(map(kind, urls))
    keyless_task(store, urls, name)
    rows = [(7, "big", None)] * 180 + [(None, None, None)] * 40
    one = ONE_ROW[kind(source)][0].format(w="n = 7 AND msg = 'big'")
    with running(store, name):
        api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
        engine = engines.connect(source)
        reader = engine.verify_reader()
        try:
            cur = reader.conn.cursor()
            cur.execute("BEGIN")
            cur.execute(insert_sql(source, "logs", rows))
            cur.execute("UPDATE logs SET note = 'z' WHERE n IS NULL")
            for _ in range(30):
                cur.execute(one)
            cur.execute("COMMIT")
        finally:
            reader.close()
            engine.close()
        wait_caught_up(store, name)
    assert multiset(dest) == multiset(source)
    assert multiset(dest)[(7, "big", None)] == 150


@over(*PAIRS[1:2])
def test_verify_reports_a_lost_duplicate_and_repair_refuses_with_the_fix(
        store: Store, urls: tuple[str, str]) -> None:
    source, dest = urls
    execute(source, DDL[kind(source)], insert_sql(source, "logs", ROWS))
    api.create_task(TaskSpec("copy", source, dest, types=parse_types("schema,full")), store)
    assert api.run_task("copy", None, store) == "Completed"
    execute(dest, ONE_ROW["postgresql"][0].format(w="n = 1 AND msg = 'x'"))
    report = api.verify_task("copy", store)
    logs = next(t for t in report["tables"] if t["source"] == "logs")
    assert not report["consistent"] and logs["missing"] == [[1, "x", "dup"]]
    with pytest.raises(BadInput, match="no primary key.*--resnapshot"):
        api.verify_task("copy", store, repair="dest", apply=True)


def test_precheck_reads_a_table_without_a_key_for_values_the_destination_cannot_hold(
        store: Store, pg_url: str, mysql_url: str) -> None:
    execute(pg_url, "CREATE TABLE odd (ts timestamp, note text)",
            "INSERT INTO odd VALUES ('2024-01-01', 'plain'), ('infinity', 'far')")
    api.create_task(TaskSpec("odd", pg_url, mysql_url, types=parse_types("schema,full")), store)
    assert api.run_task("odd", None, store) == "Failed"
    error = api.task_status("odd", store)["error"]
    assert any(line.startswith("odd.ts holds a value past its type's range") and
               "(odd key infinity, far)" in line and "--cast odd.ts=text" in line
               for line in error.splitlines()), error


@over(*PAIRS[:2])
def test_after_switchover_the_reverse_task_carries_changes_to_equal_rows_back(
        store: Store, urls: tuple[str, str]) -> None:
    """The reverse task captures the destination's table without a key (a PostgreSQL
    destination got REPLICA IDENTITY FULL from the schema step) and applies by whole rows."""
    source, dest = urls
    name = "back-" + "-".join(map(kind, urls))
    keyless_task(store, urls, name)
    api.start_task(name, store)
    try:
        api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
        api.switchover(name, store, grace=0, session_timeout=20)
        one_delete, one_update = ONE_ROW[kind(dest)]
        execute(dest, "INSERT INTO logs VALUES (1, 'x', 'dup'), (NULL, NULL, NULL)",
                one_delete.format(w="n = 1 AND msg = 'x'"),
                one_update.format(w="n IS NULL"))
        api.wait_caught_up(f"{name}-reverse", 30, store)
        assert multiset(source) == multiset(dest)
        assert multiset(source)[(1, "x", "dup")] == 3
        api.finish(name, store)
    finally:
        for task in (name, f"{name}-reverse"):
            if any(t["name"] == task for t in api.list_tasks(store)) and \
                    api.task_status(task, store)["pid"]:
                kill_worker(store, task)
