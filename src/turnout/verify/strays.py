"""Rows on a task's destination that its source does not explain: someone else wrote there.

After switchover the old source is the reverse task's destination, and an
application that was not repointed everywhere may still write to it. While
the task is caught up, a verification now and then (range checksums, so
cheap when nothing differs) shows such rows; a row counts only if it still
differs once the task has applied everything committed before the first
look, so lag is never reported. The count goes to the task's status and a
warning to its event log, with the command that puts it right.

The task's lifecycle (turnout.tasks) starts the watch and hands it the two questions only
it can answer (the task's status, and a wait until it has caught up), so verification
stays below the lifecycle and never imports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from turnout import checkpoints
from turnout.errors import TurnoutError
from turnout.model import TaskState
from turnout.status import TaskStatus
from turnout.store import Store
from turnout.verify.run import run as verify

Status = Callable[[str, Store], TaskStatus]  # the task's status, as tasks.status
CaughtUp = Callable[[str, float, Store, float], object]  # tasks.wait_caught_up


class StrayWatch(threading.Thread):
    """Checks the task `name` every `every` seconds until `stop` is set."""

    def __init__(self, store: Store, name: str, every: float, stop: threading.Event,
                 status: Status, caught_up: CaughtUp) -> None:
        super().__init__(name=f"strays-{name}", daemon=True)
        self.store, self.name, self.every, self.stop = store, name, every, stop
        self.status, self.caught_up = status, caught_up

    def run(self) -> None:
        store = self.store.reopen()  # a connection of this thread's own
        try:
            while not self.stop.wait(self.every):
                self._check(store)
        finally:
            store.close()

    def _check(self, store: Store) -> None:
        status = self.status(self.name, store)
        if status.state is not TaskState.MIGRATING or status.progress.delay_s != 0:
            return  # only a caught-up task can tell a stray row from one on its way
        try:
            report = verify(store.get(self.name).spec, caught_up=lambda since: self.caught_up(
                self.name, 60, store, since), threads=2)
        except TurnoutError as exc:
            if not self.stop.is_set():  # stopping (or deleted): the check was cut short
                store.add_event(self.name, "debug", f"stray-row check skipped: {exc}")
            return
        found = sum(len(t[k]) for t in report["tables"] for k in ("missing", "extra", "different"))
        before = checkpoints.STRAY_ROWS.get(store, self.name) or 0
        checkpoints.STRAY_ROWS.set(store, self.name, found)
        if found and found != before:
            store.add_event(self.name, "warning",
                            f"{found} row(s) on {status.dest} differ from {status.source} "
                            "although the task has caught up: written there by someone else? "
                            f"`turnout verify {self.name}` lists them, --repair dest fixes them")
