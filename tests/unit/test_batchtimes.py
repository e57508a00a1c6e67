"""The apply batch histogram the worker saves: cumulative buckets, a JSON round trip."""

from __future__ import annotations

from turnout.migrate.batchtimes import BOUNDS, BatchTimes


def test_buckets_are_cumulative_and_round_trip() -> None:
    times = BatchTimes()
    for seconds in (0.001, 0.02, 0.02, 3.0, 100.0):
        times.add(seconds)
    buckets = dict(times.buckets())
    assert buckets["0.005"] == 1 and buckets["0.025"] == 3 and buckets["5.0"] == 4
    assert buckets["+Inf"] == times.count == 5
    again = BatchTimes.from_json(times.to_json())
    assert again.counts == times.counts and abs(again.total_s - 103.041) < 1e-9


def test_other_bounds_start_over() -> None:
    assert BatchTimes.from_json({"le": [1.0], "counts": [1, 1], "sum": 1}).count == 0
    assert BatchTimes.from_json(None).count == 0
    assert len(BatchTimes().counts) == len(BOUNDS) + 1
