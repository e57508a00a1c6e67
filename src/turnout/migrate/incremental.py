"""Incremental step: follow the source's changes and apply them in batches.

The position each batch ends at is written in the same destination
transaction as the batch, so after a crash the destination itself says where
to resume; replaying a little is harmless because apply is by key.

Tables without a key are the exception: a change to one acts on one row
holding given values, so a change applied twice is a row too many (an
insert) or too few (a delete). None is applied twice, for three reasons:

- Between the full step and this one. Capture starts before the copy's
  snapshot, so changes in between are in the copy already. For such a table
  the full step saved where capture stood in the very view it read
  (Capture.view_position, checkpoints.copied_at), and changes to that table at or
  before that place are left out here (_unseen). An engine that cannot tell
  that place fails the copy instead (full.py).
- After a crash or a stop. The checkpoint is committed in the same
  destination transaction as the batch, and reading resumes exactly after
  it: each engine's capture hands out nothing at or before the position it
  is asked to read after (SQLite numbers every change; MySQL and PostgreSQL
  skip transactions that ended there or before).
- Large transactions. A capture may hand out a transaction too large for
  memory in pieces, whose checkpoint still names the place before it, so a
  crash between pieces reads the whole transaction again. A transaction that
  changes a table without a key is therefore never cut into pieces (the
  captures hold it whole until its commit: memory grows with such a
  transaction, which is the price of not guessing).

A reader thread (reader.py) reads the next batches while this one applies the
last, and the reads waiting when a batch is done are applied as one.
"""

from __future__ import annotations

import threading
import time
from functools import partial

from turnout.checkpoints import DDL_PENDING, POSITION, copied_at, layouts
from turnout.coalesce import Route, coalesce
from turnout.engines import position_from_json
from turnout.engines.base import Capture, Engine
from turnout.errors import OperationFailed
from turnout.migrate import joining
from turnout.migrate.ddl import DdlApplier, DdlWaiting
from turnout.migrate.heartbeat import Heartbeat
from turnout.migrate.progress import Progress
from turnout.migrate.reader import Read, Reader
from turnout.migrate.throttle import Throttle, size_of
from turnout.model import Change, Checkpoint, Op, Position


def follow(
    capture: Capture,
    dst: Engine,
    routes: dict[str, Route],
    owner: str,
    start: Position,
    batch_changes: int,
    poll_interval: float,
    progress: Progress,
    stop: threading.Event,
    on_truncate: str = "apply",
    stall_timeout_s: float = 30.0,
    beats_since: float | None = None,
    ddl: DdlApplier | None = None,
    throttle: Throttle | None = None,
    awaiting: set[str] | None = None,
) -> Position:
    """Apply changes until `stop` is set; returns the position applied up to.

    With `on_truncate` "stop", a TRUNCATE of a moved table stops the task
    once everything committed before it is applied. A read that has not come back
    after `stall_timeout_s` (every read returns within seconds, idle or not) means the
    source stopped answering: the fault is raised as transient, and the runner
    reconnects. A DDL change goes to `ddl` (migrate/ddl.py) once every change before it
    is applied; without one, a capture hands out none. `awaiting`: tables that began to
    match --tables while the task was stopped, which join at their CREATE TABLE; a read
    that finds the stream caught up without one stops the task (migrate/joining.py).
    """
    awaiting = set(awaiting or ())
    saved_all = dst.read_checkpoint(owner)
    saved = saved_all.get(POSITION)
    position = position_from_json(saved) if saved else start
    copied = {t: position_from_json(at) for t, at in copied_at(saved_all).items()}
    if ddl is not None:
        _finish_pending(ddl, dst, owner, saved_all.get(DDL_PENDING, ""))
        ddl.ensure_tables()
        if not layouts(saved_all) and ddl.layouts():  # where the stream's layouts start
            dst.apply(coalesce([], {}, position), Checkpoint(owner, {
                POSITION: position.to_json(), **ddl.layouts()}))
    capture.ack(position)  # the destination may have committed past the last ack before a crash
    reader = Reader(capture, position, batch_changes, poll_interval, stop, stall_timeout_s)
    capture.applier_waiting = reader.waited
    reader.start()
    beats = Heartbeat(capture, stop, progress)
    beats.start()
    applied, beat_applied = 0, None
    started = time.time() if beats_since is None else beats_since
    try:
        while (read := reader.next()) is not None:
            oldest_applied = None
            truncated = _truncation(read, routes) if on_truncate == "stop" else None
            if truncated is not None:
                read = truncated[0]
            if read.advances:
                for part, end, change in _cut_at_ddl(read.changes, read.end, position):
                    values = {POSITION: end.to_json()}
                    if change is not None and ddl is not None:
                        _barrier(ddl, dst, owner, part, change, position, routes, copied)
                        values |= ddl.pending(change.table, change.ddl)  # type: ignore[arg-type]
                    batch = coalesce(_unseen(part, copied), routes, end)
                    began = time.monotonic()
                    dst.apply(batch, Checkpoint(owner, values))
                    progress.batch(time.monotonic() - began)
                    if change is not None and ddl is not None:
                        _apply_ddl(ddl, dst, owner, change, end)
                        awaiting -= set(ddl.plans)  # created, or renamed to that name
                    reader.applied = position = end
                    applied += len(part)
                    if oldest_applied is None:
                        oldest_applied = batch.first_commit_ts
            # all before the heartbeat is applied now; one from before `beats_since` (replayed
            # from where the source kept the stream) tells nothing about this worker's delay
            if truncated is None and read.beat is not None and read.beat >= started:
                beat_applied = read.beat
            report = partial(progress.incremental, position, changes=applied,
                             beat_applied=beat_applied,
                             delay_s=_delay(oldest_applied, read.pending_ts))
            report()
            if throttle is not None and read.advances:  # reported first, then paced
                throttle.took(len(read.changes),
                              _size(read.changes) if throttle.counts_bytes else 0, report)
            if truncated is not None:
                raise OperationFailed(truncated[1])
            if awaiting and not read.changes and read.pending_ts is None:
                raise joining.never_created(sorted(awaiting), owner)
    finally:
        beats.done.set()
        reader.finish()
    capture.ack(position)  # the reader's last acknowledgement may be a batch behind
    return position


