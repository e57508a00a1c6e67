"""A small bank on any engine, and a business that keeps writing to it while a task runs.

`acct` (one key) and `move` (a two-column key) are built the same way on SQLite, PostgreSQL
and MySQL, each in its own spelling; on MySQL `acct` has an AUTO_INCREMENT key, so into
MariaDB its chunks load through stages (engines/mysql/staging.py). The business makes
inserts, updates, deletes, key moves and upserts, several to a transaction, through the
engine's own driver, as an application would. The crash tests kill the worker under it.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from tests.conftest import all_rows
from tests.integration.helpers import AppWriter, same_rows, wait_caught_up
from tests.integration.pairs import kind, own_execute, own_rows
from turnout import api
from turnout.store import Store

_PAD = "x" * 40
SCHEMA = {
    "sqlite": ["PRAGMA journal_mode=WAL",
               "CREATE TABLE acct (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER)",
               "CREATE TABLE move (a INTEGER, b INTEGER, amount INTEGER, note TEXT, "
               "PRIMARY KEY (a, b))"],
    "postgresql": ["CREATE TABLE acct (id int PRIMARY KEY, owner text NOT NULL, balance bigint)",
                   "CREATE TABLE move (a int, b int, amount int, note text, PRIMARY KEY (a, b))"],
    "mysql": ["CREATE TABLE acct (id int AUTO_INCREMENT PRIMARY KEY, owner varchar(80) NOT NULL, "
              "balance bigint, seen datetime(6), flags set('a', 'b'))",
              "CREATE TABLE move (a int, b int, amount int, note text, PRIMARY KEY (a, b))"],
}
# {rows} accounts with owners of several lengths; moves for every (a, b) in 1..199 x 1..49
FILL = {
    "sqlite": [
        "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {rows}) "
        f"INSERT INTO acct SELECT n, 'owner ' || n || substr('{_PAD}', 1, n % 41), "
        "n * 7 % 1009 FROM g",
        "WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 199), "
        "j(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM j WHERE n < 49) "
        "INSERT INTO move SELECT i.n, j.n, i.n * j.n, NULL FROM i, j"],
    "postgresql": [
        "INSERT INTO acct SELECT g, 'owner ' || g || repeat('x', g % 41), g * 7 % 1009 "
        "FROM generate_series(1, {rows}) g",
        "INSERT INTO move SELECT i, j, i * j, NULL FROM generate_series(1, 199) i, "
        "generate_series(1, 49) j"],
    "mysql": [
        "INSERT INTO acct SELECT seq, concat('owner ', seq, repeat('x', seq % 41)), "
        "seq * 7 % 1009, '2026-01-01', 'a' FROM seq_1_to_{rows}",
        "INSERT INTO move SELECT i.seq, j.seq, i.seq * j.seq, NULL FROM seq_1_to_199 i, "
        "seq_1_to_49 j"],
}
# what the business says that each engine spells its own way
NEW_ACCT = {"sqlite": "INSERT INTO acct VALUES ({id}, 'new', 0)",
            "postgresql": "INSERT INTO acct VALUES ({id}, 'new', 0)",
            "mysql": "INSERT INTO acct VALUES ({id}, 'new', 0, NOW(6), '')"}
PAY = {"sqlite": "UPDATE acct SET balance = balance + 1 WHERE id = {id}",
       "postgresql": "UPDATE acct SET balance = balance + 1 WHERE id = {id}",
       "mysql": "UPDATE acct SET balance = balance + 1, flags = 'a,b' WHERE id = {id}"}
UPSERT_MOVE = {
    "sqlite": "INSERT INTO move VALUES ({a}, {b}, 1, 'n') ON CONFLICT (a, b) "
              "DO UPDATE SET amount = amount + 1",
    "postgresql": "INSERT INTO move VALUES ({a}, {b}, 1, 'n') ON CONFLICT (a, b) "
                  "DO UPDATE SET amount = move.amount + 1",
    "mysql": "INSERT INTO move VALUES ({a}, {b}, 1, 'n') ON DUPLICATE KEY UPDATE "
             "amount = amount + 1",
}


def build_source(url: str, rows: int) -> None:
    """The bank's tables on the database of `url`, `rows` accounts in `acct`."""
    engine = kind(url)
    own_execute(url, *SCHEMA[engine], *(sql.format(rows=rows) for sql in FILL[engine]))


class Business(AppWriter):
    """Keeps writing: inserts, updates, deletes, key moves, upserts, multi-row transactions.

    Every key an insert or a key move takes is new, so no statement ever conflicts and each
    engine runs the same mix."""

    def __init__(self, url: str, max_id: int, max_statements: int = 20) -> None:
        super().__init__(url, max_id + 1, seed=11)
        self.engine = kind(url)
        self.max_statements = max_statements

    def one(self, cur: Any) -> None:
        r, rid = self.rng.random(), self.rng.randint(1, self.next_id)
        if r < 0.35:
            cur.execute(NEW_ACCT[self.engine].format(id=self.next_id))
            self.next_id += 1
        elif r < 0.7:
            cur.execute(PAY[self.engine].format(id=rid))
        elif r < 0.8:
            cur.execute(f"DELETE FROM acct WHERE id = {rid}")
        elif r < 0.85:  # the key moves to the far end of the table
            cur.execute(f"UPDATE acct SET id = {self.next_id} WHERE id = {rid}")
            self.next_id += 1
        else:
            a, b = self.rng.randint(1, 250), self.rng.randint(1, 60)
            cur.execute(UPSERT_MOVE[self.engine].format(a=a, b=b))
            if self.rng.random() < 0.2:
                cur.execute(f"DELETE FROM move WHERE a = {a}")


def kill_worker(store: Store, name: str) -> None:
    """kill -9 of the task's worker process; back once the store sees it gone."""
    pid = api.task_status(name, store)["pid"]
    assert pid, api.task_status(name, store)
    os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        if api.task_status(name, store)["pid"] is None:
            return
        time.sleep(0.02)
    raise AssertionError("the worker did not die")


def finish_and_compare(store: Store, name: str, src: str, dst: str, business: Business) -> None:
    """Halt the business, let the task catch up and stop it; then both sides hold the same
    rows, by turnout's checksums and by each engine's own driver."""
    business.halt.set()
    business.join()
    wait_caught_up(store, name, timeout=120)
    api.stop_task(name, store)
    assert business.transactions > 50
    same_rows(src, dst)
    for table, columns, key in (("acct", "id, owner, balance", "id"),
                                ("move", "a, b, amount, note", "a, b")):
        assert own_rows(dst, table, columns, key) == own_rows(src, table, columns, key), table
    if kind(src) == kind(dst) == "sqlite":  # every column, as SQLite stores it
        assert all_rows(_path(dst)) == all_rows(_path(src))


def _path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))
