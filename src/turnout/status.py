"""A task's status as one typed value, and its JSON form: `turnout task status --json`.

The JSON is a contract that scripts read (tests/contracts pins it byte for byte), so
to_json() writes the same keys in the same order with the same value types as ever;
inside turnout the status travels as TaskStatus, read by attribute (`status.phase is
Phase.INCREMENTAL`), never as a dict of strings. tasks/watch.py builds it from the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turnout.model import Phase, TaskState


@dataclass(frozen=True)
class TableProgress:
    """One table's full copy: rows copied of the rows counted at the source."""

    source: str
    dest: str
    rows_copied: int
    rows_total: int
    done: bool

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "dest": self.dest, "rows_copied": self.rows_copied,
                "rows_total": self.rows_total, "done": self.done}


@dataclass(frozen=True)
class TaskProgress:
    """How far the task got, as its worker last reported it.

    `delay_s` is None unless the worker runs (a report it can no longer update means
    nothing); `heartbeat_delay_s` is now minus the newest heartbeat the destination has
    applied, None before the first or from a source without heartbeats; `position` is
    where apply stands, a Position's JSON.
    """

    phase: Phase | None = None
    delay_s: float | None = None
    position: str | None = None
    changes_applied: int = 0
    tables: tuple[TableProgress, ...] = ()
    stray_rows: int = 0  # rows the last stray check found differing (verify/strays.py)
    heartbeat_delay_s: float | None = None


@dataclass(frozen=True)
class TaskStatus:
    """A task as `turnout task status` shows it.

    `state` is what the user sees: a task the store says is running whose worker is gone
    is FAILED, with `error` saying so. `detail` is what the worker does beyond its state
    ("reconnecting (attempt N, ...)"). `leftover_slots` is only looked up on request (it
    costs a connection to the source): `source_checked` says whether it was, and then
    None means the source did not answer.
    """

    name: str
    state: TaskState
    source: str  # the endpoints as shown: never with a password
    dest: str
    types: tuple[Phase, ...]
    updated: float
    progress: TaskProgress = TaskProgress()
    pid: int | None = None
    error: str | None = None
    detail: str | None = None
    source_checked: bool = False
    leftover_slots: tuple[str, ...] | None = None
    agent: str | None = None  # the agent whose worker runs the task (leases.py)
    lease_expires: float | None = None  # when its lease ends unless renewed

    @property
    def phase(self) -> Phase | None:
        return self.progress.phase

    @property
    def delay_s(self) -> float | None:
        return self.progress.delay_s

    @property
    def following(self) -> bool:
        """Whether the task runs and applies changes as they come (switchover may begin)."""
        return self.state is TaskState.MIGRATING and self.phase is Phase.INCREMENTAL

    @property
    def ended(self) -> bool:
        """Whether the task will not move on by itself: stopped, completed or failed."""
        return self.state in (TaskState.STOPPED, TaskState.COMPLETED, TaskState.FAILED)

    def to_json(self) -> dict[str, Any]:
        """The JSON contract, key for key in the order scripts have always seen."""
        progress = self.progress
        out: dict[str, Any] = {
            "name": self.name,
            "state": self.state.value,
            "phase": progress.phase.value if progress.phase else None,
            "phase_title": progress.phase.label if progress.phase else None,
            "delay_s": progress.delay_s,
            "pid": self.pid,
            "error": self.error,
            "source": self.source,
            "dest": self.dest,
            "types": [t.value for t in self.types],
            "position": progress.position,
            "changes_applied": progress.changes_applied,
            "updated": self.updated,
            "tables": [t.to_json() for t in progress.tables],
            "stray_rows": progress.stray_rows,
            "heartbeat_delay_s": progress.heartbeat_delay_s,
            "detail": self.detail,
            "agent": self.agent,
            "lease_expires": self.lease_expires,
        }
        if self.source_checked:
            slots = self.leftover_slots
            out["leftover_slots"] = list(slots) if slots is not None else None
        return out
