"""Incremental step: follow the source's changes and apply them in batches.

The position each batch ends at is written in the same destination
transaction as the batch, so after a crash the destination itself says where
to resume; replaying a little is harmless because apply is by key.
"""

from __future__ import annotations

import threading
import time

from turnout.coalesce import Route, coalesce
from turnout.engines import position_from_json
from turnout.engines.base import Capture, Engine
from turnout.migrate.progress import Progress
from turnout.model import Checkpoint, Position

POSITION = "position"


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
) -> Position:
    """Apply changes until `stop` is set; returns the position applied up to."""
    saved = dst.read_checkpoint(owner).get(POSITION)
    position = position_from_json(saved) if saved else start
    capture.ack(position)  # the destination may have committed past the last ack before a crash
    applied = 0
    while not stop.is_set():
        changes, end = capture.read(position, batch_changes)
        oldest_applied = None
        if changes or position < end:  # a piece of a large transaction leaves `end` as it was
            batch = coalesce(changes, routes, end)
            dst.apply(batch, Checkpoint(owner, {POSITION: end.to_json()}))
            capture.ack(end)
            position = end
            applied += len(changes)
            oldest_applied = batch.first_commit_ts
        delay = _delay(oldest_applied, capture.oldest_pending_ts(position))
        progress.incremental(position, delay, applied)
        if not changes:
            stop.wait(poll_interval)
    return position


def _delay(oldest_applied: float | None, oldest_unread: float | None) -> float:
    """How far the destination lags: the older of the batch just applied (commit to apply)
    and the first change not read yet. 0 only once a read finds nothing left."""
    now = time.time()
    ages = [now - ts for ts in (oldest_applied, oldest_unread) if ts is not None]
    return max(0.0, *ages) if ages else 0.0
