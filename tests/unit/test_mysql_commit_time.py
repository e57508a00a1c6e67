"""binlog.commit_time: when a transaction read from the binlog committed, never later than it
did (so a delay computed from it is never short), from whole-second stamps, the moment it
was read and the last heartbeat read before it."""

from turnout.engines.mysql.binlog import commit_time


def test_a_commit_read_within_its_second_is_placed_where_it_was_read() -> None:
    assert commit_time(100.0, 100.4) == 100.4
    assert commit_time(100.0, 100.4, floor=100.2) == 100.4


def test_a_commit_read_later_takes_its_second_or_the_last_heartbeat_before_it() -> None:
    assert commit_time(100.0, 101.1) == 100.0  # no heartbeat read
    assert commit_time(100.0, 101.1, floor=100.9) == 100.9  # committed after that heartbeat
    assert commit_time(100.0, 101.1, floor=99.5) == 100.0  # an older heartbeat tells less
    assert commit_time(100.0, 250.0, floor=180.0) == 180.0  # caught up long after


def test_the_floor_never_places_a_commit_after_it_was_read() -> None:
    assert commit_time(100.0, 101.1, floor=102.0) == 101.1  # a clock ahead: bounded
