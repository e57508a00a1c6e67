"""The Python API: everything the CLI and the web console can do, and nothing they add.

Functions take and return plain values (specs, dicts shaped like the CLI's
JSON), so every face renders the same facts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from typing import Any

from turnout import engines, vault
from turnout.engines.base import Engine
from turnout.errors import BadInput, NotFound, OperationFailed, TurnoutError
from turnout.migrate import heartbeat, retry, runner
from turnout.migrate.runner import Runner, remove_capture, slot_name
from turnout.migrate.strays import STRAY_ROWS
from turnout.model import Phase, Session, TaskState
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.verify.run import run as verify_run

ACTIVE = (TaskState.PRECHECKING, TaskState.MIGRATING)
SOURCE_CHECK_S = 1.5  # how long status waits for the source (leftover slots) at most


def create_task(spec: TaskSpec, store: Store | None = None) -> dict[str, Any]:
    store = store or Store()
    for url, create in ((spec.source, False), (spec.dest, True)):
        engines.connect(url, create=create).close()  # fail now on a bad URL, not in the worker
    store.create_task(spec)
    return task_status(spec.name, store)


def task_status(name: str, store: Store | None = None, check_source: bool = False,
                ) -> dict[str, Any]:
    """The task as `turnout task status --json` shows it.

    `check_source` also asks the source for capture objects (replication
    slots) that turnout left behind and no task owns, under "leftover_slots"
    (None when the source cannot be reached or does not answer within
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
    return {
        "name": name,
        "state": state.value,
        "phase": record.phase.value if record.phase else None,
        "phase_title": record.phase.label if record.phase else None,
        # null, never 0, unless the worker runs: a report it can no longer update means nothing
        "delay_s": heartbeat.live_delay(now, record.delay_s, record.heartbeat) if running
        else None,
        "pid": record.pid if alive else None,
        "error": error,
        "source": str(spec.source_endpoint),
        "dest": str(spec.dest_endpoint),
        "types": [t.value for t in spec.types],
        "position": record.position,
        "changes_applied": record.changes_applied,
        "updated": record.updated,
        "tables": [
            {
                "source": t.source,
                "dest": t.dest,
                "rows_copied": t.rows_copied,
                "rows_total": t.rows_total,
                "done": t.done,
            }
            for t in store.tables(name)
        ],
        "stray_rows": int(store.checkpoint(name, STRAY_ROWS) or 0),
        # now minus the newest heartbeat turnout wrote on the source and the destination has
        # applied (heartbeat.py); null before the first, or from a source without heartbeats
        "heartbeat_delay_s": _since(now, store.checkpoint(name, heartbeat.APPLIED))
        if running and record.phase is Phase.INCREMENTAL else None,
        # what the worker is doing beyond its state: "reconnecting (attempt N, last error ...)"
        "detail": store.checkpoint(name, retry.DETAIL) if state in ACTIVE else None,
        **({"leftover_slots": leftover_slots(spec, store)} if check_source else {}),
    }


def _since(now: float, saved: str | None) -> float | None:
    return round(now - float(saved), 3) if saved else None


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
    watcher = threading.Thread(target=_watch_stop, args=(store.home, name, stop), daemon=True)
    watcher.start()
    try:
        state = Runner(store, name, stop).run()
    finally:
        stop.set()
        store.update(name, pid=None)
    return state.value


def _watch_stop(home: Any, name: str, stop: threading.Event) -> None:
    """Turn a stop request written to the store (by `task stop`) into the stop event."""
    store = Store(home)
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


def delete_task(name: str, store: Store | None = None, force: bool = False) -> None:
    """Stop the task, remove its capture objects and checkpoints, and forget it.

    When a side cannot be cleaned (gone, unreachable), the task is kept unless
    `force`, so nothing turnout installed is forgotten silently.
    """
    store = store or Store()
    record = store.get(name)
    stop_task(name, store)
    try:
        remove_capture(record.spec, name)
    except TurnoutError as exc:
        if not force:
            raise OperationFailed(
                f"could not remove what task {name!r} installed: {exc} "
                "(fix that, or delete with --force to forget the task anyway)"
            ) from None
        store.add_event(name, "warning", f"forgotten without clean-up: {exc}")
    store.delete_task(name)


def wait_for(name: str, predicate: Any, timeout: float, store: Store | None = None) -> dict:
    """Poll the task's status until `predicate(status)` holds; the status, or OperationFailed."""
    store = store or Store()
    deadline = time.time() + timeout
    while True:
        status = task_status(name, store)
        if predicate(status):
            return status
        if status["state"] == TaskState.FAILED.value:
            raise OperationFailed(f"task {name!r} failed: {status['error']}")
        if status["state"] in (TaskState.STOPPED.value, TaskState.COMPLETED.value):
            raise OperationFailed(f"task {name!r} is {status['state']}: it will not get there")
        if time.time() > deadline:
            raise OperationFailed(f"task {name!r} did not get there within {timeout:.0f} s")
        time.sleep(0.1)


def wait_caught_up(
    name: str, timeout: float, store: Store | None = None, since: float | None = None
) -> dict[str, Any]:
    """Wait until everything the source committed before `since` (default: now) is applied.

    One progress report with delay 0 is not enough: the read behind it may
    have started before `since`. The report after it comes from a read that
    started later, so two in a row, both after `since`, prove it.
    """
    store = store or Store()
    since = time.time() if since is None else since
    first: float | None = None

    def caught_up(status: dict[str, Any]) -> bool:
        nonlocal first
        if status["phase"] != "incremental" or status["delay_s"] != 0:
            first = None
            return False
        if status["updated"] <= since:
            return False
        if first is None:
            first = status["updated"]
            return False
        return bool(status["updated"] > first)

    return wait_for(name, caught_up, timeout, store)


def sessions(url: str) -> list[Session]:
    engine = engines.connect(url)
    try:
        return engine.sessions()
    finally:
        engine.close()


def end_sessions(url: str, ids: list[str]) -> list[Session]:
    """Disconnect the sessions with these ids (never turnout's own); the sessions left."""
    engine = engines.connect(url)
    try:
        listed = {s.id: s for s in engine.sessions()}
        for sid in ids:
            if sid not in listed:
                raise NotFound(f"no session {sid} on {engine.endpoint}: `turnout sessions` lists "
                               "them")
            if listed[sid].own:
                raise BadInput(f"session {sid} is turnout's own: stop its task instead")
        engine.end_sessions(ids)
        return _sessions_without(engine, set(ids))
    finally:
        engine.close()


def _sessions_without(engine: Engine, ended: set[str], timeout: float = 5.0) -> list[Session]:
    """The sessions, once the ended ones have left: a server ends a session a moment after
    it is asked to (PostgreSQL signals the backend), and listing it as still there would
    tell the user the request failed."""
    deadline = time.monotonic() + timeout
    while True:
        left = engine.sessions()
        if not ended & {s.id for s in left} or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def precheck(name: str, store: Store | None = None) -> dict[str, Any]:
    """Run the task's precheck now and report instead of raising: the console shows the
    problems as a list before anyone starts the task, one line each with its fix.

    The checks are the worker's own (`build_plan`), so what passes here passes there.
    """
    from turnout.migrate.plan import build_plan

    store = store or Store()
    spec = store.get(name).spec
    first_run = store.checkpoint(name, runner.PRECHECKED) is None
    src = dst = None
    try:
        src = engines.connect(spec.source_endpoint)
        dst = engines.connect(spec.dest_endpoint, create=True)
        plans = build_plan(spec, src, dst, first_run=first_run, slot=slot_name(name))
    except TurnoutError as exc:
        return {"ok": False, "problems": str(exc).splitlines(), "tables": []}
    finally:
        for engine in (src, dst):
            if engine is not None:
                engine.close()
    tables = [{"source": p.source.name, "dest": p.dest.name} for p in plans]
    return {"ok": True, "problems": [], "tables": tables}


def task_sessions(name: str, side: str, end: list[str] | None = None,
                  store: Store | None = None) -> list[Session]:
    """Sessions of the task's source or destination ("source" / "dest"), ending `end` first.

    Callers name the side, not the URL, so the password in the task's URL never leaves the
    store.
    """
    store = store or Store()
    spec = store.get(name).spec
    if side not in ("source", "dest"):
        raise BadInput(f"side {side!r} is neither source nor dest")
    url = spec.source_endpoint.url if side == "source" else spec.dest_endpoint.url
    return end_sessions(url, end) if end else sessions(url)


def verify_task(name: str, store: Store | None = None, **options: Any) -> dict[str, Any]:
    """Compare a task's source and destination tables, with its renames and casts.

    Options: level ("schema", "count", "content"), threads, max_rows_per_second,
    recheck (read the differing keys again even when the task is not running),
    settle_timeout, repair ("dest" or "source"), repair_file, apply,
    progress(table, done, total), say(message). While the task runs, differing keys
    are always read again once it has applied past them (verify/settle.py), so rows
    in flight are not reported; the report then has "recheck". The result is the
    JSON contract of `turnout verify --json`.
    """
    from turnout.verify.applied import TaskApplied, running
    from turnout.verify.settle import Immediately

    store = store or Store()
    spec = store.get(name).spec
    recheck = options.pop("recheck", False)
    if not running(name, store):
        return verify_run(spec, applied=Immediately() if recheck else None, **options)
    applied = TaskApplied(name, store)
    try:
        return verify_run(spec, applied=applied, **options)
    finally:
        applied.close()


def verify_urls(source: str, dest: str, tables: list[str] | None = None,
                **options: Any) -> dict[str, Any]:
    """Compare tables of the same names in two databases (no task needed)."""
    from turnout.verify.settle import Immediately

    spec = TaskSpec(name="verify", source=source, dest=dest, tables=tuple(tables or ("*",)))
    recheck = options.pop("recheck", False)
    return verify_run(spec, applied=Immediately() if recheck else None, **options)


def switchover(name: str, store: Store | None = None, say: Any = lambda _: None,
               **options: Any) -> dict[str, Any]:
    """Run (or resume) the switchover of a task; options as switchover.procedure.Options.
    `say(message)` hears each step as it happens (the task's event log keeps them too)."""
    from turnout.switchover import procedure

    return procedure.switchover(name, store, procedure.Options(**options), say)


def switchover_abort(name: str, store: Store | None = None, say: Any = lambda _: None,
                     ) -> dict[str, Any]:
    from turnout.switchover import procedure

    return procedure.abort(name, store, say)


def rollback(name: str, store: Store | None = None, say: Any = lambda _: None,
             **options: Any) -> dict[str, Any]:
    from turnout.switchover import back, procedure

    return back.rollback(name, store, procedure.Options(**options), say)


def finish(name: str, store: Store | None = None, say: Any = lambda _: None,
           keep_accounts: bool = False, admins: dict[str, str | None] | None = None,
           ) -> dict[str, Any]:
    """After switchover: remove turnout from both sides; `admins` maps "source" / "dest" to
    an admin URL that can drop that side's migration account."""
    from turnout.switchover import back

    return back.finish(name, store, say, keep_accounts, admins)


def switchover_status(name: str, store: Store | None = None) -> dict[str, Any]:
    """Where a task's switchover stands: the steps in order and the last one done (None when
    none is under way), for a checklist that ticks as it goes."""
    from turnout.switchover.procedure import STEP, STEPS

    store = store or Store()
    store.get(name)  # NotFound for an unknown task
    return {"steps": list(STEPS), "done": store.checkpoint(name, STEP)}
