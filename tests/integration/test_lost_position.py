"""Capture lost while a task is stopped: the task fails with the fix, never skips the changes.

A PostgreSQL slot dropped or invalidated, a SQLite change log trimmed or its triggers dropped:
starting again must not set capture up anew at the log's end (the changes committed in between
would be skipped without a word); `--resnapshot` copies the tables afresh. Capture set up by a
run that died before it saved where capture starts is still used from its own start.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_postgres_capture import execute
from turnout import api, engines
from turnout.engines.sqlite.triggers import log_table
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store
from turnout.testing.servers import PgServer, start_postgres

ITEMS = "CREATE TABLE item (id int PRIMARY KEY, name text)"


def inserts(first: int, last: int) -> str:
    return f"INSERT INTO item SELECT g, 'row ' || g FROM generate_series({first}, {last}) g"


def slot_of(store: Store, task: str) -> str:
    return f"turnout_{store.get(task).capture_name}"


def slot_row(store: Store, url: str, task: str) -> tuple | None:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s",
                            (slot_of(store, task),)).fetchone()


def fails_with_the_fix(store: Store, task: str, *words: str) -> str:
    """Run the task: it must fail, in one line that names the fix."""
    with running(store, task, expect=("Failed",)):
        error = api.wait_for(task, lambda s: s["state"] == "Failed", 60, store)["error"]
    assert "--resnapshot" in error and "\n" not in error, error
    assert not error.startswith("unexpected"), error
    assert all(w in error for w in words), error
    return str(error)


def resnapshot_catches_up(store: Store, task: str) -> None:
    api.start_task(task, store, resnapshot=True)
    try:
        wait_caught_up(store, task)
    finally:
        api.stop_task(task, store)


def stopped_after_catching_up(store: Store, task: str) -> None:
    with running(store, task):
        wait_caught_up(store, task)


def test_a_dropped_slot_fails_the_task_and_resnapshot_recovers(
    store: Store, pg_url: str, tmp_path: Path
) -> None:
    execute(pg_url, ITEMS, inserts(1, 3))
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("dropped", pg_url, dest), store)
    stopped_after_catching_up(store, "dropped")
    slot = slot_of(store, "dropped")
    execute(pg_url, inserts(4, 128), f"SELECT pg_drop_replication_slot('{slot}')")
    fails_with_the_fix(store, "dropped", "is gone", slot_of(store, "dropped"))
    assert slot_row(store, pg_url, "dropped") is None  # not put back at the WAL's end
    resnapshot_catches_up(store, "dropped")
    execute(pg_url, inserts(129, 130))
    stopped_after_catching_up(store, "dropped")
    same_rows(pg_url, dest, ["item"])
    with sqlite3.connect(tmp_path / "d.db") as db:
        assert db.execute("SELECT count(*) FROM item").fetchone()[0] == 130


def test_a_slot_read_past_the_task_s_position_fails_the_task_and_resnapshot_recovers(
    store: Store, pg_url: str, tmp_path: Path
) -> None:
    """Someone else streamed from the task's slot and confirmed further (a task of the same
    name from another store): the server would start after those changes, so the task
    fails naming the slot instead of skipping them."""
    execute(pg_url, ITEMS, inserts(1, 3))
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("readpast", pg_url, dest), store)
    stopped_after_catching_up(store, "readpast")
    execute(pg_url, inserts(4, 50),
            f"SELECT pg_replication_slot_advance('{slot_of(store, 'readpast')}', "
            "pg_current_wal_lsn())")
    fails_with_the_fix(store, "readpast", "read past", slot_of(store, "readpast"))
    resnapshot_catches_up(store, "readpast")
    same_rows(pg_url, dest, ["item"])


def test_a_dropped_publication_fails_the_task(store: Store, pg_url: str, tmp_path: Path) -> None:
    execute(pg_url, ITEMS, inserts(1, 3))
    api.create_task(TaskSpec("unpub", pg_url, f"sqlite:///{tmp_path / 'd.db'}"), store)
    stopped_after_catching_up(store, "unpub")
    execute(pg_url, inserts(4, 5), f'DROP PUBLICATION "{slot_of(store, "unpub")}"')
    fails_with_the_fix(store, "unpub", "publication", "is gone")


@pytest.fixture()
def small_wal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """A server that invalidates a slot once it holds back more than 1 MB of WAL."""
    server = start_postgres(tmp_path_factory.mktemp("pg-small-wal"),
                            ["-c", "max_slot_wal_keep_size=1MB"])
    try:
        yield server
    finally:
        server.stop()


def test_an_invalidated_slot_fails_the_task_and_resnapshot_recovers(
    store: Store, small_wal_server: PgServer, tmp_path: Path
) -> None:
    url = small_wal_server.create_database("lost")
    execute(url, ITEMS, inserts(1, 3))
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("lost", url, dest), store)
    stopped_after_catching_up(store, "lost")
    for first in range(4, 40, 12):  # WAL past what the slot may keep, in new segments
        execute(url, inserts(first, first + 11), "SELECT pg_switch_wal()")
    execute(url, "CHECKPOINT")
    assert slot_row(store, url, "lost") == ("lost",)
    fails_with_the_fix(store, "lost", "invalidated", "max_slot_wal_keep_size")
    resnapshot_catches_up(store, "lost")
    same_rows(url, dest, ["item"])


def test_a_slot_left_before_the_start_was_saved_is_used_from_its_own_start(
    store: Store, pg_url: str, tmp_path: Path
) -> None:
    """A run (a reverse task's prepare, say) dies between creating the slot and saving where
    capture starts: the next run uses that slot, so what was committed since arrives."""
    execute(pg_url, ITEMS, inserts(1, 3))
    dest = tmp_path / "d.db"
    with sqlite3.connect(dest) as db:  # an incremental-only task: the rows are there already
        db.executescript("CREATE TABLE item (id integer PRIMARY KEY, name text);"
                         "INSERT INTO item VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3');")
    spec = TaskSpec("early", pg_url, f"sqlite:///{dest}", types=parse_types("incremental"))
    api.create_task(spec, store)
    source = engines.connect(pg_url)
    try:
        slot = store.get("early").capture_name
        source.capture(source.reflect(["item"]), slot).install()  # then it died
    finally:
        source.close()
    execute(pg_url, inserts(4, 9))
    stopped_after_catching_up(store, "early")
    same_rows(pg_url, f"sqlite:///{dest}", ["item"])


def sqlite_task(store: Store, tmp_path: Path, name: str) -> tuple[Path, str]:
    src, dest = tmp_path / "s.db", tmp_path / "d.db"
    with sqlite3.connect(src) as db:
        db.executescript("CREATE TABLE item (id integer PRIMARY KEY, name text);"
                         "INSERT INTO item VALUES (1, 'a'), (2, 'b');")
    api.create_task(TaskSpec(name, f"sqlite:///{src}", f"sqlite:///{dest}"), store)
    stopped_after_catching_up(store, name)
    with sqlite3.connect(src) as db:
        db.executescript("INSERT INTO item VALUES (3, 'c'); UPDATE item SET name = 'B' "
                         "WHERE id = 2; INSERT INTO item VALUES (4, 'd');")
    return src, f"sqlite:///{dest}"


def test_a_trimmed_sqlite_change_log_fails_the_task_and_resnapshot_recovers(
    store: Store, tmp_path: Path
) -> None:
    src, dest = sqlite_task(store, tmp_path, "trimmed")
    with sqlite3.connect(src) as db:
        db.execute(f'DELETE FROM "{log_table(store.get("trimmed").capture_name)}" WHERE seq < '
                   f'(SELECT max(seq) FROM "{log_table(store.get("trimmed").capture_name)}")')
    fails_with_the_fix(store, "trimmed", "trimmed past")
    resnapshot_catches_up(store, "trimmed")
    same_rows(f"sqlite:///{src}", dest, ["item"])


def test_dropped_sqlite_capture_fails_the_task(store: Store, tmp_path: Path) -> None:
    src, _ = sqlite_task(store, tmp_path, "untriggered")
    with sqlite3.connect(src) as db:
        for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                  "AND name LIKE '%\\_u' ESCAPE '\\'").fetchall():
            db.execute(f'DROP TRIGGER "{name}"')
    fails_with_the_fix(store, "untriggered", "triggers of 'item' are gone")
    with sqlite3.connect(src) as db:
        db.execute(f'DROP TABLE "{log_table(store.get("untriggered").capture_name)}"')
    fails_with_the_fix(store, "untriggered", "change log", "is gone")


def test_two_stores_with_a_task_of_the_same_name_keep_their_own_slots(
    store: Store, pg_url: str, tmp_path: Path
) -> None:
    """Two turnout homes (a trial and the real one, say) that each name a task "orders" on
    one source: each task has a slot of its own, so neither reads the other's position."""
    other = Store(tmp_path / "other_home")
    execute(pg_url, ITEMS, inserts(1, 3))
    dests = {}
    for each, folder in ((store, tmp_path / "a"), (other, tmp_path / "b")):
        folder.mkdir()
        dests[each] = f"sqlite:///{folder / 'd.db'}"
        api.create_task(TaskSpec("orders", pg_url, dests[each]), each)
    assert store.get("orders").capture_name != other.get("orders").capture_name
    for each in (store, other):
        stopped_after_catching_up(each, "orders")
    execute(pg_url, inserts(4, 9))
    for each in (other, store):
        stopped_after_catching_up(each, "orders")
        same_rows(pg_url, dests[each], ["item"])
