"""Pausing a task and resuming it: a stop that keeps the task's place on purpose.

A paused task's worker is gone, but nothing it holds is let go: the replication slot,
the triggers and change log, or the binlog position stay, and the destination keeps
its checkpoint, so `resume` starts a worker that goes on from there and loses nothing
written at the source meanwhile. Paused differs from Stopped only in what it tells the
operator (someone meant to come back), and in that `resume` refuses anything else, so
a typo cannot restart a task that was stopped for a reason. The source keeps the log
the task has not read yet while it is paused (WAL behind a slot, binlogs), so a long
pause costs disk there.
"""

from __future__ import annotations

from typing import Any

from turnout import checkpoints
from turnout.errors import BadInput
from turnout.model import TaskState
from turnout.store import Store
from turnout.tasks.lifecycle import start_task, stop_task
from turnout.tasks.threads import start_task_here
from turnout.tasks.watch import ACTIVE, task_status


def pause_task(name: str, store: Store | None = None) -> dict[str, Any]:
    """Stop the task's worker after its current batch and mark it Paused; its status."""
    store = store or Store()
    record = store.get(name)
    if record.state is TaskState.PAUSED:
        return task_status(name, store)
    if record.state not in ACTIVE or not record.alive:
        raise BadInput(f"task {name!r} is not running ({record.state.value}): only a running "
                       f"task can be paused; `turnout task start {name}` starts it")
    stop_task(name, store)
    if store.get(name).state is TaskState.STOPPED:  # not Failed or Completed meanwhile
        store.update(name, state=TaskState.PAUSED)
        store.add_event(name, "info", "task paused: its capture position is kept; "
                        f"`turnout task resume {name}` goes on from it")
    return task_status(name, store)


def resume_task(name: str, store: Store | None = None, here: bool = False) -> int | None:
    """Start a worker for a Paused task, which goes on from its checkpoint; its pid (None:
    handed to the agents, one of which runs it, as start_task does). `here` runs it in a
    thread of this process instead, as `turnout serve` runs the tasks started from it."""
    store = store or Store()
    record = store.get(name)
    if record.state is not TaskState.PAUSED:
        raise BadInput(f"task {name!r} is {record.state.value}, not Paused: "
                       f"`turnout task start {name}` starts it")
    if checkpoints.DDL_WAITING.get(store, name) is not None:
        raise BadInput(f"task {name!r} waits at a DDL statement: `turnout task ddl {name}` "
                       "shows it and lets the task past it")
    pid = start_task_here(name, store) if here else start_task(name, store)
    store.add_event(name, "info", "task resumed from its checkpoint")
    return pid
