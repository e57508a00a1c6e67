"""Schema, full and incremental migration between real SQLite files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import all_rows, make_db, rows
from tests.integration.helpers import make_task, running, wait_caught_up
from turnout import api
from turnout.cli.demo import create_chinook
from turnout.errors import BadInput, NotFound
from turnout.migrate.progress import NoProgress
from turnout.model import TaskState
from turnout.processes import process_started
from turnout.spec import Options
from turnout.store import Store
from turnout.tasks import lifecycle


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "row-path"])
def test_full_copy_of_chinook(store: Store, tmp_path: Path, direct: bool) -> None:
    src, dst = tmp_path / "chinook.db", tmp_path / "copy.db"
    create_chinook(src)
    make_task(store, "chinook", src, dst, "schema,full",
              options=Options(chunk_rows=500, direct_copy=direct))
    assert api.run_task("chinook", store=store) == "Completed"
    assert all_rows(dst) == all_rows(src)
    status = api.task_status("chinook", store)
    assert status["state"] == "Completed" and status["pid"] is None
    track = next(t for t in status["tables"] if t["source"] == "Track")
    assert track["rows_copied"] == track["rows_total"] == 3503 and track["done"]
    db = sqlite3.connect(dst)  # indexes and foreign keys came along
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "IFK_TrackAlbumId" in names
    assert db.execute("PRAGMA foreign_key_list(Track)").fetchall()


SHOP = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(10,2), data BLOB);
CREATE TABLE line (order_id INTEGER, n INTEGER, item_id INTEGER, qty INTEGER,
                   PRIMARY KEY (order_id, n));
INSERT INTO item VALUES (1, 'apple', 1.5, x'00ff'), (2, 'pear', 2.25, NULL), (3, 'plum', 3, x'');
INSERT INTO line VALUES (1, 1, 1, 10), (1, 2, 2, 20);
"""


def test_blob_primary_keys_and_text_keys(store: Store, tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE b (k BLOB PRIMARY KEY, v TEXT);"
                  "CREATE TABLE s (k TEXT PRIMARY KEY, v TEXT);"
                  "INSERT INTO b VALUES (x'01', 'one'); INSERT INTO s VALUES ('x:01', 'tricky');")
    dst = tmp_path / "dst.db"
    make_task(store, "keys", src, dst)
    with running(store, "keys"):
        wait_caught_up(store, "keys")
        db = sqlite3.connect(src)
        db.execute("INSERT INTO b VALUES (x'0203', 'two')")
        db.execute("UPDATE b SET v = 'uno' WHERE k = x'01'")
        db.execute("UPDATE s SET v = 'still text' WHERE k = 'x:01'")
        db.commit()
        db.close()
        wait_caught_up(store, "keys")
    assert all_rows(dst) == all_rows(src)


