"""The incremental step's reader thread: it reads the capture ahead while a batch applies.

Otherwise parsing the source's log and writing the destination take turns (applying was a
third of a catch-up of large MySQL transactions). The capture is used by this thread only;
what was applied comes back to it (Reader.applied) to acknowledge, since an acknowledgement
talks to the connection that reads.

Reads wait in a queue bounded by the changes they hold (AHEAD batches' worth), not by their
number, and the apply loop takes all that wait, up to a batch, as one: a source writing at
a steady rate is read in small reads (a read returns once the stream pauses between
transactions), and applying each in a transaction of its own made every one wait for
those before it. Under `pgbench -R 1000` at load 20 a read waited 400 ms (p50) in the
queue of two for its turn; one destination transaction costs about the same for ten
transactions as for one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from turnout.engines.base import Capture
from turnout.errors import TransientError
from turnout.model import Change, Position

AHEAD = 2  # batches' worth of changes read while one is applied
MAX_READS = 256  # reads waiting at most (empty ones hold no changes)
WAKE_S = 0.2  # how often a waiting thread looks at `stop`


@dataclass
class Read:
    """One read of the capture (or several in a row, joined), as the reader thread saw it."""

    changes: list[Change]
    end: Position
    advances: bool  # whether the destination's position moves to `end`
    pending_ts: float | None  # commit time of the oldest change not read yet, at read time
    beat: float | None = None  # the newest heartbeat read so far (heartbeat.py)

    def then(self, later: Read) -> Read:
        """This read and the next one as one: what the later one had not read yet is what
        is left unread; its end is the place reached unless it did not move."""
        return Read(self.changes + later.changes, later.end if later.advances else self.end,
                    self.advances or later.advances, later.pending_ts,
                    later.beat if later.beat is not None else self.beat)


class _Queue:
    """Reads (and a read's error) in order, with the changes they hold counted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: deque[Read | BaseException] = deque()
        self.changes = 0
        self.cond = threading.Condition()

    def put(self, item: Read | BaseException, timeout: float) -> bool:
        """Add `item` once the queue has room (an empty queue always has); False when it
        had none within `timeout`."""
        with self.cond:
            if not self.cond.wait_for(self._room, timeout):
                return False
            self.items.append(item)
            self.changes += _size(item)
            self.cond.notify_all()
            return True

    def _room(self) -> bool:
        return not self.items or (self.changes < self.limit and len(self.items) < MAX_READS)

    def get(self, timeout: float, most: int) -> Read | BaseException | None:
        """The first item, with the reads after it joined while they fit in `most` changes
        (an error stays for the next get); None when nothing came within `timeout`."""
        with self.cond:
            if not self.cond.wait_for(lambda: bool(self.items), timeout):
                return None
            item = self._pop()
            while isinstance(item, Read) and self.items:
                nxt = self.items[0]
                if isinstance(nxt, BaseException) or len(item.changes) + len(nxt.changes) > most:
                    break
                item = item.then(self._pop())  # type: ignore[arg-type]
            self.cond.notify_all()
            return item

    def _pop(self) -> Read | BaseException:
        item = self.items.popleft()
        self.changes -= _size(item)
        return item

    def oldest_ts(self) -> float | None:
        """Commit time of the oldest change waiting."""
        with self.cond:
            for item in self.items:
                if isinstance(item, Read) and item.changes:
                    return item.changes[0].commit_ts
        return None


def _size(item: Read | BaseException) -> int:
    return len(item.changes) if isinstance(item, Read) else 0


class Reader(threading.Thread):
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
        self._reads = _Queue(AHEAD * batch_changes)
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
                if not self._put(Read(changes, end, advances, pending, beat)):
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

    def _put(self, item: Read | BaseException) -> bool:
        while not self._quitting():
            if self._reads.put(item, WAKE_S):
                return True
        return False

    def next(self) -> Read | None:
        """The next reads in order, joined up to a batch; None once `stop` is set. A read's
        error is raised here, and so is a read that does not come back in time (a source
        that stopped answering)."""
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
                # a read that found nothing left unread still has those read ahead to apply
                # (a throttle holds them back)
                item.pending_ts = self._reads.oldest_ts()
            return item
        return None

    def _take(self) -> Read | BaseException | None:
        """Queued reads at once, else within WAKE_S (None: none came), `waited` set
        meanwhile: the capture may then end its read sooner with what it has."""
        item = self._reads.get(0, self.batch_changes)
        if item is not None:
            return item
        self.waited.set()
        try:
            return self._reads.get(WAKE_S, self.batch_changes)
        finally:
            self.waited.clear()

    def finish(self) -> None:
        """Stop reading. A read stuck on a dead connection is left behind (the thread is a
        daemon): closing the capture's connections lets it go."""
        self._done.set()
        self.join(WAKE_S if self.stalled else self.stall_timeout_s)
