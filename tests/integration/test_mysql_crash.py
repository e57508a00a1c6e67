"""kill -9 the worker of a MySQL-source task in the full and the incremental step, under writes.

`acct` has an AUTO_INCREMENT key, so into MariaDB its chunks load through stages
(engines/mysql/staging.py), and the kills land in staged loads too.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import Writer, same_rows, wait_caught_up
from tests.integration.test_crash import kill_worker
from tests.integration.test_mysql import _connect, my_execute
from turnout import api
from turnout.spec import Options, TaskSpec
from turnout.store import Store

pytestmark = pytest.mark.slow

SCHEMA = """
CREATE TABLE acct (id int AUTO_INCREMENT PRIMARY KEY, owner varchar(80) NOT NULL,
                   balance bigint, seen datetime(6), flags set('a', 'b'));
CREATE TABLE move (a int, b int, amount int, note text, PRIMARY KEY (a, b))
"""


def build_source(url: str, rows: int) -> None:
    my_execute(url, SCHEMA)
    with _connect(url) as conn, conn.cursor() as cur:
        rng = random.Random(3)
        now = dt.datetime(2026, 1, 1)
        cur.executemany("INSERT INTO acct VALUES (%s, %s, %s, %s, %s)",
                        [(i, f"owner {i} " + "x" * rng.randint(0, 40), rng.randint(0, 10**6), now,
                          "a") for i in range(1, rows + 1)])
        cur.executemany("INSERT INTO move VALUES (%s, %s, %s, NULL)",
                        [(i, j, i * j) for i in range(1, 200) for j in range(1, 50)])


class Business(Writer):
    """Keeps writing: inserts, updates, deletes, key moves, multi-row transactions."""

    def __init__(self, url: str, max_id: int) -> None:
        super().__init__(max_id + 1, seed=11)
        self.url = url

    @contextmanager
    def connect(self) -> Iterator[Any]:
        with _connect(self.url) as conn, conn.cursor() as cur:
            yield cur

    @contextmanager
    def transaction(self, cur: Any) -> Iterator[Any]:
        cur.execute("BEGIN")
        yield cur
        cur.execute("COMMIT")

    def one(self, cur: Any) -> None:
        r, rid = self.rng.random(), self.rng.randint(1, self.next_id)
        execute = cur.execute
        if r < 0.35:
            execute("INSERT INTO acct VALUES (%s, 'new', 0, NOW(6), '')", (self.next_id,))
            self.next_id += 1
        elif r < 0.7:
            execute("UPDATE acct SET balance = balance + 1, flags = 'a,b' WHERE id = %s", (rid,))
        elif r < 0.8:
            execute("DELETE FROM acct WHERE id = %s", (rid,))
        elif r < 0.85:
            execute("UPDATE IGNORE acct SET id = %s WHERE id = %s", (self.next_id, rid))
            self.next_id += 1
        else:
            a, b = self.rng.randint(1, 250), self.rng.randint(1, 60)
            execute("INSERT INTO move VALUES (%s, %s, 1, 'n') ON DUPLICATE KEY UPDATE "
                    "amount = amount + 1", (a, b))
            if self.rng.random() < 0.2:
                execute("DELETE FROM move WHERE a = %s", (a,))


def finish_and_compare(store: Store, name: str, src: str, dst: str, business: Business) -> None:
    business.halt.set()
    business.join()
    wait_caught_up(store, name, timeout=120)
    api.stop_task(name, store)
    assert business.transactions > 50
    same_rows(src, dst)


@pytest.fixture(params=["mysql", "sqlite"])
def dest_url(request: pytest.FixtureRequest, tmp_path: Path, mysql_url: str) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dst.db'}"
    return mysql_url + "_dst"


def test_kill_mysql_worker_during_full_and_incremental(
    store: Store, mysql_url: str, dest_url: str
) -> None:
    build_source(mysql_url, 60_000)
    api.create_task(TaskSpec("my-crash", mysql_url, dest_url,
                             options=Options(chunk_rows=1000, batch_changes=300)), store)
    business = Business(mysql_url, 60_000)
    business.start()
    rng = random.Random(5)
    try:
        for round_ in range(2):  # two kills in the full step
            api.start_task("my-crash", store)
            api.wait_for(
                "my-crash",
                lambda s: any(0 < t["rows_copied"] < t["rows_total"] for t in s["tables"])
                and s["phase"] == "full" and s["pid"],
                60, store,
            )
            time.sleep(0.05 * round_)
            kill_worker(store, "my-crash")
        api.start_task("my-crash", store)
        api.wait_for("my-crash", lambda s: s["phase"] == "incremental", 120, store)
        for _ in range(3):  # then at random moments while changes flow
            time.sleep(rng.uniform(0.1, 0.6))
            kill_worker(store, "my-crash")
            time.sleep(rng.uniform(0.0, 0.3))
            api.start_task("my-crash", store)
            api.wait_for("my-crash", lambda s: s["phase"] == "incremental" and s["pid"], 60,
                         store)
        finish_and_compare(store, "my-crash", mysql_url, dest_url, business)
    finally:
        business.halt.set()
