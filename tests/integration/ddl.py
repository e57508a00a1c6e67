"""What the DDL-under-a-writer tests of every source engine share: the task deleted after
the test, the writer and the DDL run against a task caught up, the worker killed in the
middle, and the checks that the destination ended as the source did."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from threading import Thread
from typing import Any

from tests.integration.helpers import execute, running, same_rows, wait_caught_up
from turnout import api, engines
from turnout.store import Store

FOLLOWED = ["id", "title", "n", "amount", "colour"]  # acct's columns once DDL ran
FRESH = "fresh"  # a table the DDL lists create in the middle (every table is selected)
Statement = tuple[str, tuple[int, ...]]


class AcctWriter(threading.Thread):
    """Inserts and updates acct's rows by the columns no DDL touches (id, n) until halted;
    each engine's subclass says in run() how it writes one transaction of batches()."""

    seed = 20
    placeholder = "%s"

    def __init__(self, target: Any) -> None:
        super().__init__(daemon=True)
        self.target, self.halt, self.transactions = target, threading.Event(), 0
        self.rng = random.Random(self.seed)

    def batches(self) -> Iterator[list[Statement]]:
        """One transaction's statements at a time, until halted; counted once written."""
        p, next_id = self.placeholder, 10_000
        while not self.halt.is_set():
            batch: list[Statement] = []
            for _ in range(self.rng.randint(1, 5)):
                if self.rng.random() < 0.5:
                    batch.append((f"INSERT INTO acct (id, n) VALUES ({p}, {p})",
                                  (next_id, next_id)))
                    next_id += 1
                else:
                    batch.append((f"UPDATE acct SET n = n + 1 WHERE id = {p}",
                                  (self.rng.randint(1, 600),)))
            yield batch
            self.transactions += 1
            time.sleep(0.005)


@contextmanager
def deleting(store: Store, name: str) -> Iterator[None]:
    """The task (and its slot, which is server-wide) goes once the block ends."""
    try:
        yield
    finally:
        api.delete_task(name, store, force=True)


def columns(url: str, table: str) -> list[str]:
    engine = engines.connect(url)
    try:
        return [c.name for c in engine.reflect([table])[0].columns]
    finally:
        engine.close()


def ddl_under_writer(store: Store, name: str, writer: Any, run_ddl: Callable[[], None]) -> None:
    """Run the task; once caught up (before the writer, so it is never idle after), write
    and run the DDL together, then catch up again: the task must still be migrating."""
    with running(store, name):
        wait_caught_up(store, name, timeout=60)
        writer.start()
        run_ddl()
        time.sleep(0.5)
        writer.halt.set()
        writer.join(10)
        wait_caught_up(store, name, timeout=60)
        status = api.task_status(name, store)
        assert status["state"] == "Migrating", status
    assert writer.transactions > 20


def assert_ddl_made(store: Store, name: str, source: str, dest: str, least: int = 0,
                    plant: bool = True, created: bool = True) -> None:
    """acct has the same columns and rows on both sides, at least `least` DDL events
    (a rename among them) say what was made, and the index made is there; verify finds
    both sides equal and, given `plant`, a value changed on the destination in a column
    the DDL added. `created`: whether a table the DDL created is there too (a reverse task
    moves the forward task's tables only)."""
    assert columns(dest, "acct") == columns(source, "acct") == FOLLOWED
    same_rows(source, dest, ["acct"])
    messages = [e["message"] for e in api.events(name, store=store)]
    made = [m for m in messages if m.startswith("DDL on acct")]
    assert len(made) >= least, messages
    assert any("RENAME COLUMN" in m for m in made), made
    indexes = {i.name for i in engines.connect(dest).reflect(["acct"])[0].indexes}
    assert "acct_n" in indexes and "acct_amount" not in indexes, indexes  # made, dropped
    if created:
        same_created(source, dest)
    verified = api.verify_task(name, store)
    assert verified["consistent"], verified
    if plant:
        execute(dest, "UPDATE acct SET colour = 'green' WHERE id = 1")
        planted = next(t for t in api.verify_task(name, store)["tables"] if t["source"] == "acct")
        assert planted["different"] == [[1]], planted
        assert planted["different_columns"] == [["colour"]], planted


def same_created(source: str, dest: str) -> None:
    """The table the DDL list made in its middle, when it made one, holds the same rows."""
    if engines.connect(source).table_exists(FRESH):
        assert columns(dest, FRESH) == columns(source, FRESH)
        same_rows(source, dest, [FRESH])


def caught_up_then_kill_through_ddl(store: Store, name: str, source: str, dest: str,
                                    sequence: Thread, writer: Any,
                                    pauses: tuple[float, ...] = (0.4, 0.7, 0.5, 0.9)) -> None:
    """Start the task; once it is caught up, the writer and the DDL `sequence` begin and the
    worker is killed through them (kill_through_ddl)."""
    api.start_task(name, store)
    wait_caught_up(store, name, timeout=60)
    writer.start()
    sequence.start()
    kill_through_ddl(store, name, source, dest, sequence, writer, pauses)


def kill_through_ddl(store: Store, name: str, source: str, dest: str, sequence: Thread,
                     writer: Any, pauses: tuple[float, ...] = (0.4, 0.7, 0.5, 0.9),
                     table: str = "acct") -> None:
    """Kill (-9) the worker after each pause and start it again while `sequence` runs the
    DDL; once all is caught up, `table` must be the same on both sides."""
    try:  # a failed look must not leave the writer filling the server's binlog for later tests
        for pause in pauses:
            time.sleep(pause)
            status = api.task_status(name, store)
            assert status["pid"], (status, api.events(name, store=store)[-3:])
            os.kill(status["pid"], signal.SIGKILL)
            api.wait_for(name, lambda s: s["pid"] is None, 10, store)
            api.start_task(name, store)
        sequence.join(30)
    finally:
        writer.halt.set()
        writer.join(10)
    time.sleep(0.3)
    wait_caught_up(store, name, timeout=90)
    api.stop_task(name, store)
    assert columns(dest, table) == columns(source, table)
    same_rows(source, dest, [table])
    same_created(source, dest)
