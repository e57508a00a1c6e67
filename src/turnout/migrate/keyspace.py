"""A task whose source holds keys, not tables (capabilities.keyspace: Redis): the schema
step has nothing to do, and the full and incremental steps are the engine's own session
(Engine.keyspace), which keeps its position on the destination.

The store learns the phase, the keys copied, the commands applied, the position and the
delay from the session's reports, as it does from the table steps.
"""

from __future__ import annotations

import threading
from typing import Protocol

from turnout import engines
from turnout.checkpoints import CAPTURE_START, FULL_DONE
from turnout.engines.base import Engine
from turnout.engines.capabilities import KeyspaceReport
from turnout.errors import BadInput
from turnout.model import Phase, Position, TaskState
from turnout.spec import TaskSpec
from turnout.store import Store

KEYS = "(keys)"  # the one line of the task's table list


class Progress(Protocol):
    """What the runner's progress offers (storeprogress.StoreProgress)."""

    def phase(self, phase: Phase) -> None: ...

    def table_rows(self, source: str, rows_copied: int, done: bool) -> None: ...

    def flush(self) -> None: ...

    def incremental(self, position: Position, delay_s: float | None, changes: int,
                    beat_applied: float | None = None) -> None: ...


class _Reporter:
    """Turns the session's reports into the store's phase, counts, position and delay."""

    def __init__(self, store: Store, name: str, progress: Progress) -> None:
        self.store, self.name, self.progress = store, name, progress
        self.phase: str | None = None
        self.copied = 0

    def __call__(self, report: KeyspaceReport) -> None:
        progress = self.progress
        if report.phase != self.phase:
            if report.phase == "incremental":
                if self.phase == "full":
                    progress.table_rows(KEYS, self.copied, True)
                    progress.flush()
                FULL_DONE.set(self.store, self.name, True)
            self.phase = report.phase
            progress.phase(Phase.FULL if report.phase == "full" else Phase.INCREMENTAL)
        if report.phase == "full":
            self.copied = report.count
            progress.table_rows(KEYS, report.count, False)
        elif report.position is not None:
            # the stream carries no commit times: only a heartbeat applied tells the delay
            # (a worker started again after kill -9 has a backlog with none in it)
            progress.incremental(report.position, None, report.count, report.beat_applied)


def run(store: Store, name: str, spec: TaskSpec, src: Engine, dst: Engine,
        progress: Progress, stop: threading.Event) -> TaskState:
    """Run the task's keyspace session until it is done (a full copy only) or stopped."""
    if type(dst) is not type(src):
        raise BadInput(f"a {src.scheme} source migrates only to a {src.scheme} destination "
                       f"(got {spec.dest_endpoint})")
    keyspace = src.keyspace
    assert keyspace is not None  # capabilities.keyspace promised one
    store.set_tables(name, [(KEYS, KEYS, 0)])
    store.update(name, state=TaskState.MIGRATING)
    full_done = FULL_DONE.present(store, name)
    follow = Phase.INCREMENTAL in spec.types
    if full_done and not follow:
        return TaskState.COMPLETED
    start = None
    if Phase.FULL not in spec.types and not full_done:
        saved = CAPTURE_START.get(store, name)  # switchover's reverse task: its marker
        if saved is None:
            raise BadInput("a Redis task copies every key before it follows the stream: "
                           "create it with the full type too (schema is accepted, a no-op)")
        start = engines.position_from_json(saved)
    keyspace.migrate(spec.dest_endpoint, name, stop, _Reporter(store, name, progress),
                     follow=follow, resnapshot=not full_done and start is None,
                     selects=spec.narrowing(), start=start,
                     big_key_bytes=spec.options.big_key_bytes)
    if not follow:
        progress.flush()
        FULL_DONE.set(store, name, True)
        return TaskState.COMPLETED
    return TaskState.STOPPED
