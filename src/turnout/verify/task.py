"""Verifying a task: its tables, with its renames and casts, while it runs or not.

The store says what the task is and whether it runs; a running task's differing keys are
read again once it has applied past them (settle.py), so rows in flight are not reported.
"""

from __future__ import annotations

from typing import Any

from turnout import checkpoints, engines
from turnout.errors import TurnoutError
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.verify import settle
from turnout.verify.applied import TaskApplied, running
from turnout.verify.run import run


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
    store = store or Store()
    spec = _following(name, store.get(name).spec)
    recheck = options.pop("recheck", False)
    if not running(name, store):
        return run(spec, applied=settle.Immediately() if recheck else None, **options)
    applied = TaskApplied(name, store)
    try:
        return run(spec, applied=applied, **options)
    finally:
        applied.close()


def _following(name: str, spec: TaskSpec) -> TaskSpec:
    """The task's options as they go on after the source renamed some of its tables (the
    destination's checkpoint says which: migrate/ddl.py)."""
    try:
        dst = engines.connect(spec.dest_endpoint)
    except TurnoutError:
        return spec  # run() says what is wrong with the destination
    try:
        if dst.capabilities.keyspace:
            return spec
        return spec.following(checkpoints.renamed_tables(dst.read_checkpoint(name)))
    finally:
        dst.close()
