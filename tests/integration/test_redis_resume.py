"""A Redis task started again after kill -9 has a backlog of the stream to apply, with no
heartbeat in it (the killed worker wrote none after it died): until the new worker has
applied a heartbeat it does not know its delay, and must not report itself caught up."""

from __future__ import annotations

import redis

from tests.integration import test_redis
from tests.integration.test_redis import following, seed

pair = test_redis.pair  # the two servers' fixture, shared

BACKLOG_KEYS = 200_000  # about 8 MB of stream: many batches, each one a progress report


def test_a_restarted_task_is_not_caught_up_before_its_backlog_is_applied(pair, store) -> None:
    from tests.integration.bank import kill_worker
    from turnout import api
    from turnout.spec import TaskSpec

    source, dest = pair
    r = redis.Redis(port=source.port)
    r.config_set("repl-backlog-size", 64 * 1024 * 1024)  # the stopped task can continue
    seed(source, 100)
    api.create_task(TaskSpec("kv4", source.url(), dest.url()), store)
    api.start_task("kv4", store)
    api.wait_for("kv4", following, 60, store)
    kill_worker(store, "kv4")
    for start in range(0, BACKLOG_KEYS, 10_000):  # written while no worker runs
        pipe = r.pipeline(transaction=False)
        for i in range(start, start + 10_000):
            pipe.set(f"late:{i}", i)
        pipe.execute()
    r.set("last", "written before the wait")
    api.start_task("kv4", store)
    try:
        api.wait_caught_up("kv4", 120, store)
        d = redis.Redis(port=dest.port)
        assert d.get("last") == b"written before the wait", (
            d.dbsize(), api.task_status("kv4", store)["delay_s"])
    finally:
        api.stop_task("kv4", store)
    api.delete_task("kv4", store)
