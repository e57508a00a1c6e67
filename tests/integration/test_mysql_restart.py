"""A MariaDB source restarted (cleanly or by kill -9) while its task is stopped or running.

A restart starts a new binlog file and hands out table ids afresh, in the order tables are
first opened, so the id a table had before can belong to another table after. A task resuming
from a position before the restart reads both files; every row must still land in its own
table. These tests use a server of their own, since they restart it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import unique_db_name
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_mysql import _connect, my_execute
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import MariaDbServer, start_mariadb

SAME_SHAPE = """
CREATE TABLE a (id int PRIMARY KEY, v varchar(20));
CREATE TABLE b (id int PRIMARY KEY, v varchar(20))
"""
OTHER_SHAPES = """
CREATE TABLE a (id int PRIMARY KEY, v varchar(20));
CREATE TABLE b (id bigint PRIMARY KEY, n int, w text, t datetime(6), d decimal(10, 2))
"""
_TABLE_MAP = re.compile(r"table_id: (\d+) \(`?(\w+)`?\.`?(\w+)`?\)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDbServer]:
    """A MariaDB server for this module alone: its restarts disturb no other test. Durable
    commits, as on a production server: a kill -9 then loses none the server acknowledged
    (the suite's default keeps up to a second of them in the process)."""
    own = start_mariadb(tmp_path_factory.mktemp("mariadb-restarts"),
                        ["--binlog-row-metadata=FULL"], durable=True)
    try:
        yield own
    finally:
        own.stop()


@pytest.fixture()
def url(server: MariaDbServer, request: pytest.FixtureRequest) -> str:
    """A fresh database on a freshly restarted server, whose table ids start over."""
    server.restart()
    return server.create_database(unique_db_name(request))


def table_ids(server: MariaDbServer, database: str) -> dict[str, dict[int, str]]:
    """Each binlog file's table ids of `database`: file → {id: table}."""
    out: dict[str, dict[int, str]] = {}
    for line in server.sql("SHOW BINARY LOGS").splitlines():
        name = line.split()[0]
        ids = out.setdefault(name, {})
        for found in _TABLE_MAP.finditer(server.sql(f"SHOW BINLOG EVENTS IN '{name}'")):
            if found.group(2) == database and not found.group(3).startswith("_turnout"):
                ids[int(found.group(1))] = found.group(3)  # not turnout's heartbeat table
    return out


def row(shape: str, table: str, i: int) -> str:
    """An INSERT of row `i` into `table` (a or b) of `shape`."""
    if table == "a" or shape == SAME_SHAPE:
        return f"INSERT INTO {table} VALUES ({i}, '{table}{i}')"
    return f"INSERT INTO b VALUES ({i}, {i * 7}, 'b{i}', '2026-01-0{i % 9 + 1} 10:00:00.5', {i}.25)"


def swap_ids_across_restarts(server: MariaDbServer, url: str, shape: str) -> None:
    """Write to both tables, restart twice, writing to them in the other order after each
    restart, so that the ids the tables had in the first file now name the other table."""
    database = url.rsplit("/", 1)[1]
    ids = table_ids(server, database)
    stopped_in = max(name for name, found in ids.items() if found)
    first = sorted(ids[stopped_in].items())  # the tables' ids in the file the task stopped in
    later_first = first[-1][1]  # opened first after a restart: it takes the lowest id
    later = [later_first, "b" if later_first == "a" else "a"]
    for i in (10, 11):
        my_execute(url, f"{row(shape, 'a', i)};\n{row(shape, 'b', i)}")
    for i in (20, 30):
        server.restart()
        my_execute(url, f"{row(shape, later[0], i)};\n{row(shape, later[1], i)};\n"
                   f"{row(shape, later[0], i + 1)}")
    after = table_ids(server, database)
    old, new = after[stopped_in], after[max(after)]
    assert any(old.get(k) not in (None, name) for k, name in new.items()), (old, new)


@pytest.mark.parametrize("shape", [SAME_SHAPE, OTHER_SHAPES], ids=["same-shape", "other-shapes"])
def test_rows_stay_in_their_table_across_two_restarts(
    store: Store, server: MariaDbServer, url: str, tmp_path: Path, shape: str
) -> None:
    my_execute(url, shape)
    my_execute(url, f"{row(shape, 'a', 1)};\n{row(shape, 'b', 1)}")
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("restarts", url, dest), store)
    with running(store, "restarts"):
        wait_caught_up(store, "restarts")
        my_execute(url, f"{row(shape, 'a', 2)};\n{row(shape, 'b', 2)}")
        wait_caught_up(store, "restarts")
    swap_ids_across_restarts(server, url, shape)
    with running(store, "restarts"):
        wait_caught_up(store, "restarts")
    same_rows(url, dest, ["a", "b"])


class Inserts(threading.Thread):
    """Inserts into both tables in turn until halted or the server goes away."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.halt, self.done = url, threading.Event(), 0

    def run(self) -> None:
        try:
            with _connect(self.url) as conn, conn.cursor() as cur:
                while not self.halt.is_set():
                    i = 1000 + self.done
                    cur.execute(row(OTHER_SHAPES, "a" if i % 2 else "b", i))
                    self.done += 1
        except Exception:  # noqa: BLE001 - the server was killed under it
            return


def test_every_row_arrives_after_kill_9_of_the_server_mid_stream(
    store: Store, server: MariaDbServer, url: str, tmp_path: Path
) -> None:
    my_execute(url, OTHER_SHAPES)
    my_execute(url, f"{row(OTHER_SHAPES, 'a', 1)};\n{row(OTHER_SHAPES, 'b', 2)}")
    dest = f"sqlite:///{tmp_path / 'd.db'}"
    api.create_task(TaskSpec("killed", url, dest), store)
    writer = Inserts(url)
    with running(store, "killed", expect=("Stopped", "Failed")):
        wait_caught_up(store, "killed")
        writer.start()
        api.wait_for("killed", lambda s: s["changes_applied"] > 300, 60, store)
        # durable: a commit the writer saw is in InnoDB after the kill, not only in the binlog
        assert server.sql("SELECT @@innodb_flush_log_at_trx_commit, @@sync_binlog") == "1\t1"
        server.restart(kill=True)  # the writer dies with it, mid-stream
        writer.join(30)
    assert writer.done > 300
    again = [row(OTHER_SHAPES, t, i) for t, i in (("b", 5), ("a", 6), ("b", 7))]
    my_execute(url, ";\n".join(again))  # after the restart, ids handed out anew
    with running(store, "killed"):
        wait_caught_up(store, "killed", timeout=60)
    same_rows(url, dest, ["a", "b"])
