"""Rows per second and time left for each table of a full copy, from the statuses a live
view reads one after another (`task run`, `task status --watch`).

The store keeps how many rows each table has, not when they came, so the rate is the one
this view saw: rows gained over the last WINDOW_S seconds of samples. A one-shot
`task status` has no second sample and shows none.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Any

WINDOW_S = 10.0  # long enough to smooth chunked progress, short enough to follow a change
MIN_SPAN_S = 1.0  # a rate over less than this says more about the chunk size than the copy


@dataclass(frozen=True)
class Rate:
    """A table's copy speed, and the seconds left at that speed (None when unknown)."""

    rows_per_s: float
    eta_s: float | None


class TableRates:
    """Samples of each table's copied rows, turned into a Rate per table still copying."""

    def __init__(self) -> None:
        self._samples: dict[str, deque[tuple[float, int]]] = {}

    def update(self, status: dict[str, Any], now: float | None = None) -> dict[str, Rate]:
        """Take the status's counts as a sample; the rate of each table that has one."""
        now = time.monotonic() if now is None else now
        rates: dict[str, Rate] = {}
        for table in status["tables"]:
            name = table["source"]
            if table["done"]:
                self._samples.pop(name, None)
                continue
            samples = self._samples.setdefault(name, deque())
            samples.append((now, table["rows_copied"]))
            while len(samples) > 2 and now - samples[1][0] >= WINDOW_S:
                samples.popleft()
            rate = _rate(samples, table["rows_total"])
            if rate is not None:
                rates[name] = rate
        return rates


def _rate(samples: deque[tuple[float, int]], total: int) -> Rate | None:
    (first_at, first_rows), (last_at, last_rows) = samples[0], samples[-1]
    span = last_at - first_at
    if span < MIN_SPAN_S or last_rows < first_rows:  # too soon, or the copy started over
        return None
    per_s = (last_rows - first_rows) / span
    left = total - last_rows
    return Rate(per_s, left / per_s if per_s > 0 and left > 0 else None)


def rate_text(rate: Rate | None) -> str:
    """`2,310 rows/s, 0:01:05 left`; empty without a rate."""
    if rate is None:
        return ""
    text = f"{rate.rows_per_s:,.0f} rows/s"
    if rate.eta_s is not None:
        seconds = round(rate.eta_s)
        text += f", {seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d} left"
    return text
