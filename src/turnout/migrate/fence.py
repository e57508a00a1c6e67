"""The capture side of fencing: a worker whose lease was taken over acknowledges nothing.

The destination refuses a stale worker's batches (model.Checkpoint's epoch); this keeps
the same worker from telling the source to free changes its successor has yet to read.
Asking the store costs a query, so the answer is kept for CHECK_S.
"""

from __future__ import annotations

import time

from turnout import leases
from turnout.engines.base import Capture
from turnout.errors import Fenced
from turnout.model import Position
from turnout.store import Store

CHECK_S = 1.0


def fence_acks(capture: Capture, store: Store, task: str, epoch: int) -> None:
    """From now on `capture.ack` raises Fenced instead of acknowledging once the task's
    lease has an epoch other than `epoch`."""
    ack = capture.ack
    checked = [0.0]

    def fenced_ack(upto: Position) -> None:
        if time.monotonic() - checked[0] > CHECK_S:
            if not leases.holds(store, task, epoch):
                raise Fenced(f"task {task!r} was taken over (this worker's epoch is {epoch}): "
                             "its position is not acknowledged and it stops")
            checked[0] = time.monotonic()
        ack(upto)

    capture.ack = fenced_ack  # type: ignore[method-assign]


