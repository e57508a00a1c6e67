"""Fencing in the destination: a batch written under an epoch older than the destination's
checkpoint commits nothing, rows and checkpoint alike, on every destination engine."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tests.integration.pairs import kind, own_cursor, own_execute, own_rows
from turnout import engines
from turnout.errors import Fenced
from turnout.model import EPOCH_KEY, Checkpoint, write_under

CHECKPOINT_TABLE = "_turnout_checkpoint"  # every SQL engine's name for it


@pytest.mark.parametrize("dest", ["sqlite", "postgresql", "mysql"])
def test_a_stale_epoch_commits_nothing(dest: str, tmp_path: Path,
                                       request: pytest.FixtureRequest) -> None:
    if dest == "sqlite":
        url = f"sqlite:///{tmp_path / 'd.db'}"
        (tmp_path / "d.db").touch()
    else:
        url = request.getfixturevalue("pg_url" if dest == "postgresql" else "mysql_url")
    own_execute(url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(20))")
    engine = engines.connect(url)
    try:
        table = engine.reflect(["t"])[0]
        engine.load(table, [(1, "new owner")], Checkpoint("task", {"k": "1"}, epoch=2))
        with pytest.raises(Fenced, match="taken over under epoch 2"):
            engine.load(table, [(2, "old owner")], Checkpoint("task", {"k": "2"}, epoch=1))
        assert own_rows(url, "t", "id, v", "id") == [(1, "new owner")]
        assert engine.read_checkpoint("task") == {"k": "1", EPOCH_KEY: "2"}
        write_under("task", 3)  # what an agent's worker says once: every checkpoint carries it
        try:
            engine.load(table, [(3, "next owner")], Checkpoint("task", {"k": "3"}))
        finally:
            write_under("task", None)
        assert engine.read_checkpoint("task") == {"k": "3", EPOCH_KEY: "3"}
        engine.load(table, [(4, "no agent")], Checkpoint("task", {"k": "4"}))  # unfenced
        assert engine.read_checkpoint("task")[EPOCH_KEY] == "3"
    finally:
        engine.drop_checkpoint("task")
        engine.close()


@pytest.mark.parametrize("dest", ["sqlite", "postgresql", "mysql"])
def test_two_workers_writing_the_first_epoch_row_at_once(dest: str, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    """The successor's transaction has inserted the task's very first epoch row and not yet
    committed when the old worker's batch comes: the old batch waits for that row and is
    then refused, rather than overwriting the newer epoch with its own."""
    if dest == "sqlite":
        url = f"sqlite:///{tmp_path / 'd.db'}"
        (tmp_path / "d.db").touch()
    else:
        url = request.getfixturevalue("pg_url" if dest == "postgresql" else "mysql_url")
    own_execute(url, "CREATE TABLE t (id int PRIMARY KEY, v varchar(20))")
    engine = engines.connect(url)
    table = engine.reflect(["t"])[0]
    engine.load(table, [], Checkpoint("other", {"k": "0"}))  # the checkpoint table exists
    outcome: list[BaseException | None] = []
    try:
        with own_cursor(url) as successor:
            successor.execute("BEGIN IMMEDIATE" if dest == "sqlite" else "BEGIN")
            successor.execute("INSERT INTO t VALUES (1, 'new owner')")
            successor.execute(f"INSERT INTO {CHECKPOINT_TABLE} VALUES ('task', '{EPOCH_KEY}', "
                              "'2')")

            def old_batch() -> None:
                try:
                    engine.load(table, [(2, "old owner")], Checkpoint("task", {"k": "2"},
                                                                      epoch=1))
                    outcome.append(None)
                except BaseException as exc:  # noqa: BLE001 - the test reads it
                    outcome.append(exc)

            old = threading.Thread(target=old_batch)
            old.start()
            _until_waiting(url, old)  # the old batch waits on the successor's transaction
            successor.execute("COMMIT")
        old.join(60)
        assert len(outcome) == 1 and isinstance(outcome[0], Fenced), outcome
        assert "taken over under epoch 2" in str(outcome[0])
        assert own_rows(url, "t", "id, v", "id") == [(1, "new owner")]
        assert engine.read_checkpoint("task") == {EPOCH_KEY: "2"}
    finally:
        engine.drop_checkpoint("task")
        engine.drop_checkpoint("other")
        engine.close()


def _until_waiting(url: str, thread: threading.Thread) -> None:
    """Until a session of the database waits on a lock (SQLite has no such view: there the
    old batch waits on the file's write lock, or comes after the commit, refused alike)."""
    queries = {"postgresql": "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                             "'Lock' AND datname = current_database()",
               "mysql": "SELECT count(*) FROM information_schema.innodb_trx WHERE "
                        "trx_state = 'LOCK WAIT'"}
    if kind(url) not in queries:
        thread.join(0.5)
        return
    deadline = time.monotonic() + 60
    with own_cursor(url) as cur:
        while thread.is_alive() and time.monotonic() < deadline:
            cur.execute(queries[kind(url)])
            if cur.fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError("the old batch never waited on the successor's transaction")
