"""Heartbeats: turnout writes its own clock on the source every second while a task follows
changes, and reads it back through the change stream.

The destination holds everything the source committed before the newest heartbeat
applied, so now minus that heartbeat's time is a delay nothing can fake: it grows
while the source, the stream, the network or the destination is stuck, even when
every read in the meantime came back empty. Both times are turnout's clock, so the
servers' clocks play no part.

Writing goes through a connection of the capture's own in a thread of its own: a
write stuck on a dead network holds nothing else up (the beat just stops, and the
delay grows, which is the truth). A source that refuses the write (a user without
the privilege) says so once as a warning; the delay then counts from reads alone.
"""

from __future__ import annotations

import threading

from turnout.engines.base import Capture
from turnout.migrate.progress import Progress

BEAT_S = 1.0  # seconds between heartbeats
GRACE_S = 2.5  # a heartbeat this old is still "now": one interval, a read, an apply


class Heartbeat(threading.Thread):
    """Calls capture.beat() every BEAT_S until `stop`; failures are retried quietly."""

    def __init__(self, capture: Capture, stop: threading.Event, progress: Progress) -> None:
        super().__init__(name="turnout-heartbeat", daemon=True)
        self.capture, self.stop, self.progress = capture, stop, progress
        self.done = threading.Event()
        self._warned = False

    def run(self) -> None:
        while not (self.stop.is_set() or self.done.is_set()):
            try:
                self.capture.beat()
            except Exception as exc:  # noqa: BLE001 - a lost beat shows as delay, by design
                # a beat stuck on a dead connection can fail after the task has stopped, or
                # been deleted: nothing is left to warn then
                if not self._warned and not (self.stop.is_set() or self.done.is_set()):
                    self._warned = True
                    self.progress.event("warning", f"cannot write the heartbeat on the source "
                                        f"({' '.join(str(exc).split())[:200]}): delay is "
                                        "measured from reads alone until it can")
            self.done.wait(BEAT_S)


def delay(now: float, read_delay: float | None, beat_applied: float | None) -> float | None:
    """The task's delay: what reads report, or more when the newest heartbeat applied says
    so (older than one interval plus a read and an apply). Reads that cannot tell (None: a
    Redis stream carries no commit times) leave it to the heartbeat alone, and with none
    applied yet the delay is unknown, never 0: a worker catching up on a backlog is not
    caught up until a heartbeat says so."""
    if beat_applied is None:
        return read_delay
    by_beat = max(0.0, now - beat_applied - GRACE_S)
    return by_beat if read_delay is None else max(read_delay, by_beat)


def live_delay(now: float, reported: float | None, reported_at: float | None) -> float | None:
    """The delay a worker last reported, grown by the time since when that report is older
    than a read takes: a read stuck on a dead connection reports nothing, so its last
    "caught up" cannot stand for ever."""
    if reported is None or reported_at is None:
        return reported
    late = now - reported_at
    return round(reported + late, 3) if late > GRACE_S else reported
