"""Pause and resume under writes: the task's worker goes away and comes back, the source
keeps writing all along, and the destination ends with every row (nothing lost while
paused, nothing applied twice), from the SQLite triggers, a PostgreSQL slot and the MySQL
binlog (its position kept while no worker reads)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from tests.integration.helpers import execute, same_rows, wait_caught_up
from tests.integration.pairs import kind, over
from turnout import api
from turnout.errors import BadInput
from turnout.spec import TaskSpec
from turnout.store import Store


class Writer(threading.Thread):
    """Inserts a row and updates an older one, over and over, until stopped."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.written = url, threading.Event(), 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.written += 1
            n = self.written
            execute(self.url, f"INSERT INTO counter VALUES ({n}, {n})",
                    f"UPDATE counter SET n = n + 1 WHERE id = {max(1, n // 2)}")
            time.sleep(0.02)


def slots(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_replication_slots "
                           "WHERE database = current_database()").fetchone()
    assert row is not None
    return int(row[0])


@over(("sqlite", "sqlite"), ("postgresql", "postgresql"), ("mysql", "postgresql"))
def test_pause_and_resume_under_writes_lose_nothing(store: Store,
                                                    urls: tuple[str, str]) -> None:
    source, dest = urls
    execute(source, "CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    api.create_task(TaskSpec("counter", source, dest), store)
    api.start_task("counter", store)
    wait_caught_up(store, "counter")  # a writer that never rests leaves no instant caught up
    writer = Writer(source)
    writer.start()
    try:
        time.sleep(1.0)
        paused = api.pause_task("counter", store)
        assert paused["state"] == "Paused" and paused["pid"] is None
        if kind(source) == "postgresql":
            assert slots(source) == 1  # the position is held while paused
        written = writer.written
        time.sleep(1.0)
        assert writer.written > written  # the source went on meanwhile
        api.resume_task("counter", store)
        assert api.task_status("counter", store)["state"] in ("Prechecking", "Migrating")
        time.sleep(0.5)
    finally:
        writer.stop.set()
        writer.join()
    wait_caught_up(store, "counter", timeout=60)
    same_rows(source, dest, ["counter"])
    messages = [e["message"] for e in api.events("counter", store=store)]
    assert any("paused" in m for m in messages) and any("resumed" in m for m in messages)
    api.stop_task("counter", store)


def test_pause_refuses_a_task_that_does_not_run_and_resume_one_not_paused(
        store: Store, tmp_path: Path) -> None:
    source, dest = tmp_path / "src.db", tmp_path / "dst.db"
    source.touch()
    api.create_task(TaskSpec("counter", f"sqlite:///{source}", f"sqlite:///{dest}"), store)
    with pytest.raises(BadInput, match="not running"):
        api.pause_task("counter", store)
    with pytest.raises(BadInput, match="not Paused"):
        api.resume_task("counter", store)

