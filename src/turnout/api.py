"""The Python API: everything the CLI and the web console can do, and nothing they add.

Functions take and return plain values (specs, dicts shaped like the CLI's
JSON), so every face renders the same facts. A task's life (create, run, start, stop,
status, delete, wait) is in tasks.py and re-exported here.
"""

from __future__ import annotations

import time
from typing import Any

from turnout import checkpoints, engines
from turnout.endpoint import Endpoint
from turnout.engines.base import Engine
from turnout.errors import BadInput, NotFound, TurnoutError, Unsupported
from turnout.migrate import barrier
from turnout.migrate.runner import slot_name
from turnout.model import Session
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.tasks import (
    ACTIVE,
    SOURCE_CHECK_S,
    create_task,
    delete_task,
    events,
    leftover_slots,
    list_tasks,
    run_task,
    start_task,
    stop_task,
    task_status,
    wait_caught_up,
    wait_for,
)
from turnout.verify.run import run as verify_run

__all__ = [
    "ACTIVE", "SOURCE_CHECK_S", "create_task", "delete_task", "end_sessions", "events",
    "finish", "leftover_slots", "list_tasks", "precheck", "resolve_ddl", "rollback", "run_task",
    "sessions", "task_ddl",
    "start_task", "stop_task", "switchover", "switchover_abort", "switchover_status",
    "task_sessions", "task_status", "verify_task", "verify_urls", "wait_caught_up", "wait_for",
]


def sessions(url: str) -> list[Session]:
    engine = engines.connect(url)
    try:
        return engine.sessions()
    finally:
        engine.close()


def end_sessions(url: str, ids: list[str]) -> list[Session]:
    """Disconnect the sessions with these ids (never turnout's own); the sessions left."""
    endpoint = Endpoint.parse(url)
    if not engines.engine_class(endpoint.scheme).capabilities.end_sessions:
        raise Unsupported(f"{endpoint} cannot end sessions: stop the programs holding it")
    engine = engines.connect(endpoint)
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


def task_ddl(name: str, store: Store | None = None) -> dict[str, Any]:
    """The DDL the task waits at, as `turnout task ddl NAME --json` shows it:
    {"task", "waiting": {"id", "table", "statement", "held", "proposed"} or null}."""
    return {"task": name, "waiting": barrier.waiting(store or Store(), name)}


def resolve_ddl(name: str, how: str, sql: str | None = None,
                store: Store | None = None) -> dict[str, Any]:
    """Let the task past the DDL it waits at (migrate/barrier.py): "apply", "apply-sql"
    (with `sql`) or "skip"; the task goes on when started again."""
    return barrier.resolve(store or Store(), name, how, sql)


def precheck(name: str, store: Store | None = None) -> dict[str, Any]:
    """Run the task's precheck now and report instead of raising: the console shows the
    problems as a list before anyone starts the task, one line each with its fix.

    The checks are the worker's own (`build_plan`), so what passes here passes there.
    """
    from turnout.migrate.plan import build_plan

    store = store or Store()
    spec = store.get(name).spec
    first_run = not checkpoints.PRECHECKED.present(store, name)
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
    from turnout.switchover.procedure import STEPS

    store = store or Store()
    store.get(name)  # NotFound for an unknown task
    return {"steps": list(STEPS), "done": checkpoints.SWITCHOVER_STEP.get(store, name)}
