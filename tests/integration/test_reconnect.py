"""A running task recovers by itself from a source that crashes and starts again, and from
a connection cut for a while: it waits, reconnects, resumes from its checkpoint, and every
row arrives."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest

from tests.integration.faults import (
    BLACKHOLE,
    CUT,
    FORWARD,
    TcpProxy,
    crash_mariadb,
    crash_postgres,
)
from tests.integration.helpers import execute, insert_sql, running, wait_caught_up
from tests.integration.pairs import kind, over, own_cursor
from turnout import api, engines
from turnout.spec import Options, TaskSpec
from turnout.store import Store
from turnout.testing.servers import MariaDbServer, PgServer, start_mariadb, start_postgres

Server = PgServer | MariaDbServer

pytestmark = pytest.mark.slow


@pytest.fixture()
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of this test's own, of the engine it is parametrised with, since the test
    crashes it. MariaDB with durable commits, or the kill itself would lose from InnoDB
    transactions its binlog (and so turnout) still has."""
    server: Server
    if request.param == "postgresql":
        server = start_postgres(tmp_path / "pg")
    else:
        server = start_mariadb(tmp_path / "my", ["--binlog-row-metadata=FULL"], durable=True)
    try:
        yield server
    finally:
        server.stop()


UPSERT = {"postgresql": "INSERT INTO acct VALUES ({i}, 1) ON CONFLICT (id) DO "
                        "UPDATE SET balance = acct.balance + 1",
          "mysql": "INSERT INTO acct VALUES ({i}, 1) ON DUPLICATE KEY UPDATE "
                   "balance = balance + 1"}


class Business(threading.Thread):
    """Inserts, updates and deletes on `acct` until halted, riding out a server that is gone
    for a while (a failed transaction is tried again once the server is back)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.halt, self.transactions = url, threading.Event(), 0
        self.rng = random.Random(5)
        self.upsert = UPSERT[kind(url)]

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                with own_cursor(self.url) as cur:
                    while not self.halt.is_set():
                        self._one(cur)
            except (psycopg.OperationalError, pymysql.err.MySQLError):
                time.sleep(0.2)

    def _one(self, cur: Any) -> None:
        cur.execute("BEGIN")
        for _ in range(self.rng.randint(1, 8)):
            i = self.rng.randint(1, 3000)
            if self.rng.random() < 0.8:
                cur.execute(self.upsert.format(i=i))
            else:
                cur.execute(f"DELETE FROM acct WHERE id = {i}")
        cur.execute("COMMIT")
        self.transactions += 1
        time.sleep(0.005)


def _prepare(url: str) -> None:
    execute(url, "CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL)",
            insert_sql(url, "acct", [(i, 0) for i in range(1, 2001)]))


def _same_rows(src: str, dst: str) -> None:
    source, dest = engines.connect(src), engines.connect(dst)
    try:
        table = source.reflect(["acct"])[0]
        left, right = set(source.iter_rows(table)), set(dest.iter_rows(table))
    finally:
        source.close()
        dest.close()
    missing, extra = sorted(left - right), sorted(right - left)
    assert left == right, (len(missing), len(extra), missing[:10], extra[:10])


def _messages(store: Store, name: str) -> list[str]:
    return [e["message"] for e in api.events(name, 0, store) if e["level"] != "debug"]


def _follow_through(store: Store, name: str, src: str, fault: object) -> None:
    """Run the task under writes, inject `fault()` while it follows changes, wait until it
    has reconnected by itself and caught up; the source's rows are then all there."""
    writer = Business(src)
    with running(store, name):
        api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
        writer.start()
        time.sleep(1)
        fault()  # type: ignore[operator]
        api.wait_for(name, lambda s: "reconnected" in " ".join(_messages(store, name)), 120,
                     store)
        time.sleep(1)
        writer.halt.set()
        writer.join(30)
        wait_caught_up(store, name, timeout=60)
        assert api.task_status(name, store)["state"] == "Migrating"
    assert writer.transactions > 20
    stopped = api.task_status(name, store)
    assert stopped["state"] == "Stopped" and stopped["delay_s"] is None
    assert stopped["heartbeat_delay_s"] is None


@pytest.mark.parametrize("own_server", ["postgresql", "mysql"], indirect=True,
                         ids=["pg-sqlite", "mysql-sqlite"])
