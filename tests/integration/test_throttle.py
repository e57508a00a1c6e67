"""Throttling holds the full step and apply to the rate asked for, and a rate changed with
`task set` while the task runs is taken at once. Bounds are generous: the box is shared."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from tests.conftest import make_db, rows
from tests.integration.helpers import make_task, running, wait_caught_up
from turnout import api
from turnout.migrate.throttle import Throttle
from turnout.spec import Options
from turnout.store import Store


def copied(store: Store, name: str) -> int:
    return sum(t["rows_copied"] for t in api.task_status(name, store)["tables"])


def test_full_step_and_apply_hold_the_rate_and_take_a_new_one(store: Store,
                                                               tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);"
                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                  "WHERE i < 2000) INSERT INTO t SELECT i, 'row ' || i FROM n;")
    make_task(store, "slow", src, tmp_path / "dst.db",
              options=Options(max_rows_per_second=100, batch_changes=20))
    with running(store, "slow"):
        api.wait_for("slow", lambda s: copied(store, "slow") > 0, 30, store)
        began, first = time.time(), copied(store, "slow")
        time.sleep(3)
        rate = (copied(store, "slow") - first) / (time.time() - began)
        assert 20 < rate < 250, rate  # about 100 rows a second, not 2000 at once
        api.set_options("slow", {"max_rows_per_second": "0"}, store)  # lifted live
        api.wait_for("slow", lambda s: s["phase"] == "incremental", 15, store)
        wait_caught_up(store, "slow")
        api.set_options("slow", {"max_rows_per_second": "10"}, store)
        time.sleep(1.5)  # the worker reads its limits again within a second
        before = api.task_status("slow", store)["changes_applied"]
        db = sqlite3.connect(src)
        for n in range(1, 201):  # 200 transactions at once
            db.execute("UPDATE t SET v = 'changed' WHERE id = ?", (n,))
            db.commit()
        db.close()
        time.sleep(4)
        applied = api.task_status("slow", store)["changes_applied"] - before
        assert 0 < applied < 120, applied  # ~10 a second: 40, a batch of 20, a second's credit
        api.set_options("slow", {"max_rows_per_second": "0"}, store)
        wait_caught_up(store, "slow", timeout=20)
    assert rows(src, "t") == rows(tmp_path / "dst.db", "t")
    api.delete_task("slow", store=store)


def test_bytes_are_held_too() -> None:
    stop = threading.Event()
    throttle = Throttle(lambda: (0.0, 1000.0), stop)
    began = time.monotonic()
    for _ in range(4):
        throttle.took(1, 500)  # 2000 bytes at 1000 a second: about a second of waiting
    assert 0.5 < time.monotonic() - began < 5
    assert throttle.chunk(50_000) == 50_000 and throttle.counts_bytes
