"""Workers that died without a word: kill -9, the kernel's OOM killer, a crash.

A worker records its own end (Completed, Stopped, Failed) and its alert watch sends the
failure alert (alerting.py), but a worker killed with SIGKILL does neither, and status
only shows it as Failed while nobody is told. So whoever looks next notices: `turnout
serve` and `turnout agent` every few seconds, `turnout task status` and `task list` when
run. The first to notice marks the task Failed in the store, by an update that holds only
while the dead pid is still recorded (so one of them does, once per dead worker), and
sends the task's failure alert.

Only workers started by hand (`task start`, `task run`, `turnout serve`'s threads) are
judged here, by their pid on this machine as status does; an agent's worker is the
agent's to judge (agent.py), and the agent starts it again.
"""

from __future__ import annotations

import threading
import time

from turnout.alerts import TASK_FAILED, AlertRules, send_now
from turnout.errors import NotFound, TurnoutError
from turnout.model import TaskState
from turnout.store import Store, TaskRecord
from turnout.tasks.watch import ACTIVE, dead_worker_error

SWEEP_S = 2.0  # how often `turnout serve` and `turnout agent` look


def notice_dead_workers(store: Store | None = None, names: list[str] | None = None,
                        ) -> list[str]:
    """Mark Failed each task (of `names`, default all) whose hand-started worker is gone,
    and send its failure alert; the tasks this call marked."""
    store = store or Store()
    marked = []
    for record in _records(store, names):
        if (record.state not in ACTIVE or record.agent or not record.pid or record.alive):
            continue
        error = dead_worker_error(record.name, record.pid)
        if not _mark_failed(store, record, error):
            continue  # another process noticed first, or the task moved on meanwhile
        marked.append(record.name)
        store.add_event(record.name, "error", error)
        _alert(store, record.name, record.spec.alerts, error)
    return marked


def _alert(store: Store, name: str, rules: AlertRules, error: str) -> None:
    def said(message: str) -> None:
        store.add_event(name, "warning", message)

    send_now(rules, name, TASK_FAILED, f"task {name} failed: {error}", said, error=error)


def _records(store: Store, names: list[str] | None) -> list[TaskRecord]:
    if names is None:
        return store.all_tasks()
    found = []
    for name in names:
        try:
            found.append(store.get(name))
        except NotFound:
            continue
    return found


def _mark_failed(store: Store, record: TaskRecord, error: str) -> bool:
    with store._tx() as db:
        cursor = db.execute(
            "UPDATE tasks SET state = ?, error = ?, pid = NULL, updated = ? WHERE name = ? "
            "AND pid = ? AND agent IS NULL AND state IN (?, ?)",
            (TaskState.FAILED.value, error, time.time(), record.name, record.pid,
             *(s.value for s in ACTIVE)))
        return bool(cursor.rowcount == 1)


class DeadWorkerSweep(threading.Thread):
    """notice_dead_workers() every SWEEP_S until `stop` is set: what `turnout serve` and
    `turnout agent` run beside their work."""

    def __init__(self, store: Store, stop: threading.Event, every: float = SWEEP_S) -> None:
        super().__init__(name="dead-worker-sweep", daemon=True)
        self.store, self.stop, self.every = store, stop, every

    def run(self) -> None:
        store = self.store.reopen()  # a connection of this thread's own
        try:
            while not self.stop.wait(self.every):
                try:
                    notice_dead_workers(store)
                except TurnoutError:  # the store is away for now: the next look tries again
                    continue
        finally:
            store.close()


def worker_killed(store: Store, name: str, pid: int, returncode: int) -> None:
    """An agent's worker ended by a signal before it recorded its end: the failure alert
    (the agent starts the task again, as it does after any worker that ends unfinished)."""
    try:
        record = store.get(name)
    except NotFound:
        return
    if record.state not in ACTIVE:
        return  # it recorded its end (stopped, paused, failed) before the signal
    error = (f"the worker (pid {pid}) was killed by signal {-returncode} without stopping "
             "the task: an agent starts it again")
    store.add_event(name, "error", error)
    _alert(store, name, record.spec.alerts, error)
