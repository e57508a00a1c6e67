"""kill -9 the worker during the full step and during the incremental step, under writes.

The worker is a real detached process (`turnout task start`); the business
writing to the source is a thread of the test. After each kill the task is
started again; at the end source and destination must hold the same rows.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from tests.conftest import all_rows
from tests.integration.helpers import Writer, same_rows, wait_caught_up
from turnout import api
from turnout.spec import Options, TaskSpec
from turnout.store import Store

pytestmark = pytest.mark.slow


def build_source(path: Path, rows: int) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER)")
    db.execute("CREATE TABLE move (a INTEGER, b INTEGER, amount INTEGER, note TEXT, "
               "PRIMARY KEY (a, b))")
    rng = random.Random(3)
    db.executemany("INSERT INTO acct VALUES (?, ?, ?)",
                   ((i, f"owner {i} " + "x" * rng.randint(0, 40), rng.randint(0, 10**6))
                    for i in range(1, rows + 1)))
    db.executemany("INSERT INTO move VALUES (?, ?, ?, ?)",
                   ((i, j, i * j, None) for i in range(1, 200) for j in range(1, 50)))
    db.commit()
    db.close()


class Business(Writer):
    """Keeps writing: inserts, updates, deletes, key moves, multi-row transactions."""

    def __init__(self, path: Path, max_id: int) -> None:
        super().__init__(max_id + 1, seed=11)
        self.path = path

    def connect(self) -> closing[sqlite3.Connection]:
        return closing(sqlite3.connect(self.path, timeout=60, isolation_level=None))

    @contextmanager
    def transaction(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        yield db
        db.execute("COMMIT")

    def one(self, db: sqlite3.Connection) -> None:
        r, rid = self.rng.random(), self.rng.randint(1, self.next_id)
        if r < 0.35:
            db.execute("INSERT INTO acct VALUES (?, 'new', 0)", (self.next_id,))
            self.next_id += 1
        elif r < 0.7:
            db.execute("UPDATE acct SET balance = balance + 1 WHERE id = ?", (rid,))
        elif r < 0.8:
            db.execute("DELETE FROM acct WHERE id = ?", (rid,))
        elif r < 0.85:
            db.execute("UPDATE OR IGNORE acct SET id = ? WHERE id = ?", (self.next_id, rid))
            self.next_id += 1
        else:
            a, b = self.rng.randint(1, 250), self.rng.randint(1, 60)
            db.execute("INSERT INTO move VALUES (?, ?, 1, 'n') ON CONFLICT (a, b) "
                       "DO UPDATE SET amount = amount + 1", (a, b))
            if self.rng.random() < 0.2:
                db.execute("DELETE FROM move WHERE a = ?", (a,))


def kill_worker(store: Store, name: str) -> None:
    pid = api.task_status(name, store)["pid"]
    assert pid, api.task_status(name, store)
    os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        if api.task_status(name, store)["pid"] is None:
            return
        time.sleep(0.02)
    raise AssertionError("the worker did not die")


def finish_and_compare(store: Store, name: str, src: Path, dst: str, business: Business) -> None:
    business.halt.set()
    business.join()
    wait_caught_up(store, name, timeout=120)
    api.stop_task(name, store)
    assert business.transactions > 50
    if dst.startswith("sqlite:"):
        assert all_rows(Path(dst.split(":///", 1)[1])) == all_rows(src)
    same_rows(f"sqlite:///{src}", dst)


@pytest.fixture(params=["sqlite", "postgresql"])
def dest_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dst.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.mark.parametrize("direct", [True, False], ids=["direct", "row-path"])
def test_kill_during_full_step_resumes_with_identical_rows(
    store: Store, tmp_path: Path, direct: bool, dest_url: str
) -> None:
    if direct and not dest_url.startswith("sqlite:"):
        pytest.skip("the direct path exists only between two SQLite files")
    src, dst = tmp_path / "src.db", dest_url
    build_source(src, 150_000)
    api.create_task(TaskSpec("crash-full", f"sqlite:///{src}", dst,
                             # small chunks: the direct path is fast enough to finish the
                             # whole step between two polls with big ones
                             options=Options(chunk_rows=100 if direct else 1000,
                                             direct_copy=direct)), store)
    business = Business(src, 150_000)
    business.start()
    try:
        for round_ in range(2):  # two kills in the full step
            api.start_task("crash-full", store)
            api.wait_for(
                "crash-full",
                lambda s: any(0 < t["rows_copied"] < t["rows_total"] for t in s["tables"])
                and s["phase"] == "full" and s["pid"],
                60, store,
            )
            time.sleep(0.05 * round_)
            kill_worker(store, "crash-full")
            status = api.task_status("crash-full", store)
            assert status["state"] == "Failed" and "task start" in status["error"]
        api.start_task("crash-full", store)
        finish_and_compare(store, "crash-full", src, dst, business)
    finally:
        business.halt.set()
        if api.task_status("crash-full", store)["pid"]:  # a failed test leaves no worker behind
            kill_worker(store, "crash-full")


def test_kill_during_incremental_step_under_writes(
    store: Store, tmp_path: Path, dest_url: str
) -> None:
    src, dst = tmp_path / "src.db", dest_url
    build_source(src, 20_000)
    api.create_task(TaskSpec("crash-inc", f"sqlite:///{src}", dst,
                             options=Options(batch_changes=300)), store)
    business = Business(src, 20_000)
    business.start()
    rng = random.Random(5)
    try:
        api.start_task("crash-inc", store)
        api.wait_for("crash-inc", lambda s: s["phase"] == "incremental", 60, store)
        for _ in range(4):  # kill at random moments while changes flow
            time.sleep(rng.uniform(0.1, 0.6))
            kill_worker(store, "crash-inc")
            time.sleep(rng.uniform(0.0, 0.3))  # the business keeps writing meanwhile
            api.start_task("crash-inc", store)
            api.wait_for("crash-inc", lambda s: s["phase"] == "incremental" and s["pid"], 60,
                         store)
        finish_and_compare(store, "crash-inc", src, dst, business)
    finally:
        business.halt.set()
        if api.task_status("crash-inc", store)["pid"]:
            kill_worker(store, "crash-inc")
