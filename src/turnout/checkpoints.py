"""Every checkpoint turnout keeps: its key and the type of its value, in one place.

Two places hold them, both as text keyed by name:

- The store, per task (store.py's `checkpoints` table): how far the task's life got
  (prechecked, schema and full step done, where capture starts), the switchover's and
  the rollback's step and clocks, and what the worker reports beside its state. Each is
  a `Mark` below, read and written through it, so the key and the value's type are said
  once.
- The destination, written by the engine in the same transaction as the rows they cover
  (the `_turnout_checkpoint` table): where incremental apply stands (POSITION) and each
  span's progress in the full step (span_key / whole_table_key, SpanState).

Values keep the text forms earlier versions wrote (flags "1", clocks and counts as
Python writes numbers, positions as Position.to_json(), span progress as JSON), so a
store or a destination written before this module loads unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from turnout.store import Store
from turnout.values import Key, key_from_json, key_to_json

T = TypeVar("T")


@dataclass(frozen=True)
class Mark(Generic[T]):
    """One store checkpoint of a task: its key, and how its value is written as text."""

    key: str
    encode: Callable[[T], str]
    decode: Callable[[str], T]

    def get(self, store: Store, task: str) -> T | None:
        """The value, None when it was never set (or was cleared)."""
        text = store.checkpoint(task, self.key)
        return None if text is None else self.decode(text)

    def set(self, store: Store, task: str, value: T) -> None:
        store.set_checkpoint(task, self.key, self.encode(value))

    def present(self, store: Store, task: str) -> bool:
        """Whether it is set: a flag's whole meaning."""
        return store.checkpoint(task, self.key) is not None


def clear(store: Store, task: str, *marks: Mark[Any]) -> None:
    """Forget these checkpoints of the task (those not set are no matter)."""
    store.clear_checkpoints(task, [m.key for m in marks])


def _flag(key: str) -> Mark[bool]:
    """A step that is done (or a thing turnout did) once set; written as "1"."""
    return Mark(key, lambda _: "1", lambda _: True)


def _text(key: str) -> Mark[str]:
    return Mark(key, str, str)


def _clock(key: str) -> Mark[float]:
    """A moment as time.time() gives it, or a heartbeat's source clock."""
    return Mark(key, repr, float)


def _count(key: str) -> Mark[int]:
    return Mark(key, str, int)


# the task's own run (migrate/runner.py)
PRECHECKED = _flag("prechecked")  # the precheck passed once: later runs check less
SCHEMA_DONE = _flag("schema_done")
FULL_DONE = _flag("full_done")
CAPTURE_START = _text("capture_start")  # where capture starts: a Position's JSON, set once

# what the worker reports beside its state (task status)
DETAIL = _text("state_detail")  # "reconnecting (attempt N, last error: ...)" (retry.py)
HEARTBEAT_APPLIED = _clock("heartbeat_applied")  # newest heartbeat applied (heartbeat.py)
STRAY_ROWS = _count("stray_rows")  # rows the last stray check found differing (strays.py)
RECONNECTS = _count("reconnects")  # retries after a transient fault, ever (metrics)
# apply batch durations as a small histogram (batchtimes.py): {"le": [...], "counts": [...],
# "sum": seconds, "count": n}; the worker runs apart from `turnout serve`, which reads it
APPLY_BATCHES = Mark("apply_batches", json.dumps, json.loads)

# switchover (switchover/procedure.py): the last step done, what it fenced, its clocks
SWITCHOVER_STEP = _text("switchover_step")  # one of procedure.STEPS
SWITCHOVER_FROZE = _flag("switchover_froze")  # turnout froze the source (not --no-freeze)
SWITCHOVER_DEST_FROZE = _flag("switchover_dest_froze")  # this switchover fenced the dest
SWITCHOVER_FROZEN_AT = _clock("switchover_frozen_at")  # writes stopped: downtime starts
SWITCHOVER_MOVED_AT = _clock("switchover_moved_at")  # the workload could write again
SWITCHOVER = (SWITCHOVER_STEP, SWITCHOVER_FROZE, SWITCHOVER_DEST_FROZE, SWITCHOVER_FROZEN_AT,
              SWITCHOVER_MOVED_AT)

# rollback (switchover/back.py)
ROLLBACK_STEP = _text("rollback_step")  # one of back.STEPS
ROLLBACK_FROZEN_AT = _clock("rollback_frozen_at")
ROLLBACK_MOVED_AT = _clock("rollback_moved_at")
ROLLBACK = (ROLLBACK_STEP, ROLLBACK_FROZEN_AT, ROLLBACK_MOVED_AT)
# a rollback left the destination fenced (until the next switchover opens it, or the task
# is deleted: tasks.delete_task lifts it then)
ROLLBACK_FENCE_LEFT = _flag("rollback_fence_left")

