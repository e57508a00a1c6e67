"""Fixtures for tests against real PostgreSQL and MariaDB servers.

The servers are private throwaway instances (see ``turnout.testing.servers``), started only when a
test of the session first asks for one and stopped when the session ends. Each test that asks
for ``pg_url`` or ``mysql_url`` gets a database of its own, named after the test; databases are
left in place (the whole server is deleted at the end of the session).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.webhook import Receiver
from turnout import alerts, api
from turnout.store import Store
from turnout.testing.servers import MariaDbServer, PgServer, start_mariadb, start_postgres


@pytest.fixture(autouse=True)
def halt_left_writers() -> Iterator[None]:
    """After each test, halt every writer thread it left running (a thread with a `halt`
    event): a test that fails before halting its writer must not keep filling the shared
    server's log, which every later test's capture reads through."""
    yield
    left = [t for t in threading.enumerate()
            if isinstance(getattr(t, "halt", None), threading.Event) and t.is_alive()]
    for thread in left:
        thread.halt.set()  # type: ignore[attr-defined]
    for thread in left:
        thread.join(10)


@pytest.fixture()
def quick_alerts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Alerts retried at once instead of after seconds."""
    monkeypatch.setattr(alerts, "FIRST_WAIT_S", 0.05)


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback for the alert tests (webhook.py)."""
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PgServer]:
    """A private PostgreSQL server (wal_level=logical) for the whole session."""
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDbServer]:
    """A private MariaDB server (ROW binlog with column names, grants on) for the session."""
    server = start_mariadb(tmp_path_factory.mktemp("mariadb"),
                           ["--binlog-row-metadata=FULL", "--max-connections=300"])
    try:
        yield server
    finally:
        server.stop()


def unique_db_name(request: pytest.FixtureRequest) -> str:
    """A new database name that says which test made it; fits both engines' 63-char limit."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    return f"t_{slug}_{uuid.uuid4().hex[:10]}"


@pytest.fixture()
def pg_url(pg_server: PgServer, request: pytest.FixtureRequest) -> str:
    """URL of a fresh, empty PostgreSQL database for this test."""
    return pg_server.create_database(unique_db_name(request))


@pytest.fixture()
def mysql_url(mariadb_server: MariaDbServer, request: pytest.FixtureRequest) -> str:
    """URL of a fresh, empty MariaDB database for this test."""
    return mariadb_server.create_database(unique_db_name(request))


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which store the test runs on: the SQLite file, or a fresh PostgreSQL database named in
    $TURNOUT_STORE (which `Store()` and the workers the test starts read). Ask for it before
    `store` so that the store opened is this one."""
    if request.param == "postgresql":
        server = request.getfixturevalue("pg_server")
        monkeypatch.setenv("TURNOUT_STORE", server.create_database(unique_db_name(request)))
    return str(request.param)


@pytest.fixture()
def urls(request: pytest.FixtureRequest, tmp_path: Path, store: Store) -> Iterator[tuple[str, str]]:
    """A fresh, empty database of each engine of the pair the test is parametrised with
    (`pairs.over`): the source's URL, then the destination's. The test's tasks are deleted
    after it, since replication slots are few and server-wide."""
    made: list[str] = []
    for kind, role in zip(request.param, ("src", "dst"), strict=True):
        if kind == "sqlite":
            path = tmp_path / f"{role}.db"
            path.touch()
            made.append(f"sqlite:///{path}")
        else:
            server = request.getfixturevalue("pg_server" if kind == "postgresql"
                                             else "mariadb_server")
            made.append(server.create_database(f"{unique_db_name(request)}_{role}"))
    yield made[0], made[1]
    for task in api.list_tasks(store):
        api.delete_task(task["name"], store, force=True)
