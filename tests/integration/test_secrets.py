"""No password readable at rest or in passing: the store, its folder, events, status, ps.

Tasks are created with distinctive passwords written in their URLs (real MariaDB
authentication, PostgreSQL with a role of its own), run as detached workers, and
then every place a password could leak is searched for it, in clear and URL-encoded.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest

from tests.integration.helpers import same_rows
from tests.integration.test_mysql import my_execute
from turnout import api, engines
from turnout.errors import BadInput
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.storedb import SQLITE, V1_SCHEMA

PG_PASSWORD = "Tq9vX2@cret7Lm-pg"  # '@' is written %40 in a URL
MY_PASSWORD = "My$ecret_Pw#42-my"  # '#' is written %23


def spellings(*passwords: str) -> list[bytes]:
    return [form.encode() for p in passwords for form in {p, quote(p, safe="")}]


def leaks(data: bytes, passwords: list[bytes]) -> list[bytes]:
    return [p for p in passwords if p in data]


def store_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def running_commands() -> bytes:
    """Every process's command line, as ps shows them (and /proc, which ps reads)."""
    ps = subprocess.run(["ps", "-eo", "pid,args", "ww"], capture_output=True, check=False).stdout
    cmdlines = b""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdlines += (proc / "cmdline").read_bytes() + b"\n"
            except OSError:
                continue
    return ps + cmdlines


def assert_private(home: Path) -> None:
    assert home.stat().st_mode & 0o777 == 0o700
    for path in home.rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