def _cut_at_ddl(changes: list[Change], end: Position,
                at: Position) -> list[tuple[list[Change], Position, Change | None]]:
    """The read as parts to apply in turn: the rows before each DDL change with the place
    to checkpoint them at and the DDL, then the rest up to `end`. A DDL alone in its
    transaction is checkpointed at its own place; one sharing its transaction with rows
    after it only before that transaction, since those rows are not applied yet."""
    parts: list[tuple[list[Change], Position, Change | None]] = []
    start = 0
    for i, change in enumerate(changes):
        if change.op is not Op.DDL:
            continue
        before = changes[start:i]
        shared = any(c.position == change.position for c in changes[i + 1:])
        earlier = [c.position for c in before if c.position < change.position]
        place = change.position if not shared else (earlier[-1] if earlier else at)
        parts.append((before, place, change))
        at, start = place, i + 1
    parts.append((changes[start:], end, None))
    return parts


def _barrier(ddl: DdlApplier, dst: Engine, owner: str, part: list[Change], change: Change,
             at: Position, routes: dict[str, Route], copied: dict[str, Position]) -> None:
    """Stop at a DDL that waits (DdlWaiting), once the rows before it are applied and
    checkpointed before its transaction, so that the DDL is read again on resume."""
    assert change.ddl is not None
    try:
        ddl.check(change.table, change.ddl)
    except DdlWaiting:
        earlier = [c.position for c in part if c.position < change.position]
        safe = earlier[-1] if earlier else at
        dst.apply(coalesce(_unseen(part, copied), routes, safe),
                  Checkpoint(owner, {POSITION: safe.to_json()}))
        raise


def _apply_ddl(ddl: DdlApplier, dst: Engine, owner: str, change: Change, end: Position) -> None:
    """Make the DDL's alterations, then pass its place for good (DDL_PENDING emptied)."""
    assert change.ddl is not None
    outcome = ddl.apply(change.table, change.ddl)
    dst.apply(coalesce([], {}, end), Checkpoint(owner, {DDL_PENDING: ""}))
    ddl.report(change.ddl, outcome)


def _finish_pending(ddl: DdlApplier, dst: Engine, owner: str, pending: str) -> None:
    """A DDL whose alterations a crash may have left half made: made again (harmless)."""
    outcome = ddl.finish_pending(pending)
    if pending:
        saved = dst.read_checkpoint(owner).get(POSITION)
        if saved:
            dst.apply(coalesce([], {}, position_from_json(saved)),
                      Checkpoint(owner, {DDL_PENDING: ""}))
    if outcome is not None:
        ddl.event("info", f"DDL on {outcome.table} made again after a restart: "
                  f"{'; '.join(outcome.statements) or 'nothing was left to do'}")


def _unseen(changes: list[Change], copied: dict[str, Position]) -> list[Change]:
    """The changes the full step's copy does not hold: for a table without a key copied from
    a view whose place in the log is known, those after that place (module docstring)."""
    if not copied:
        return changes
    return [c for c in changes if c.table not in copied or not c.position <= copied[c.table]]


def _truncation(read: Read, routes: dict[str, Route]) -> tuple[Read, str] | None:
    """The part of `read` committed before its first TRUNCATE of a moved table, and why the
    task stops there; None without one. Changes sharing the TRUNCATE's position belong to
    its transaction (or piece) and wait with it."""
    at = next((i for i, c in enumerate(read.changes)
               if c.op is Op.TRUNCATE and c.table in routes and not c.reloaded), None)
    if at is None:
        return None
    cut = read.changes[at]
    before = [c for c in read.changes[:at] if c.position < cut.position]
    end = before[-1].position if before else cut.position
    kept = Read(before, end, bool(before), read.pending_ts)
    return kept, (
        f"table {cut.table!r} was truncated at the source and the task has on_truncate = "
        f"stop: start it again with --resnapshot to copy the tables afresh, or create it "
        f"with on_truncate = apply to empty the destination table too"
    )


def _size(changes: list[Change]) -> int:
    """About how many bytes the changes write: their new rows' values."""
    return size_of(c.after.values() for c in changes if c.after)


def _delay(oldest_applied: float | None, oldest_unread: float | None) -> float:
    """How far the destination lags: the older of the batch just applied (commit to apply)
    and the first change not read yet. 0 only once a read finds nothing left."""
    now = time.time()
    ages = [now - ts for ts in (oldest_applied, oldest_unread) if ts is not None]
    return max(0.0, *ages) if ages else 0.0
