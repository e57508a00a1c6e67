"""A task's life as the store records it: created, run, started as a detached worker
process, stopped, deleted.

A task started from the CLI gets a worker process of its own (`turnout worker NAME`,
which calls run_task); threads.py runs tasks in threads of `turnout serve` instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from turnout import checkpoints, engines, leases, vault
from turnout.errors import NotFound, OperationFailed, TurnoutError
from turnout.migrate import runner, setup
from turnout.model import TaskState, taken_over, write_under
from turnout.processes import process_started
from turnout.spec import TaskSpec
from turnout.store import Store, TaskRecord
from turnout.tasks.alerting import AlertWatch
from turnout.tasks.watch import ACTIVE, status, task_status, wait_caught_up
from turnout.verify.strays import StrayWatch

FENCE_BY_HAND = "docs/switchover.md#a-fence-left-behind"


def create_task(spec: TaskSpec, store: Store | None = None) -> dict[str, Any]:
    store = store or Store()
    for url, create in ((spec.source, False), (spec.dest, True)):
        engines.connect(url, create=create).close()  # fail now on a bad URL, not in the worker
    store.create_task(spec)
    return task_status(spec.name, store)


def run_task(name: str, stop: threading.Event | None = None, store: Store | None = None,
             epoch: int | None = None) -> str:
    """Run the task in this process until it completes, fails or is stopped; returns the state.

    `epoch`: an agent's worker (agent.py), which runs while the agent's lease has that epoch
    and writes it with every destination checkpoint, so a successor fences it off."""
    store = store or Store()
    stop = stop or threading.Event()
    if not store.claim(name, os.getpid(), epoch):
        if epoch is not None:  # said in the task's events too: the worker's log is its machine's
            fenced = taken_over(name, store.get(name).epoch, epoch, "store")
            store.add_event(name, "warning", str(fenced))
            raise fenced
        raise OperationFailed(f"task {name!r} is already running (pid {store.get(name).pid})")
    write_under(name, epoch)
    watcher = threading.Thread(target=_watch_stop, args=(store, name, stop), daemon=True)
    watcher.start()
    alerts = AlertWatch(store, name, stop)
    alerts.start()
    state = None
    try:
        state = runner.Runner(store, name, stop, _stray_watch(store, name, stop),
                              epoch).run()
    finally:
        stop.set()
        alerts.finish(state.value if state else None)
        write_under(name, None)
        if epoch is None or leases.holds(store, name, epoch):
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


def precheck(name: str, store: Store | None = None) -> dict[str, Any]:
    """The task's precheck as a report ({"ok", "problems", "tables", "switchover", "ddl"}):
    migrate/setup.py."""
    return setup.precheck(store or Store(), name)


def start_task(name: str, store: Store | None = None, timeout: float = 15.0,
               resnapshot: bool = False) -> int | None:
    """Start the task: hand it to the agents when one is alive (None: an agent takes it
    within a second, agent.py), else start a detached worker here and return its pid once
    it has claimed the task.

    `resnapshot` first empties the destination tables and forgets where the copy and
    capture stood, so the task copies everything again (see migrate/setup.resnapshot).
    """
    store = store or Store()
    record = _settled(store, name)
    if record.alive:
        raise OperationFailed(f"task {name!r} is already running "
                              + (f"(agent {record.agent})" if record.agent
                                 else f"(pid {record.pid})"))
    if resnapshot:
        setup.resnapshot(store, name)
    if leases.alive(store):
        store.update(name, wanted=1, stop_requested=0)
        store.add_event(name, "info", "start asked: an agent takes the task")
        return None
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
    return _claimed(store, name, proc, timeout)


def _claimed(store: Store, name: str, proc: subprocess.Popen[bytes], timeout: float) -> int:
    """Wait until the worker `proc` has claimed the task and return its pid.

    A small task can be claimed, run to its end and left (pid cleared) between two looks,
    on a busy machine above all; the start time the claim records says it was this worker.
    The child stays a zombie until poll() reaps it, so its start time is readable here."""
    started = process_started(proc.pid)

    def ours() -> bool:
        record = store.get(name)
        return record.pid == proc.pid or (
            record.pid is None and started is not None and record.pid_started == started)

    deadline = time.time() + timeout
    while time.time() < deadline:
        if ours():
            return proc.pid
        if proc.poll() is not None:
            if ours():  # it ended between the look and the poll
                return proc.pid
            raise OperationFailed(f"the worker for {name!r} exited at once: "
                                  f"see {store.home / 'logs' / (name + '.log')}")
        time.sleep(0.05)
    raise OperationFailed(f"the worker for {name!r} did not start within {timeout:.0f} s")


ENDED = (TaskState.STOPPED, TaskState.COMPLETED, TaskState.FAILED)
EXIT_WAIT_S = 10.0  # how long start waits for a worker that recorded its end to exit


def _settled(store: Store, name: str) -> TaskRecord:
    """The task's record, once a worker that has written its end (Failed, say) has also
    exited: it closes its connections a moment after, and a start right then is no clash."""
    deadline = time.time() + EXIT_WAIT_S
    record = store.get(name)
    while record.alive and record.state in ENDED and time.time() < deadline:
        time.sleep(0.05)
        record = store.get(name)
    return record


def stop_task(name: str, store: Store | None = None, timeout: float = 60.0) -> dict[str, Any]:
    """Ask the worker to stop after its current batch and wait until it has."""
    store = store or Store()
    record = store.get(name)
    if record.wanted:
        store.update(name, wanted=0)  # no agent takes it again
    if not record.alive:
        if record.state in ACTIVE:
            store.update(name, state=TaskState.STOPPED, pid=None)
        return task_status(name, store)
    store.update(name, stop_requested=1)  # the worker watches for it, on any machine
    if record.pid and record.pid != os.getpid() and not record.agent:
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
        setup.remove_capture(record)
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
