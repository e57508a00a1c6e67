"""A task's life as the store records it: created, run by a worker, started, stopped,
waited on, deleted, and its status in the shape of `turnout task status --json`.

A task runs in a detached worker process (`start_task`, what the CLI starts) or in a
thread of this process (`start_task_here`, what `turnout serve` starts, so its tasks need
no other process and stop cleanly with it; the next start resumes them).

turnout.api re-exports it for the faces; switchover calls it here, below the facade.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from turnout import checkpoints, engines, vault
from turnout.errors import NotFound, OperationFailed, TurnoutError
from turnout.migrate import heartbeat, runner
from turnout.model import Phase, TaskState
from turnout.naming import slot_name
from turnout.spec import TaskSpec
from turnout.status import TaskProgress, TaskStatus
from turnout.store import Store
from turnout.verify.strays import StrayWatch

ACTIVE = (TaskState.PRECHECKING, TaskState.MIGRATING)
FENCE_BY_HAND = "docs/switchover.md#a-fence-left-behind"
SOURCE_CHECK_S = 1.5  # how long status waits for the source (leftover slots) at most


def create_task(spec: TaskSpec, store: Store | None = None) -> dict[str, Any]:
    store = store or Store()
    for url, create in ((spec.source, False), (spec.dest, True)):
        engines.connect(url, create=create).close()  # fail now on a bad URL, not in the worker
    store.create_task(spec)
    return task_status(spec.name, store)


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
        error = (
            f"the worker (pid {record.pid}) exited without stopping the task: "
            f"`turnout task start {name}` resumes it"
        )
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
    )


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
    owned = {slot_name(r.name) for r in store.all_tasks()}
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


def run_task(name: str, stop: threading.Event | None = None, store: Store | None = None) -> str:
    """Run the task in this process until it completes, fails or is stopped; returns the state."""
    store = store or Store()
    stop = stop or threading.Event()
    if not store.claim(name, os.getpid()):
        raise OperationFailed(f"task {name!r} is already running (pid {store.get(name).pid})")
    watcher = threading.Thread(target=_watch_stop, args=(store, name, stop), daemon=True)
    watcher.start()
    try:
        state = runner.Runner(store, name, stop, _stray_watch(store, name, stop)).run()
    finally:
        stop.set()
        store.update(name, pid=None)
    return state.value


def _stray_watch(store: Store, name: str, stop: threading.Event) -> Callable[[], None] | None:
    """What starts the task's stray-row watch (verify/strays.py) once it follows the source,
    if its options ask for one: once per run, however often a retry enters that phase."""
    every = store.get(name).spec.options.stray_check_s
    if not every:
        return None
    started: list[StrayWatch] = []

    def start() -> None:
        if not started:
            started.append(StrayWatch(store, name, every, stop, status, wait_caught_up))
            started[0].start()

    return start


def _watch_stop(store: Store, name: str, stop: threading.Event) -> None:
    """Turn a stop request written to the store (by `task stop`) into the stop event."""
    store = store.reopen()
    while not stop.wait(0.3):
        try:
            if store.get(name).stop_requested:
                stop.set()
        except NotFound:
            stop.set()
    store.close()


def start_task(name: str, store: Store | None = None, timeout: float = 15.0,
               resnapshot: bool = False) -> int:
    """Start a detached worker for the task and return its pid once it has claimed the task.

    `resnapshot` first empties the destination tables and forgets where the copy and
    capture stood, so the task copies everything again (see runner.resnapshot).
    """
    store = store or Store()
    record = store.get(name)
    if record.alive:
        raise OperationFailed(f"task {name!r} is already running (pid {record.pid})")
    if resnapshot:
        runner.resnapshot(store, name)
    logs = store.home / "logs"
    vault.private_folder(logs, ours=True)
    vault.private_file(logs / f"{name}.log")
    env = dict(os.environ, TURNOUT_HOME=str(store.home))
    if store.url:
        env["TURNOUT_STORE"] = store.url
    with open(logs / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "turnout", "worker", name],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
        )
    deadline = time.time() + timeout
    while time.time() < deadline:
        if store.get(name).pid == proc.pid:
            return proc.pid
        if proc.poll() is not None:
            raise OperationFailed(
                f"the worker for {name!r} exited at once: see {logs / (name + '.log')}"
            )
        time.sleep(0.05)
    raise OperationFailed(f"the worker for {name!r} did not start within {timeout:.0f} s")


def stop_task(name: str, store: Store | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Ask the worker to stop after its current batch and wait until it has."""
    store = store or Store()
    record = store.get(name)
    if not record.alive:
        if record.state in ACTIVE:
            store.update(name, state=TaskState.STOPPED, pid=None)
        return task_status(name, store)
    store.update(name, stop_requested=1)
    if record.pid and record.pid != os.getpid():
        try:
            os.kill(record.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not store.get(name).alive:
            return task_status(name, store)
        time.sleep(0.1)
    raise OperationFailed(f"task {name!r} did not stop within {timeout:.0f} s (pid {record.pid})")


def delete_task(name: str, store: Store | None = None, force: bool = False) -> list[str]:
    """Stop the task, remove its capture objects, checkpoints and the write fence a rollback
    left on its destination, and forget it. What it did or left besides, one line each.

    When a side cannot be cleaned (gone, unreachable), the task is kept unless
    `force`, so nothing turnout installed is forgotten silently.
    """
    store = store or Store()
    record = store.get(name)
    stop_task(name, store)
    notes: list[str] = []
    try:
        runner.remove_capture(record.spec, name)
        notes += _lift_left_fence(record.spec, name, store)
    except TurnoutError as exc:
        if not force:
            raise OperationFailed(
                f"could not remove what task {name!r} installed: {exc} "
                "(fix that, or delete with --force to forget the task anyway)"
            ) from None
        store.add_event(name, "warning", f"forgotten without clean-up: {exc}")
        if checkpoints.ROLLBACK_FENCE_LEFT.present(store, name):
            notes.append(f"the write fence on {record.spec.dest_endpoint} stays: every session "
                         "but turnout's is refused writes there until it is lifted by hand "
                         f"({FENCE_BY_HAND})")
    store.delete_task(name)
    return notes


def _lift_left_fence(spec: TaskSpec, name: str, store: Store) -> list[str]:
    """A rollback leaves the destination fenced for the next switchover; a task deleted
    will have none, so the fence goes with it (and accounts it locked are unlocked)."""
    if not checkpoints.ROLLBACK_FENCE_LEFT.present(store, name):
        return []
    engine = engines.connect(spec.dest)
    try:
        if not engine.frozen():
            return []
        engine.unfreeze()
    finally:
        engine.close()
    return [f"writes allowed again on {spec.dest_endpoint}: the fence the rollback of "
            f"{name} left there is lifted"]


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
            raise OperationFailed(f"task {name!r} did not get there within {timeout:.0f} s")
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
    started later, so two in a row, both after `since`, prove it.
    """
    store = store or Store()
    since = time.time() if since is None else since
    first: float | None = None

    def caught_up(current: TaskStatus) -> bool:
        nonlocal first
        if current.phase is not Phase.INCREMENTAL or current.delay_s != 0:
            first = None
            return False
        if current.updated <= since:
            return False
        if first is None:
            first = current.updated
            return False
        return current.updated > first

    return wait_until(name, caught_up, timeout, store).to_json()


_here: dict[str, tuple[threading.Thread, threading.Event]] = {}
_here_lock = threading.Lock()


def start_task_here(name: str, store: Store | None = None, resnapshot: bool = False,
                    timeout: float = 15.0) -> int:
    """Run the task in a thread of this process instead of a detached worker; returns the pid.

    `turnout serve` runs the tasks started from it, so they need no other process and stop
    cleanly with the server (`stop_tasks_here`); the next start resumes them.
    """
    store = store or Store()
    with _here_lock:  # two starts at once would both pass the check before either claims
        record = store.get(name)
        thread = _here.get(name, (None, None))[0]
        if record.alive or (thread is not None and thread.is_alive()):
            raise OperationFailed(f"task {name!r} is already running (pid {record.pid})")
        if resnapshot:
            runner.resnapshot(store, name)
        stop = threading.Event()
        failure: list[TurnoutError] = []
        thread = threading.Thread(target=_run_here, args=(name, stop, store, failure),
                                  name=f"task-{name}")
        _here[name] = (thread, stop)
        thread.start()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if store.get(name).pid == os.getpid():
                return os.getpid()
            if not thread.is_alive():
                raise failure[0] if failure else OperationFailed(
                    f"task {name!r} ended at once: `turnout task events {name}` says why")
            time.sleep(0.02)
    raise OperationFailed(f"task {name!r} did not start within {timeout:.0f} s")


def _run_here(name: str, stop: threading.Event, store: Store,
              failure: list[TurnoutError]) -> None:
    """The body of a task thread: its own store connection, and failures kept for the starter
    (the runner itself records every failure of the task in the store)."""
    store = store.reopen()
    try:
        run_task(name, stop, store)
    except TurnoutError as exc:
        failure.append(exc)
    finally:
        store.close()


def stop_tasks_here(timeout: float = 60.0) -> None:
    """Stop every task this process runs in a thread, after its current batch (server exit)."""
    with _here_lock:
        running = list(_here.values())
    for _, stop in running:
        stop.set()
    deadline = time.time() + timeout
    for thread, _ in running:
        thread.join(max(0.0, deadline - time.time()))


def stop_pending_here(store: Store | None = None) -> bool:
    """Whether a task this process runs has a stop request waiting.

    `stop_task` from another process sends SIGTERM to the task's pid, which for a task run
    by `turnout serve` is the server: the server asks this to tell such a SIGTERM (meant for
    the task, which stops by itself) from one meant for the server.
    """
    store = store or Store()
    with _here_lock:
        names = [n for n, (thread, _) in _here.items() if thread.is_alive()]
    for name in names:
        try:
            if store.get(name).stop_requested:
                return True
        except NotFound:
            continue
    return False