def test_resume_after_stop_continues_where_it_was(store: Store, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    make_task(store, "shop", src, dst)
    with running(store, "shop"):
        wait_caught_up(store, "shop")
    db = sqlite3.connect(src)  # written while the task is stopped
    db.execute("INSERT INTO item VALUES (10, 'kiwi', 1, NULL)")
    db.execute("DELETE FROM line")
    db.commit()
    db.close()
    with running(store, "shop"):
        wait_caught_up(store, "shop")
    assert all_rows(dst) == all_rows(src)


def test_renames_and_selection(store: Store, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    make_task(store, "ren", src, dst, tables=("item", "line"), exclude=("line",),
              table_renames={"item": "product"}, column_renames={"item": {"name": "title"}})
    with running(store, "ren"):
        wait_caught_up(store, "ren")
        db = sqlite3.connect(src)
        db.execute("UPDATE item SET name = 'renamed' WHERE id = 1")
        db.execute("INSERT INTO line VALUES (9, 9, 9, 9)")
        db.commit()
        db.close()
        wait_caught_up(store, "ren")
    out = sqlite3.connect(dst)
    assert [r[0] for r in out.execute("SELECT name FROM sqlite_master WHERE type='table' "
                                      "AND name NOT LIKE '\\_%' ESCAPE '\\'")] == ["product"]
    assert out.execute("SELECT title FROM product WHERE id = 1").fetchone() == ("renamed",)
    assert rows(dst, "product") == rows(src, "item")


HOSTILE = '''
CREATE TABLE "we""ird table" ("the ""id""" INTEGER PRIMARY KEY, "spaced col" TEXT,
  "naïve – ünïcødé 表" TEXT, "select" INTEGER, "'quoted'" TEXT);
INSERT INTO "we""ird table" VALUES (1, 'a', 'ü', 1, 'x'), (2, 'b', '表', 2, 'y');
'''


def test_hostile_identifiers(store: Store, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", HOSTILE), tmp_path / "dst.db"
    make_task(store, "hostile", src, dst, table_renames={'we"ird table': "Ünï code; DROP"})
    with running(store, "hostile"):
        wait_caught_up(store, "hostile")
        db = sqlite3.connect(src)
        db.execute('''UPDATE "we""ird table" SET "naïve – ünïcødé 表" = 'ok' WHERE "select" = 1''')
        db.execute('''DELETE FROM "we""ird table" WHERE "the ""id""" = 2''')
        db.commit()
        db.close()
        wait_caught_up(store, "hostile")
    assert rows(dst, "Ünï code; DROP") == rows(src, 'we"ird table') == [(1, "a", "ok", 1, "x")]


def test_table_without_key_moves_with_its_duplicates(store: Store, tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE logs (at TEXT, msg TEXT);"
                  "INSERT INTO logs VALUES ('t', 'a'), ('t', 'a'), (NULL, NULL);"
                  "CREATE TABLE ok (id INTEGER PRIMARY KEY);")
    dst = tmp_path / "dst.db"
    make_task(store, "nokey", src, dst)
    with running(store, "nokey"):
        wait_caught_up(store, "nokey")
        db = sqlite3.connect(src)
        db.execute("DELETE FROM logs WHERE rowid = (SELECT min(rowid) FROM logs WHERE msg = 'a')")
        db.execute("INSERT INTO logs VALUES (NULL, NULL)")
        db.commit()
        db.close()
        wait_caught_up(store, "nokey")
    assert all_rows(dst)["logs"] == all_rows(src)["logs"] == sorted(
        [("t", "a"), (None, None), (None, None)], key=repr)


def test_unique_not_null_key_is_enough(store: Store, tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE u (code TEXT NOT NULL UNIQUE, v INT);"
                  "INSERT INTO u VALUES ('a', 1), ('b', 2);")
    dst = tmp_path / "dst.db"
    make_task(store, "uniq", src, dst)
    with running(store, "uniq"):
        wait_caught_up(store, "uniq")
        db = sqlite3.connect(src)
        db.execute("UPDATE u SET v = 20 WHERE code = 'b'")
        db.commit()
        db.close()
        wait_caught_up(store, "uniq")
    assert all_rows(dst) == all_rows(src)


def test_bad_input(store: Store, tmp_path: Path) -> None:
    from turnout.spec import TaskSpec

    with pytest.raises(NotFound, match="does not exist"):
        api.create_task(TaskSpec("m", f"sqlite:///{tmp_path}/missing.db", "sqlite:///x.db"), store)
    with pytest.raises(BadInput, match="unknown URL scheme 'oracle'"):
        api.create_task(TaskSpec("m", "oracle://u:pw@localhost/db", "sqlite:///x.db"), store)
    with pytest.raises(BadInput, match="cannot connect to mysql://u:\\*\\*\\*@127.0.0.1:1/db"):
        api.create_task(TaskSpec("m", "mysql://u:pw@127.0.0.1:1/db", "sqlite:///x.db"), store)
    with pytest.raises(BadInput, match="cannot connect to postgresql://u:\\*\\*\\*@127.0.0.1:1/db"):
        api.create_task(TaskSpec("m", "postgresql://u:pw@127.0.0.1:1/db", "sqlite:///x.db"), store)
    (tmp_path / "junk.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BadInput, match="not a usable SQLite database"):
        api.create_task(TaskSpec("m", f"sqlite:///{tmp_path}/junk.db", "sqlite:///x.db"), store)
    with pytest.raises(NotFound, match="no task named"):
        api.task_status("nope", store)


def test_destination_with_rows_is_refused(store: Store, tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", SHOP)
    dst = make_db(tmp_path / "dst.db", "CREATE TABLE item (id INTEGER PRIMARY KEY);"
                  "INSERT INTO item VALUES (1);")
    make_task(store, "busy", src, dst)
    assert api.run_task("busy", store=store) == "Failed"
    assert "destination table 'item' already holds rows" in api.task_status("busy", store)["error"]


def test_delete_removes_triggers_log_and_checkpoints(store: Store, tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    make_task(store, "gone", src, dst)
    with running(store, "gone"):
        wait_caught_up(store, "gone")
    api.delete_task("gone", store)
    for path in (src, dst):
        db = sqlite3.connect(path)
        leftovers = db.execute(
            "SELECT type, name FROM sqlite_master WHERE name LIKE '\\_turnout%' ESCAPE '\\'"
        ).fetchall()
        assert leftovers == [], (path, leftovers)
    with pytest.raises(NotFound):
        api.task_status("gone", store)


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "row-path"])
def test_chunks_follow_the_source_key_order_whatever_its_collation(
    store: Store, tmp_path: Path, direct: bool
) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE c (code TEXT COLLATE NOCASE PRIMARY KEY, n);"
                  "INSERT INTO c VALUES ('a', 1), ('B', 2), ('c', 3), ('D', 4), ('e', 5);")
    dst = tmp_path / "dst.db"
    make_task(store, "coll", src, dst, "schema,full",
              options=Options(chunk_rows=2, direct_copy=direct))
    assert api.run_task("coll", store=store) == "Completed"
    assert all_rows(dst) == all_rows(src)


def test_rows_trading_unique_values_in_one_batch(store: Store, tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE u (id INTEGER PRIMARY KEY, "
                  "email TEXT NOT NULL UNIQUE);"
                  "INSERT INTO u VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x');")
    dst = tmp_path / "dst.db"
    make_task(store, "swap", src, dst)
    with running(store, "swap"):
        wait_caught_up(store, "swap")
        db = sqlite3.connect(src, isolation_level=None)
        db.execute("BEGIN")  # a three-way rotation of unique values in one transaction
        db.execute("UPDATE u SET email = 'tmp' WHERE id = 1")
        db.execute("UPDATE u SET email = 'a@x' WHERE id = 2")
        db.execute("UPDATE u SET email = 'b@x' WHERE id = 3")
        db.execute("UPDATE u SET email = 'c@x' WHERE id = 1")
        db.execute("COMMIT")
        db.close()
        wait_caught_up(store, "swap")
        assert all_rows(dst) == all_rows(src)


def test_ddl_on_the_source_is_made_there_with_or_without_a_key(
    store: Store, tmp_path: Path
) -> None:
    src = make_db(tmp_path / "src.db", SHOP + "CREATE TABLE note (body TEXT);"
                  "INSERT INTO note VALUES ('first');")
    dst = tmp_path / "dst.db"
    make_task(store, "ddl", src, dst)
    with running(store, "ddl"):
        wait_caught_up(store, "ddl")
        db = sqlite3.connect(src)
        db.execute("ALTER TABLE item ADD COLUMN colour TEXT DEFAULT 'red'")
        db.execute("UPDATE item SET colour = 'green' WHERE id = 1")
        db.commit()
        wait_caught_up(store, "ddl", timeout=10)
        assert all_rows(dst) == all_rows(src)  # the column came, in order with the rows
        # a table without a key logs whole rows value by value: it is logged afresh
        db.execute("ALTER TABLE note ADD COLUMN author TEXT")
        db.execute("INSERT INTO note VALUES ('second', 'me')")
        db.commit()
        db.close()
        wait_caught_up(store, "ddl", timeout=10)
        assert api.task_status("ddl", store)["state"] == "Migrating"
    assert all_rows(dst) == all_rows(src)


def test_full_only_task_resumes_after_a_stop(store: Store, tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
                  "INSERT INTO t SELECT i, 'v' || i FROM n;")
    dst = tmp_path / "dst.db"
    # paced, so that the stop after the first chunk lands long before parallel workers
    # could have copied the whole table
    make_task(store, "fullonly", src, dst, "full",
              options=Options(chunk_rows=100, max_rows_per_second=2000))
    make_db(dst, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
    stop = threading.Event()

    class StopAfterFirstChunk(NoProgress):
        def table_rows(self, source: str, rows_copied: int, done: bool) -> None:
            if rows_copied:  # the first report, with the total, comes before any row
                stop.set()

    from turnout.migrate import runner as runner_module

    run = runner_module.Runner(store, "fullonly", stop)
    run.progress = StopAfterFirstChunk()  # type: ignore[assignment]
    assert run.run().value == "Stopped"
    assert 0 < len(rows(dst, "t")) < 5000
    assert api.run_task("fullonly", store=store) == "Completed"  # not refused: it is a resume
    assert all_rows(dst) == all_rows(src)
    assert next(t for t in api.task_status("fullonly", store)["tables"])["rows_total"] == 5000


def test_delete_refuses_to_forget_what_it_cannot_clean_unless_forced(
    store: Store, tmp_path: Path
) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    make_task(store, "lost", src, dst)
    with running(store, "lost"):
        wait_caught_up(store, "lost")
    src.unlink()
    with pytest.raises(Exception, match="--force"):
        api.delete_task("lost", store)
    api.delete_task("lost", store, force=True)
    with pytest.raises(NotFound):
        api.task_status("lost", store)


def test_a_worker_that_ended_before_start_looked_counts_as_started(store: Store,
                                                                   tmp_path: Path) -> None:
    """A tiny task's worker can claim, finish and clear its pid before `task start` first
    looks (a busy machine): that is a started worker, not one that "exited at once"."""
    make_task(store, "quick", make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER)"),
              tmp_path / "dst.db", "schema,full")
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    store.update("quick", state=TaskState.COMPLETED, pid=None,
                 pid_started=process_started(done.pid))
    time.sleep(0.5)  # exited, not yet reaped: what start sees after a worker that ran
    assert lifecycle._claimed(store, "quick", done, timeout=5) == done.pid


def test_start_waits_for_a_worker_that_wrote_its_end_to_exit(store: Store, tmp_path: Path) -> None:
    """A worker writes Failed a moment before its process exits (it closes its connections
    then): a start right after that waits for the exit instead of saying "already running"."""
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);")
    make_task(store, "ending", src, tmp_path / "dst.db", "schema,full")
    lingering = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    try:
        store.update("ending", state=TaskState.FAILED, pid=lingering.pid,
                     pid_started=process_started(lingering.pid))
        assert store.get("ending").alive
        api.start_task("ending", store)
        api.wait_for("ending", lambda s: s["state"] == "Completed", 60, store)
        assert lingering.poll() is not None
    finally:
        lingering.wait()
