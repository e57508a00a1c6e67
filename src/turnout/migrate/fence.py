"""The capture side of fencing: a worker whose lease was taken over acknowledges nothing.

The destination refuses a stale worker's batches (model.Checkpoint's epoch); this keeps
the same worker from telling the source to free changes its successor has yet to read.
Asking the store costs a query, so the answer is kept for CHECK_S.
"""

from __future__ import annotations

import time

from turnout import leases
from turnout.engines.base import Capture
from turnout.model import Position
from turnout.store import Store

CHECK_S = 1.0


def fence_acks(capture: Capture, store: Store, task: str, epoch: int) -> None:
    """From now on `capture.ack` acknowledges nothing once the task's lease has an epoch
    other than `epoch`. It does not raise: the worker's next batch is what the destination
    refuses (Fenced), and that stops it; until then nothing it read is freed."""
    ack = capture.ack
    checked = [0.0]
    fenced = [False]

    def fenced_ack(upto: Position) -> None:
        if not fenced[0] and time.monotonic() - checked[0] > CHECK_S:
            fenced[0] = not leases.holds(store, task, epoch)
            checked[0] = time.monotonic()
        if not fenced[0]:
            ack(upto)

    capture.ack = fenced_ack  # type: ignore[method-assign]


