"""How long apply batches take, as a small cumulative histogram the worker keeps.

The worker runs in its own process (or a thread of `turnout serve`), so the server that
answers /metrics cannot count in memory what the worker does: the worker keeps these
few numbers and saves them with its progress (checkpoints.APPLY_BATCHES), and the
server reads them at each scrape. Fixed buckets keep the saved form a few dozen bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# upper bounds in seconds: a batch is a few ms when idle, seconds for a large transaction
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class BatchTimes:
    """Per bucket, the batches that took at most its bound (cumulative, as Prometheus
    counts them); the last count is every batch (the +Inf bucket)."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS) + 1))
    total_s: float = 0.0

    @property
    def count(self) -> int:
        return self.counts[-1]

    def add(self, seconds: float) -> None:
        for i, bound in enumerate(BOUNDS):
            if seconds <= bound:
                self.counts[i] += 1
        self.counts[-1] += 1
        self.total_s += seconds

    def to_json(self) -> dict[str, Any]:
        return {"le": list(BOUNDS), "counts": self.counts, "sum": round(self.total_s, 6)}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> BatchTimes:
        """The saved histogram; one saved with other bounds (or none) starts over."""
        if not data or list(data.get("le", ())) != list(BOUNDS):
            return cls()
        counts = [int(c) for c in data.get("counts", ())]
        if len(counts) != len(BOUNDS) + 1:
            return cls()
        return cls(counts, float(data.get("sum", 0.0)))

    def buckets(self) -> list[tuple[str, int]]:
        """(le, cumulative count) pairs as prometheus_client's histogram family takes them."""
        bounded = zip(BOUNDS, self.counts[:-1], strict=True)
        return [*((repr(b), c) for b, c in bounded), ("+Inf", self.count)]
