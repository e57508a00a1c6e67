"""The delay a worker reports: reads that cannot tell leave it to the heartbeat alone."""

from __future__ import annotations

from turnout.migrate.heartbeat import GRACE_S, delay


def test_reads_that_cannot_tell_and_no_heartbeat_mean_unknown_not_caught_up() -> None:
    assert delay(1000.0, None, None) is None


def test_without_read_delay_the_newest_heartbeat_says_it() -> None:
    assert delay(1000.0, None, 1000.0 - GRACE_S - 4) == 4
    assert delay(1000.0, None, 999.0) == 0  # within one interval, a read and an apply


def test_reads_that_tell_keep_their_figure_unless_the_heartbeat_says_more() -> None:
    assert delay(1000.0, 0.0, None) == 0
    assert delay(1000.0, 1.5, 999.0) == 1.5
    assert delay(1000.0, 0.0, 1000.0 - GRACE_S - 4) == 4
