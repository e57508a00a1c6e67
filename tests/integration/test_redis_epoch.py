"""Fencing on a Redis destination: once another agent's worker has taken a task (a higher
epoch), the worker before it writes nothing more, whatever it was doing; replayed
commands are not idempotent, so even one stale batch would be a wrong value."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from turnout.engines.redis.applier import Applier
from turnout.engines.redis.rdb import Entry
from turnout.engines.redis.resp import encode
from turnout.engines.redis.url import RedisUrl
from turnout.errors import Fenced, OperationFailed
from turnout.model import write_under
from turnout.testing.servers import RedisServer, start_redis

TASK = "cache"


@pytest.fixture
def dest(tmp_path: Path) -> Iterator[RedisServer]:
    server = start_redis(tmp_path / "dest")
    yield server
    server.stop()
    write_under(TASK, None)


def worker(server: RedisServer, epoch: int) -> Applier:
    """An applier as an agent's worker under `epoch` has it, its claim made."""
    write_under(TASK, epoch)
    applier = Applier(RedisUrl.parse(server.url()), TASK)
    applier.claim()
    return applier


def between_check_and_exec(applier: Applier, meanwhile: Callable[[], object]) -> Applier:
    """`applier`, whose next batch has `meanwhile` run right after it checked the epoch."""
    assert applier.fence is not None
    checked = applier.fence.watch

    def watch_then(*args: Any) -> None:
        checked(*args)
        meanwhile()

    applier.fence.watch = watch_then  # type: ignore[method-assign]
    return applier


def incr(key: str) -> list[tuple[int, bytes]]:
    return [(0, encode("INCR", key))]


def test_a_worker_taken_over_writes_nothing_more(dest: RedisServer) -> None:
    db = redis.Redis(port=dest.port)
    old = worker(dest, 1)
    old.apply(incr("n"), {"phase": "stream", "offset": 1})
    new = worker(dest, 2)
    with pytest.raises(Fenced, match="taken over under epoch 2"):
        old.apply(incr("n"), {"phase": "stream", "offset": 2})
    with pytest.raises(Fenced):
        old.write_checkpoint({"phase": "stream", "offset": 3})
    with pytest.raises(Fenced):
        old.restore([(0, Entry(0, b"n", b"", 0, "string"))])
    with pytest.raises(Fenced):
        old.empty([0])
    assert db.get("n") == b"1" and old.read_checkpoint() == {"phase": "stream", "offset": 1}
    new.apply(incr("n"), {"phase": "stream", "offset": 2})
    assert db.get("n") == b"2"
    with pytest.raises(Fenced):
        worker(dest, 1)  # a stale worker starting again is refused at its claim
    for applier in (old, new):
        applier.close()


def test_a_takeover_during_a_batch_makes_the_whole_batch_fail(dest: RedisServer) -> None:
    """The successor claims between the stale worker's check of the epoch and its EXEC:
    WATCH makes the EXEC fail, so none of the batch is applied."""
    db = redis.Redis(port=dest.port)
    old = between_check_and_exec(worker(dest, 4), lambda: worker(dest, 5).close())
    with pytest.raises(Fenced, match="epoch 5"):
        old.apply(incr("n") + incr("m"), {"phase": "stream", "offset": 9})
    assert db.get("n") is None and db.get("m") is None
    old.close()


def test_an_epoch_key_removed_mid_batch_fails_the_batch_naming_the_key(
        dest: RedisServer) -> None:
    db = redis.Redis(port=dest.port)
    old = between_check_and_exec(worker(dest, 1), lambda: db.delete("_turnout:epoch:cache"))
    with pytest.raises(OperationFailed, match="_turnout:epoch:cache changed"):
        old.apply(incr("n"), {"phase": "stream", "offset": 1})
    assert db.get("n") is None
    old.close()


def test_a_worker_outside_agents_is_not_fenced(dest: RedisServer) -> None:
    write_under(TASK, None)
    applier = Applier(RedisUrl.parse(dest.url()), TASK)
    applier.claim()
    applier.apply(incr("n"), {"phase": "stream", "offset": 1})
    assert applier.fence is None
    assert redis.Redis(port=dest.port).keys("_turnout:epoch:*") == []
    applier.close()
