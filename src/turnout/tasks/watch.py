"""Watching a task: its status now (the `turnout task status` facts), its events, and
waits until its status says what a caller waits for.

Read-only: nothing here starts, stops or changes a task (lifecycle.py does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from turnout import checkpoints, engines
from turnout.errors import OperationFailed, TurnoutError
from turnout.migrate import heartbeat
from turnout.model import Phase, TaskState
from turnout.spec import TaskSpec
from turnout.status import TaskProgress, TaskStatus
from turnout.store import Store

ACTIVE = (TaskState.PRECHECKING, TaskState.MIGRATING)
SOURCE_CHECK_S = 1.5  # how long status waits for the source (leftover slots) at most


def status(name: str, store: Store | None = None, check_source: bool = False) -> TaskStatus:
    """The task as `turnout task status` shows it; to_json() is the `--json` contract.

    `check_source` also asks the source for capture objects (replication
    slots) that turnout left behind and no task owns (leftover_slots, None
    when the source cannot be reached or does not answer within
    SOURCE_CHECK_S): it costs a connection, so pollers leave it off.
    """
    store = store or Store()
    record = store.get(name)
    alive = record.alive
    state, error = record.state, record.error
    if state in ACTIVE and not alive:
        state = TaskState.FAILED
        error = dead_worker_error(name, record.pid)
    spec = record.spec
    now = time.time()
    running = state is TaskState.MIGRATING
    progress = TaskProgress(
        phase=record.phase,
        delay_s=heartbeat.live_delay(now, record.delay_s, record.heartbeat) if running
        else None,
        position=record.position,
        changes_applied=record.changes_applied,
        tables=tuple(store.tables(name)),
        stray_rows=checkpoints.STRAY_ROWS.get(store, name) or 0,
        heartbeat_delay_s=_since(now, checkpoints.HEARTBEAT_APPLIED.get(store, name))
        if running and record.phase is Phase.INCREMENTAL else None,
    )
    slots = leftover_slots(spec, store) if check_source else None
    return TaskStatus(
        name=name,
        state=state,
        source=str(spec.source_endpoint),
        dest=str(spec.dest_endpoint),
        types=spec.types,
        updated=record.updated,
        progress=progress,
        pid=record.pid if alive else None,
        error=error,
        detail=checkpoints.DETAIL.get(store, name) if state in ACTIVE else None,
        source_checked=check_source,
        leftover_slots=tuple(slots) if slots is not None else None,
        agent=record.agent if alive else None,
        lease_expires=record.lease_expires if alive and record.agent else None,
    )


def dead_worker_error(name: str, pid: int | None) -> str:
    """What a task whose worker died says, in its status and its failure alert."""
    return (f"the worker (pid {pid}) exited without stopping the task: "
            f"`turnout task start {name}` resumes it")


def task_status(name: str, store: Store | None = None, check_source: bool = False,
                ) -> dict[str, Any]:
    """status() in its JSON form, for the faces (the CLI's `--json`, the REST API)."""
    return status(name, store, check_source).to_json()


def _since(now: float, saved: float | None) -> float | None:
    return round(now - saved, 3) if saved is not None else None


def leftover_slots(spec: TaskSpec, store: Store) -> list[str] | None:
    """Slots on the task's source that turnout made and no task owns (a crash mid-delete).

    None when the source does not answer within SOURCE_CHECK_S: status must never hang
    on a source that is down or behind a network that drops packets. The look-up runs
    in a thread of its own, which is left to finish (or fail) by itself then.
    """
    owned = {r.capture_name for r in store.all_tasks()}
    found: list[list[str] | None] = []

    def look() -> None:
        try:
            source = engines.connect(spec.source_endpoint)
        except TurnoutError:
            found.append(None)
            return
        try:
            found.append(source.leftover_captures(owned))
        except Exception:  # noqa: BLE001 - status shows what it can; the check is optional
            found.append(None)
        finally:
            source.close()

    looking = threading.Thread(target=look, name="turnout-leftover-slots", daemon=True)
    looking.start()
    looking.join(SOURCE_CHECK_S)
    return found[0] if found else None


def list_tasks(store: Store | None = None) -> list[dict[str, Any]]:
    store = store or Store()
    return [task_status(r.name, store) for r in store.all_tasks()]


def events(name: str, after_id: int = 0, store: Store | None = None) -> list[dict[str, Any]]:
    store = store or Store()
    store.get(name)
    return [asdict(e) for e in store.events(name, after_id)]


def wait_until(name: str, predicate: Callable[[TaskStatus], bool], timeout: float,
               store: Store | None = None) -> TaskStatus:
    """Poll the task's status until `predicate(status)` holds; the status, or OperationFailed
    once the task has ended (it will not get there) or `timeout` seconds have passed."""
    store = store or Store()
    deadline = time.time() + timeout
    while True:
        current = status(name, store)
        if predicate(current):
            return current
        if current.state is TaskState.FAILED:
            raise OperationFailed(f"task {name!r} failed: {current.error}")
        if current.ended:
            raise OperationFailed(f"task {name!r} is {current.state.value}: it will not get "
                                  "there")
        if time.time() > deadline:
            raise OperationFailed(f"task {name!r} did not get there within {timeout:.0f} s "
                                  f"(it is {current.state.value}, phase "
                                  f"{current.phase.label if current.phase else None})")
        time.sleep(0.1)


def wait_for(name: str, predicate: Callable[[dict[str, Any]], bool], timeout: float,
             store: Store | None = None) -> dict[str, Any]:
    """wait_until() for the faces and scripts: `predicate` reads the status's JSON form."""
    return wait_until(name, lambda current: predicate(current.to_json()), timeout,
                      store).to_json()


def wait_caught_up(
    name: str, timeout: float, store: Store | None = None, since: float | None = None
) -> dict[str, Any]:
    """Wait until everything the source committed before `since` (default: now) is applied;
    the status then, in its JSON form.

    One progress report with delay 0 is not enough: the read behind it may
    have started before `since`. The report after it comes from a read that
    started later, so two in a row, both after `since`, prove it. On a source
    that never goes quiet (other databases of the same server written all the
    time) the delay never reaches 0; there a heartbeat written after `since`
    and applied proves it, since it came after everything before it in the
    stream (both times are this machine's clock, so not for a task an agent runs).

    A stream that carries no commit times (Redis: capabilities.keyspace) has only the
    heartbeat to go by, and a heartbeat up to heartbeat.GRACE_S old reads as delay 0: two
    such reports can both come from before `since` while writes made between it and
    `since` are still unread. There only an applied heartbeat written after `since` counts
    (for a task on an agent, whose clock is not this one's, the two reports still do).
    """
    store = store or Store()
    since = time.time() if since is None else since
    first: float | None = None
    source = store.get(name).spec.source_endpoint.scheme
    beats_only = engines.engine_class(source).capabilities.keyspace

    def caught_up(current: TaskStatus) -> bool:
        nonlocal first
        # a worker on an agent writes heartbeats by its machine's clock, not this one's
        if current.phase is Phase.INCREMENTAL and current.agent is None \
                and _beat_after(store, name, since):
            return True
        if current.phase is not Phase.INCREMENTAL or current.delay_s != 0:
            first = None
            return False
        if beats_only and current.agent is None:
            return False
        if current.updated <= since:
            return False
        if first is None:
            first = current.updated
            return False
        return current.updated > first

    return wait_until(name, caught_up, timeout, store).to_json()


def _beat_after(store: Store, name: str, since: float) -> bool:
    """Whether the destination has applied a heartbeat the source wrote after `since`."""
    beat = checkpoints.HEARTBEAT_APPLIED.get(store, name)
    return beat is not None and beat > since