def with_login(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{quote(password, safe='')}@{rest.split('@', 1)[1]}"


@pytest.fixture()
def accounts(store: Store, pg_server: Any, mariadb_server: Any) -> Iterator[tuple[str, str]]:
    """A PostgreSQL superuser and a MariaDB account with every privilege, both with a password,
    gone after the test with the tasks' slots: roles and slots are server-wide, and a leftover
    superuser is one that a later test's switchover fence rightly refuses to ignore."""
    role, user = f"pw_{uuid.uuid4().hex[:8]}", f"pw_{uuid.uuid4().hex[:8]}"
    pg_server.psql(f"CREATE ROLE {role} LOGIN SUPERUSER REPLICATION PASSWORD '{PG_PASSWORD}'")
    mariadb_server.sql(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{MY_PASSWORD}'; "
                       f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%'")
    try:
        yield role, user
    finally:
        for task in api.list_tasks(store):
            api.delete_task(task["name"], store, force=True)
        pg_server.psql(f"ALTER ROLE {role} NOSUPERUSER NOLOGIN NOREPLICATION")
        mariadb_server.sql(f"DROP USER '{user}'@'%'")


def test_passwords_are_nowhere_readable(store: Store, pg_server: Any, pg_url: str,
                                        mysql_url: str, accounts: tuple[str, str]) -> None:
    role, user = accounts
    pg_src = with_login(pg_url, role, PG_PASSWORD)
    pg_dst = with_login(pg_server.create_database(f"pwd_{uuid.uuid4().hex[:8]}"), role,
                        PG_PASSWORD)
    pg_dst2 = with_login(pg_server.create_database(f"pwd_{uuid.uuid4().hex[:8]}"), role,
                         PG_PASSWORD)
    my_src = with_login(mysql_url, user, MY_PASSWORD)
    with psycopg.connect(pg_src, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v text);"
                     "INSERT INTO t SELECT g, 'x' FROM generate_series(1, 100) g")
    my_execute(my_src, "CREATE TABLE t (id int PRIMARY KEY, v text);\n"
               "INSERT INTO t SELECT seq, 'x' FROM seq_1_to_100")
    api.create_task(TaskSpec("pgsec", pg_src, pg_dst), store)
    api.create_task(TaskSpec("mysec", my_src, my_src + "_copy"), store)
    api.create_task(TaskSpec("mypg", my_src, pg_dst2), store)
    secrets = spellings(PG_PASSWORD, MY_PASSWORD)
    names = ("pgsec", "mysec", "mypg")
    try:
        for name in names:
            api.start_task(name, store)
        for name in names:
            api.wait_caught_up(name, 60, store)
        with psycopg.connect(pg_src, autocommit=True) as conn:
            conn.execute("INSERT INTO t VALUES (101, 'during')")
        my_execute(my_src, "INSERT INTO t VALUES (101, 'during')")
        assert leaks(running_commands(), secrets) == []  # workers, their connections, tools
        for name in names:
            api.wait_caught_up(name, 60, store)
        store.add_event("pgsec", "error", f"a driver wrote: password={PG_PASSWORD} for "
                        f"{with_login('postgresql://x@h/db', role, PG_PASSWORD)}")
        for name in names:
            env = dict(os.environ, TURNOUT_HOME=str(store.home))
            shown = subprocess.run([sys.executable, "-m", "turnout", "task", "status", name,
                                    "--json"], capture_output=True, env=env, check=True).stdout
            assert json.loads(shown)["state"] == "Migrating"
            assert leaks(shown, secrets) == []
            assert leaks(json.dumps(api.events(name, store=store)).encode(), secrets) == []
    finally:
        for name in names:
            api.stop_task(name, store)
    same_rows(pg_src, pg_dst, ["t"])
    same_rows(my_src, my_src + "_copy", ["t"])
    same_rows(my_src, pg_dst2, ["t"])
    assert leaks(store_bytes(store.home), secrets) == []
    assert_private(store.home)
    assert any("password=*** for postgresql://" in e["message"]
               for e in api.events("pgsec", store=store))
    assert quote(PG_PASSWORD, safe="") in Store(store.home).get("pgsec").spec.source


def test_an_older_store_is_sealed_scrubbed_and_compacted(tmp_path: Path) -> None:
    """A store written in clear (0644 files, 0755 folder, a password in the WAL and in the
    free pages of a deleted task) keeps no readable trace once opened."""
    home = tmp_path / "old"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    old = sqlite3.connect(home / "turnout.db", isolation_level=None)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("PRAGMA wal_autocheckpoint=0")  # the clear text stays in the WAL, too
    old.executescript(SQLITE.ddl(V1_SCHEMA))  # a store written before the seal
    kept = TaskSpec("kept", "postgresql://app:Kept-pw-4711@db.example/shop",
                    "mysql://app:Kept-pw-4711@db2.example/shop")
    gone = TaskSpec("gone", "postgresql://app:Gone-pw-0815@db.example/shop", "sqlite:///x.db")
    for spec in (kept, gone):
        old.execute("INSERT INTO tasks (name, spec, state, created, updated, error) "
                    "VALUES (?, ?, 'Failed', 0, 0, ?)",
                    (spec.name, json.dumps(spec.to_dict()), f"cannot reach {spec.source}"))
        old.execute("INSERT INTO events (task, ts, level, message) VALUES (?, 0, 'error', ?)",
                    (spec.name, f"connecting to {spec.source} failed"))
    old.execute("INSERT INTO checkpoints VALUES ('kept', 'detail', ?)",
                (f"reconnecting: {kept.dest} refused",))
    old.execute("DELETE FROM tasks WHERE name = 'gone'")
    for path in home.iterdir():
        path.chmod(0o644)
    secrets = spellings("Kept-pw-4711", "Gone-pw-0815")
    assert len(leaks(store_bytes(home), secrets)) == 2  # the test shows something

    store = Store(home)
    old.close()
    assert leaks(store_bytes(home), secrets) == []
    assert_private(home)
    record = store.get("kept")
    assert record.spec.source == kept.source and record.spec.dest == kept.dest
    assert record.error == "cannot reach postgresql://app:***@db.example/shop"
    assert [e.message for e in store.events("kept")] == [
        "connecting to postgresql://app:***@db.example/shop failed"]
    assert store.checkpoint("kept", "detail") == (
        "reconnecting: mysql://app:***@db2.example/shop refused")
    Store(home)  # opening again changes nothing
    assert leaks(store_bytes(home), secrets) == []


def test_a_store_without_its_key_still_shows_and_deletes_its_tasks(store: Store,
                                                                    tmp_path: Path) -> None:
    spec = TaskSpec("lost", "postgresql://app:Lost-pw-1234@127.0.0.1:1/shop",
                    f"sqlite:///{tmp_path / 'd.db'}")
    store.create_task(spec)
    assert Store(store.home).get("lost").spec.source == spec.source
    (store.home / "secret.key").unlink()
    again = Store(store.home)
    assert api.task_status("lost", again)["source"] == "postgresql://app:***@127.0.0.1:1/shop"
    with pytest.raises(BadInput, match="sealed with a key this store no longer has"):
        engines.connect(again.get("lost").spec.source)
    api.delete_task("lost", again, force=True)
    assert api.list_tasks(again) == []
