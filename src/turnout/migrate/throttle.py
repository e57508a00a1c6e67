"""Throttling: the full step and apply write at most so many rows (and bytes) a second.

A busy source database, a replica fed by the destination or a shared network may need the
copy to go slower than it can. The limits are options of the task (max_rows_per_second,
max_bytes_per_second) that `turnout task set` changes while it runs, so the throttle
reads them again from the store every RELOAD_S. Writers call took() after each chunk or
batch they commit; it waits until the rows and bytes written since the limits last changed
fit the rate. A quiet spell earns no more than a second of credit, so a burst after it is
short. Chunks and batches are cut to about a second's worth of rows (chunk()), so the rate
holds second by second rather than on average over a long chunk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

RELOAD_S = 1.0  # how often the limits are read again
CREDIT_S = 1.0  # how much unused rate a quiet spell keeps at most
REPORT_S = 0.3  # a wait this long reports progress first (StoreProgress thins to 0.25 s)

Limits = tuple[float, float]  # rows per second, bytes per second; 0: no limit


class Throttle:
    """Paces the writers of one task (the full step's threads share it)."""

    def __init__(self, limits: Callable[[], Limits], stop: threading.Event) -> None:
        self._read_limits, self.stop = limits, stop
        self._lock = threading.Lock()
        self.limits: Limits = limits()
        self._counts_bytes = bool(self.limits[1])
        self._read_at = time.monotonic()
        self._restart(self._read_at)

    @property
    def counts_bytes(self) -> bool:
        """Whether writers must say how many bytes they wrote (a byte limit was ever set)."""
        return self._counts_bytes

    def chunk(self, rows: int) -> int:
        """A chunk or batch size of about a second of rows at the rate the task starts at."""
        limit = self.limits[0]
        return min(rows, max(1, int(limit))) if limit else rows

    def took(self, rows: int, size: int = 0,
             waiting: Callable[[], None] | None = None) -> None:
        """`rows` rows of `size` bytes were written: wait as long as the limits want.

        `waiting` is called once the wait has lasted REPORT_S: progress reports written
        just before are thinned out to a few a second, and one must say where the writer
        stands while it waits."""
        with self._lock:
            now = time.monotonic()
            if now - self._read_at >= RELOAD_S:
                self._reload(now)
            per_row, per_byte = self.limits
            if not per_row and not per_byte:
                return
            if self._due() < now - CREDIT_S:  # a quiet spell earns a second at most
                self._restart(now - CREDIT_S)
            self._rows += rows
            self._bytes += size
            due = self._due()
        began = time.monotonic()
        while due > time.monotonic() and not self.stop.is_set():
            step = RELOAD_S if waiting is None else REPORT_S
            self.stop.wait(max(0.0, min(due - time.monotonic(), step)))
            if waiting is not None and time.monotonic() - began >= REPORT_S:
                waiting()
                waiting = None
            if self._reloaded_faster():
                return

    def _due(self) -> float:
        """When what was written since the start fits the limits (call under the lock)."""
        per_row, per_byte = self.limits
        return self._start + max(self._rows / per_row if per_row else 0.0,
                                 self._bytes / per_byte if per_byte else 0.0)

    def _reloaded_faster(self) -> bool:
        """While waiting, take a raised (or lifted) limit at once rather than after the wait
        the old one asked for."""
        with self._lock:
            now = time.monotonic()
            if now - self._read_at < RELOAD_S:
                return False
            before = self.limits
            self._reload(now)
            return self.limits != before

    def _reload(self, now: float) -> None:
        self._read_at = now
        try:
            limits = self._read_limits()
        except Exception:  # noqa: BLE001 - a store busy for a moment keeps the old limits
            return
        if limits != self.limits:
            self.limits = limits
            self._counts_bytes = self._counts_bytes or bool(limits[1])
            self._restart(now)

    def _restart(self, at: float) -> None:
        self._start, self._rows, self._bytes = at, 0, 0


def size_of(rows: Iterable[Iterable[Any]]) -> int:
    """About how many bytes rows hold: text and bytes by length, anything else 8."""
    return sum(len(v) if isinstance(v, str | bytes | bytearray | memoryview) else 8
               for row in rows for v in row)
