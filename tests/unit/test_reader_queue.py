"""The reader thread's queue (migrate/reader.py): reads waiting when a batch is done are
taken as one, in order, never past a batch, and an error waits its turn."""

from __future__ import annotations

from turnout.engines.postgres.positions import PgPosition
from turnout.migrate.reader import Read, _Queue
from turnout.model import Change, Op


def _read(first: int, count: int, end: int, pending: float | None = None) -> Read:
    changes = [Change("t", Op.INSERT, (i,), {"id": i}, float(i), PgPosition(end))
               for i in range(first, first + count)]
    return Read(changes, PgPosition(end), True, pending)


def test_waiting_reads_are_joined_in_order_up_to_a_batch() -> None:
    queue = _Queue(limit=100)
    for n, end in ((0, 10), (3, 20), (6, 30)):
        assert queue.put(_read(n, 3, end, pending=float(end)), timeout=0)
    queue.put(_read(9, 5, 40), timeout=0)
    got = queue.get(timeout=0, most=9)
    assert isinstance(got, Read)
    assert [c.key for c in got.changes] == [(i,) for i in range(9)]
    assert got.end == PgPosition(30) and got.pending_ts == 30.0  # the last read's
    rest = queue.get(timeout=0, most=9)
    assert isinstance(rest, Read) and rest.end == PgPosition(40) and len(rest.changes) == 5


def test_an_error_is_not_joined_and_comes_after_the_reads_before_it() -> None:
    queue = _Queue(limit=100)
    queue.put(_read(0, 2, 10), timeout=0)
    queue.put(RuntimeError("lost"), timeout=0)
    queue.put(_read(2, 2, 20), timeout=0)
    first = queue.get(timeout=0, most=100)
    assert isinstance(first, Read) and first.end == PgPosition(10)
    assert isinstance(queue.get(timeout=0, most=100), RuntimeError)


def test_the_queue_holds_no_more_changes_than_its_limit_but_always_one_read() -> None:
    queue = _Queue(limit=4)
    assert queue.put(_read(0, 10, 10), timeout=0)  # larger than the limit: an empty queue takes it
    assert not queue.put(_read(10, 1, 20), timeout=0)
    assert queue.get(timeout=0, most=100) is not None
    assert queue.put(_read(10, 1, 20), timeout=0)
    assert queue.get(timeout=0, most=100) is not None
    assert queue.get(timeout=0, most=100) is None
