"""Tasks that run inside this process, in threads: what `turnout serve` starts.

A task started from the CLI gets a detached worker process (lifecycle.start_task); the web
server instead runs the tasks started from it itself, so they need no other process and
stop cleanly with it (the next start resumes them).
"""

from __future__ import annotations

import os
import threading
import time

from turnout.errors import NotFound, OperationFailed, TurnoutError
from turnout.migrate import setup
from turnout.store import Store
from turnout.tasks.lifecycle import run_task

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
            setup.resnapshot(store, name)
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
