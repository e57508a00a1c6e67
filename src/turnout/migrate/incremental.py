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

A reader thread reads the next batches while this one applies the last:
otherwise parsing the source's log and writing the destination take turns
(applying was a third of a catch-up of large MySQL transactions). The
capture is used by the reader thread only; what was applied goes back to it
to acknowledge, since an acknowledgement talks to the connection that reads.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from functools import partial

from turnout.checkpoints import DDL_PENDING, POSITION, copied_at, layouts
from turnout.coalesce import Route, coalesce
from turnout.engines import position_from_json
from turnout.engines.base import Capture, Engine
from turnout.errors import OperationFailed, TransientError
from turnout.migrate import joining
from turnout.migrate.ddl import DdlApplier, DdlWaiting
from turnout.migrate.heartbeat import Heartbeat
from turnout.migrate.progress import Progress
from turnout.migrate.throttle import Throttle, size_of
from turnout.model import Change, Checkpoint, Op, Position

AHEAD = 2  # batches read while one is applied
_WAKE_S = 0.2  # how often a waiting thread looks at `stop`


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
    reader = _Reader(capture, position, batch_changes, poll_interval, stop, stall_timeout_s)
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


@dataclass
class _Read:
    """One read of the capture, as the reader thread saw it."""

    changes: list[Change]
    end: Position
    advances: bool  # whether the destination's position moves to `end`
    pending_ts: float | None  # commit time of the oldest change not read yet, at read time
    beat: float | None = None  # the newest heartbeat read so far (heartbeat.py)


class _Reader(threading.Thread):
    """Reads batches ahead into a short queue; the only thread that touches the capture."""

    def __init__(self, capture: Capture, position: Position, batch_changes: int,
                 poll_interval: float, stop: threading.Event, stall_timeout_s: float) -> None:
        super().__init__(name="turnout-capture", daemon=True)
        self.capture, self.position = capture, position
        self.batch_changes, self.poll_interval, self.stop = batch_changes, poll_interval, stop
        self.stall_timeout_s = stall_timeout_s
        self.stalled = False  # the last read never came back
        self.applied: Position | None = None  # set by follow(); acknowledged before each read
        self._acked = position
        self._reads: queue.Queue[_Read | BaseException] = queue.Queue(maxsize=AHEAD)
        self._done = threading.Event()  # follow() takes no more reads
        self.waited = threading.Event()  # set while follow() waits in next()

    def run(self) -> None:
        try:
            while not self._quitting():
                self._ack()
                changes, end = self.capture.read(self.position, self.batch_changes)
                # a piece of a large transaction leaves `end` as it was; `!=`, not `<`: a
                # capture never hands out a place behind the one it was asked from, and
                # after a failover (MySQL by GTID) file names of two servers do not order
                advances = bool(changes) or end != self.position
                if advances:
                    self.position = end
                pending = self.capture.oldest_pending_ts(self.position)
                beat = self.capture.beat_seen()
                if not self._put(_Read(changes, end, advances, pending, beat)):
                    return
                if not changes:
                    self.stop.wait(self.poll_interval)
        except BaseException as exc:  # noqa: BLE001 - handed to follow(), which raises it
            self._put(exc)

    def _ack(self) -> None:
        applied = self.applied
        if applied is not None and applied != self._acked:
            self.capture.ack(applied)
            self._acked = applied

    def _quitting(self) -> bool:
        return self.stop.is_set() or self._done.is_set()

    def _put(self, item: _Read | BaseException) -> bool:
        while not self._quitting():
            try:
                self._reads.put(item, timeout=_WAKE_S)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> _Read | None:
        """The next read in order; None once `stop` is set. A read's error is raised here, and
        so is a read that does not come back in time (a source that stopped answering)."""
        waiting = time.monotonic()
        while not self.stop.is_set():
            item = self._take()
            if item is None:
                if time.monotonic() - waiting > self.stall_timeout_s:
                    self.stalled = True
                    raise TransientError(
                        f"the source has not answered a read for {self.stall_timeout_s:g} s "
                        "(stall_timeout_s): taken as a lost connection") from None
                continue
            if isinstance(item, BaseException):
                raise item
            if item.pending_ts is None:
                item.pending_ts = self._oldest_queued()
            return item
        return None

    def _take(self) -> _Read | BaseException | None:
        """A queued read at once, else one within _WAKE_S (None: none came), `waited` set
        meanwhile: the capture may then end its read sooner with what it has."""
        try:
            return self._reads.get_nowait()
        except queue.Empty:
            pass
        self.waited.set()
        try:
            return self._reads.get(timeout=_WAKE_S)
        except queue.Empty:
            return None
        finally:
            self.waited.clear()

    def _oldest_queued(self) -> float | None:
        """Commit time of the oldest change read ahead and not handed out yet: a read that
        found nothing left unread still has those to apply (a throttle holds them back)."""
        with self._reads.mutex:
            for item in self._reads.queue:
                if isinstance(item, _Read) and item.changes:
                    return item.changes[0].commit_ts
        return None

    def finish(self) -> None:
        """Stop reading. A read stuck on a dead connection is left behind (the thread is a
        daemon): closing the capture's connections lets it go."""
        self._done.set()
        self.join(_WAKE_S if self.stalled else self.stall_timeout_s)


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


def _truncation(read: _Read, routes: dict[str, Route]) -> tuple[_Read, str] | None:
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
    kept = _Read(before, end, bool(before), read.pending_ts)
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
