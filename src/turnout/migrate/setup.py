"""What is done to a task outside its run: its precheck as a report, its capture installed
ahead of a run (prepare, for switchover's reverse task) or taken off the source (delete),
a resnapshot, and the capture's start fixed once (start_capture, which runs use too).
"""

from __future__ import annotations

from typing import Any

from turnout import checkpoints, engines
from turnout.checkpoints import CAPTURE_START, FULL_DONE, PRECHECKED
from turnout.engines.base import Capture, Engine
from turnout.errors import TurnoutError
from turnout.migrate import keyspace
from turnout.migrate.plan import TablePlan, build_plan
from turnout.model import Phase, Position
from turnout.store import Store, TaskRecord
from turnout.switchover.reverse import reverse_problem


def start_capture(store: Store, name: str, src: Engine, plans: list[TablePlan],
                  late: list[str] | None = None) -> tuple[Capture, Position]:
    """Install capture and fix where it starts, once, before any row is read.

    Once the start is saved, capture is only checked, never installed again: a slot or change
    log lost since would otherwise come back at the log's end and skip what was committed in
    between. A run that dies after install() but before the start is saved installs again:
    nothing has been read yet, so a start fixed then is as good (PostgreSQL keeps the slot the
    first attempt made, and with it that attempt's start).
    """
    capture = src.capture([p.source for p in plans], store.get(name).capture_name)
    if late:
        capture.joining(late)
    saved = CAPTURE_START.get(store, name)
    if saved:
        capture.resume()
        return capture, engines.position_from_json(saved)
    capture.install()
    start = capture.current_position()
    CAPTURE_START.set(store, name, start.to_json())
    store.add_event(name, "info", f"change capture installed; it starts at {start.to_dict()}")
    return capture, start


def prepare(store: Store, name: str) -> None:
    """Precheck the task and install its capture now, without running it: a task that must
    capture from this very moment (switchover's reverse task, before the workload moves)."""
    spec = store.get(name).spec
    src = engines.connect(spec.source_endpoint)
    dst = engines.connect(spec.dest_endpoint)
    try:
        first_run = not PRECHECKED.present(store, name)
        if src.capabilities.keyspace:  # no tables: the capture keeps the stream's backlog
            plans = []
            store.set_tables(name, [(keyspace.KEYS, keyspace.KEYS, 0)])
        else:
            plans = build_plan(spec, src, dst, first_run=first_run,
                               slot=store.get(name).capture_name)
            store.set_tables(name, [(p.source.name, p.dest.name, 0) for p in plans])
        PRECHECKED.set(store, name, True)
        if Phase.INCREMENTAL in spec.types:
            start_capture(store, name, src, plans)
    finally:
        src.close()
        dst.close()


def precheck(store: Store, name: str) -> dict[str, Any]:
    """Run the task's precheck now and report instead of raising: the console shows the
    problems as a list before anyone starts the task, one line each with its fix.

    The checks are the worker's own (`build_plan`), so what passes here passes there.
    """
    spec = store.get(name).spec
    first_run = not PRECHECKED.present(store, name)
    src = dst = None
    try:
        src = engines.connect(spec.source_endpoint)
        dst = engines.connect(spec.dest_endpoint, create=True)
        later = src.switchover_problems() + dst.switchover_problems()
        if (no_reverse := reverse_problem(spec)) is not None:
            later.append(no_reverse)
        if src.capabilities.keyspace:  # no tables: what the engine's own session needs
            problems = src.capture_problems(store.get(name).capture_name) + dst.write_problems()
            return {"ok": not problems, "problems": problems,
                    "tables": [{"source": keyspace.KEYS, "dest": keyspace.KEYS}],
                    "switchover": later, "ddl": None}
        plans = build_plan(spec, src, dst, first_run=first_run, slot=store.get(name).capture_name)
        ddl = src.ddl_ahead() if Phase.INCREMENTAL in spec.types else None
    except TurnoutError as exc:
        return {"ok": False, "problems": str(exc).splitlines(), "tables": [],
                "switchover": [], "ddl": None}
    finally:
        for engine in (src, dst):
            if engine is not None:
                engine.close()
    tables = [{"source": p.source.name, "dest": p.dest.name} for p in plans]
    return {"ok": True, "problems": [], "tables": tables, "switchover": later, "ddl": ddl}


def resnapshot(store: Store, name: str) -> None:
    """Forget where the task's copy and capture stand and empty its destination tables, so
    the next run copies everything afresh and captures from then on (after the source
    lost changes the task had not read, say, to a purged log)."""
    spec = store.get(name).spec
    if engines.engine_class(spec.source_endpoint.scheme).capabilities.keyspace:
        checkpoints.clear(store, name, CAPTURE_START, FULL_DONE)  # the next run copies afresh
        store.update(name, position=None)
        store.add_event(name, "info", "resnapshot: the next run empties the destination's "
                        "databases and copies every key afresh")
        return
    remove_capture(store.get(name))
    dst = engines.connect(spec.dest_endpoint)
    try:
        tables = [t.dest for t in store.tables(name) if dst.table_exists(t.dest)]
        dst.empty_tables(tables)
    finally:
        dst.close()
    checkpoints.clear(store, name, CAPTURE_START, FULL_DONE)
    store.update(name, position=None)
    store.add_event(name, "info", f"resnapshot: emptied {len(tables)} destination tables; "
                    "the next run copies them afresh")


def remove_capture(record: TaskRecord) -> None:
    """Take the task's capture objects off the source and its checkpoints off the destination.
    An engine of keys installs nothing on its source: its replication session ends with it."""
    spec, name = record.spec, record.name
    if not engines.engine_class(spec.source_endpoint.scheme).capabilities.keyspace:
        src = engines.connect(spec.source_endpoint)
        try:
            src.capture([], record.capture_name).remove()
        finally:
            src.close()
    try:
        dst = engines.connect(spec.dest_endpoint)
    except TurnoutError:
        return  # the destination was never created
    try:
        dst.drop_checkpoint(name)
    finally:
        dst.close()