# DDL at the barrier (migrate/ddl.py): what waits, as JSON ({"id", "table", "statement",
# "proposed": [statement...], "held": [why...]}), and how each DDL id was resolved
# ({id: "applied" | "skip"}) by `turnout task ddl`
DDL_NOTED = _flag("ddl_noted")  # the task's events said what becomes of DDL on its source
DDL_WAITING = Mark("ddl_waiting", json.dumps, json.loads)
DDL_RESOLVED = Mark("ddl_resolved", json.dumps, json.loads)

# every store checkpoint, by key: what a store may hold
MARKS: dict[str, Mark[Any]] = {m.key: m for m in (
    PRECHECKED, SCHEMA_DONE, FULL_DONE, CAPTURE_START, DETAIL, HEARTBEAT_APPLIED, STRAY_ROWS,
    RECONNECTS, APPLY_BATCHES,
    *SWITCHOVER, *ROLLBACK, ROLLBACK_FENCE_LEFT, DDL_NOTED, DDL_WAITING, DDL_RESOLVED)}


# -- the destination's checkpoints ------------------------------------------------------

POSITION = "position"  # where apply stands: a Position's JSON, saved with each batch
# a source table's columns, key and indexes as the stream has them at POSITION, once a DDL
# changed them (alter.layout_to_json); and a DDL whose alterations may not all be made yet
# (migrate/ddl.py: {"table", "before": layout, "renamed"}; "" once made)
LAYOUT = "layout:"
DDL_PENDING = "ddl_pending"
# the moved tables the source renamed, as the stream has them at POSITION: a JSON object from
# the name the task's options know a table by to its name in the stream (migrate/ddl.py)
RENAMED_TABLES = "renamed_tables"


def layouts(saved: dict[str, str]) -> dict[str, str]:
    """Per source table, its layout as the destination's checkpoints keep it (a table gone
    from the stream, dropped or renamed, keeps an empty value)."""
    return {k[len(LAYOUT):]: v for k, v in saved.items() if k.startswith(LAYOUT) and v}


def renamed_tables(saved: dict[str, str]) -> dict[str, str]:
    """The task's tables renamed at the source: the name its options know it by -> its name
    in the stream at the checkpoint's position."""
    text = saved.get(RENAMED_TABLES)
    return dict(json.loads(text)) if text else {}
_WHOLE = "full:"


def whole_table_key(table: str) -> str:
    """The full step's checkpoint of a table read as one span (every table, before spans)."""
    return f"{_WHOLE}{table}"


def span_key(table: str, n: int) -> str:
    """The checkpoint of span `n` of a table cut into key ranges. The number comes first
    because a table name may contain anything, `#` included."""
    return f"full#{n}:{table}"


@dataclass(frozen=True)
class SpanState:
    """A span's progress as the destination keeps it.

    `after` is the last key committed (None: nothing yet, or a table without a key, which
    has no order to resume in); `bounds` (lo exclusive, hi inclusive, None open) only for a
    span that is one of several; `at`, for a table without a key copied while capture ran,
    where capture stood in the view it was read from (a Position's JSON).
    """

    after: Key | None = None
    rows: int = 0
    done: bool = False
    at: str | None = None
    bounds: tuple[Key | None, Key | None] | None = None

    def to_text(self) -> str:
        """JSON with keys in the order every version wrote: lo, hi, after, rows, done, at."""
        value: dict[str, object] = {"after": _key_text(self.after), "rows": self.rows,
                                    "done": self.done}
        if self.at is not None:
            value["at"] = self.at
        if self.bounds is not None:
            lo, hi = self.bounds
            value = {"lo": _key_text(lo), "hi": _key_text(hi), **value}
        return json.dumps(value)

    @classmethod
    def from_text(cls, text: str, bounded: bool) -> SpanState:
        value = json.loads(text) or {}
        bounds = (_key(value.get("lo")), _key(value.get("hi"))) if bounded else None
        return cls(after=_key(value.get("after")), rows=int(value.get("rows", 0)),
                   done=bool(value.get("done")), at=value.get("at"), bounds=bounds)


def applied_up_to(dest_saved: dict[str, str], store: Store, task: str) -> str | None:
    """Where the task's apply stands (a Position's JSON), from the checkpoints read off its
    destination: before its first batch, where its capture started; None before that."""
    return dest_saved.get(POSITION) or CAPTURE_START.get(store, task)


def copied_at(saved: dict[str, str]) -> dict[str, str]:
    """Per source table without a key that was copied while capture ran, where capture stood
    in the view it was copied from (a Position's JSON), from the destination's checkpoints."""
    out: dict[str, str] = {}
    for name, text in saved.items():
        if name.startswith(_WHOLE) and '"at"' in text:
            at = (json.loads(text) or {}).get("at")
            if at:
                out[name[len(_WHOLE):]] = at
    return out


def _key(value: str | None) -> Key | None:
    return key_from_json(value) if value else None


def _key_text(key: Key | None) -> str | None:
    return key_to_json(key) if key is not None else None
