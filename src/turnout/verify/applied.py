"""How far a running task has applied its source, for verification's re-check (settle.py).

A mark is a position committed on the source now (the capture's marker, as
switchover's drain uses): every row any read saw before it was committed
before it. The task has applied it once the destination's checkpoint, which
the applier writes in the same transaction as the rows, is at or past it.
Reading a clock instead (the task's delay) needs an idle moment, which a
busy application never gives.
"""

from __future__ import annotations

from turnout import checkpoints, engines
from turnout.engines.base import Engine
from turnout.model import Phase, Position, TaskState
from turnout.store import Store


class TaskApplied:
    """settle.Applied for the task `name`; close() when done."""

    def __init__(self, name: str, store: Store) -> None:
        self.name, self.store = name, store
        self.spec = store.get(name).spec
        self._dest: Engine | None = None

    def mark(self) -> Position:
        src = engines.connect(self.spec.source_endpoint)
        try:
            capture = src.capture([], self.store.get(self.name).capture_name)
            try:
                return capture.marker()
            finally:
                capture.close()
        finally:
            src.close()

    def reached(self, mark: Position) -> bool:
        """Before its first batch a task stands where its capture started."""
        if self._dest is None:
            self._dest = engines.connect(self.spec.dest_endpoint)
        saved = checkpoints.applied_up_to(self._dest.read_checkpoint(self.name), self.store,
                                          self.name)
        return saved is not None and not engines.position_from_json(saved) < mark

    def stalled(self) -> str | None:
        if running(self.name, self.store):
            return None
        record = self.store.get(self.name)
        if record.state is TaskState.MIGRATING and record.alive:
            return f"task {self.name} is copying its tables: verify once it follows changes"
        return (f"task {self.name} is {record.state.value} and applies nothing: "
                f"`turnout task start {self.name}`, then verify again")

    def close(self) -> None:
        if self._dest is not None:
            self._dest.close()
            self._dest = None


def running(name: str, store: Store) -> bool:
    """Whether the task's worker is following changes now (rows may be in flight). While it
    still copies tables, differences are the copy's progress: nothing to wait for."""
    record = store.get(name)
    return (record.state is TaskState.MIGRATING and record.alive
            and record.phase is Phase.INCREMENTAL)