def test_a_source_server_crash_and_restart_recovers_by_itself(
    store: Store, own_server: Server, tmp_path: Path
) -> None:
    """PostgreSQL stopped at once (every backend dies, the next start recovers from WAL),
    MariaDB killed with -9 (InnoDB recovers, the binlog rotates to a new file)."""
    src = own_server.create_database("crash")
    _prepare(src)
    dst = f"sqlite:///{tmp_path / 'acct.db'}"
    api.create_task(TaskSpec("crash", src, dst, options=Options(batch_changes=200)), store)
    crash = crash_postgres if isinstance(own_server, PgServer) else crash_mariadb
    _follow_through(store, "crash", src, lambda: crash(own_server, down_s=3))  # type: ignore[arg-type]
    messages = _messages(store, "crash")
    assert any(m.startswith("reconnecting (attempt 1, last error") for m in messages), messages
    assert not any("unexpected " in m and "last error" not in m for m in messages), messages
    _same_rows(src, dst)


def test_a_20_s_connection_cut_recovers_by_itself(
    store: Store, pg_server: PgServer, pg_url: str, tmp_path: Path
) -> None:
    _prepare(pg_url)
    proxy = TcpProxy(pg_server.port)
    try:
        via_proxy = pg_url.replace(f":{pg_server.port}/", f":{proxy.port}/")
        dst = f"sqlite:///{tmp_path / 'acct.db'}"
        api.create_task(TaskSpec("pgcut", via_proxy, dst, options=Options(batch_changes=200)),
                        store)
        seen: list[dict] = []

        def cut() -> None:
            proxy.set(CUT)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                seen.append(api.task_status("pgcut", store))
                time.sleep(0.5)
            proxy.set(FORWARD)

        _follow_through(store, "pgcut", pg_url, cut)
    finally:
        proxy.close()
    assert all(s["state"] == "Migrating" for s in seen), [s["state"] for s in seen]
    assert any((s["detail"] or "").startswith("reconnecting (attempt") for s in seen)
    _same_rows(pg_url, dst)


STALL_S = 5.0  # the tests' stall_timeout_s: a blackhole of 3 times that shows everything


def _blackhole(store: Store, name: str, proxy: TcpProxy, seconds: float) -> list[dict]:
    """Drop every packet through the proxy for `seconds`, asking for the task's status (with
    the source check, as `turnout task status` does) all along; each status bounded in time,
    as status is: never longer than 2 s on the source."""
    proxy.set(BLACKHOLE)
    seen: list[dict] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        asked = time.monotonic()
        status = api.task_status(name, store, check_source=True)
        status["took_s"] = time.monotonic() - asked
        seen.append(status)
        time.sleep(0.5)
    proxy.set(FORWARD)
    return seen


def _check_blackhole(seen: list[dict], heartbeats: bool) -> None:
    assert all(s["state"] == "Migrating" for s in seen), [s["state"] for s in seen]
    assert max(s["took_s"] for s in seen) < 2.0, [round(s["took_s"], 2) for s in seen]
    assert any((s["detail"] or "").startswith("reconnecting (attempt") for s in seen)
    # nothing arrives: the delay grows past the stall timeout, whatever the reads said last
    assert max(s["delay_s"] for s in seen) > STALL_S, [s["delay_s"] for s in seen]
    if heartbeats:
        assert max(s["heartbeat_delay_s"] for s in seen) > STALL_S, seen


@over(("postgresql", "sqlite"), ("mysql", "sqlite"))
def test_a_blackhole_is_noticed_and_the_task_reconnects(
    store: Store, urls: tuple[str, str], request: pytest.FixtureRequest
) -> None:
    source, dst = urls
    _prepare(source)
    server = request.getfixturevalue("pg_server" if kind(source) == "postgresql"
                                     else "mariadb_server")
    proxy = TcpProxy(server.port)
    seen: list[dict] = []
    try:
        via_proxy = source.replace(f":{server.port}/", f":{proxy.port}/")
        options = Options(batch_changes=200, stall_timeout_s=STALL_S)
        api.create_task(TaskSpec("hole", via_proxy, dst, options=options), store)
        _follow_through(store, "hole", source,
                        lambda: seen.extend(_blackhole(store, "hole", proxy, 3 * STALL_S)))
    finally:
        proxy.close()
    _check_blackhole(seen, heartbeats=True)
    _same_rows(source, dst)
