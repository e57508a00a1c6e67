"""The store on both backends: a task's whole life through the CLI on the SQLite file and on a
PostgreSQL store, the copy from one to the other, the schema's versions, and the store URL's
password kept out of every output."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import all_rows, make_db
from turnout import api, checkpoints, storedb
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import PgServer

SHOP = """
CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
INSERT INTO item VALUES (1, 'apple'), (2, 'pear');
"""


def turnout(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, TURNOUT_HOME=str(home), COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "turnout", *args], capture_output=True,
                          text=True, env=env, timeout=90)


def wait_status(home: Path, name: str, predicate, timeout: float = 30) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while True:
        result = turnout(home, "task", "status", name, "--json")
        assert result.returncode == 0, result.stderr
        current = json.loads(result.stdout)
        if predicate(current):
            return current
        assert time.time() < deadline, current
        time.sleep(0.2)


def test_a_task_lives_the_same_on_both_backends(backend: str, home: Path,
                                                tmp_path: Path) -> None:
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    created = turnout(home, "task", "create", "shop", "--source", f"sqlite:///{src}",
                      "--dest", f"sqlite:///{dst}")
    assert created.returncode == 0, created.stderr
    assert turnout(home, "task", "start", "shop").returncode == 0
    wait_status(home, "shop", lambda s: s["phase"] == "incremental" and s["delay_s"] == 0)
    db = sqlite3.connect(src)
    db.execute("INSERT INTO item VALUES (3, 'plum')")
    db.commit()
    db.close()
    wait_status(home, "shop", lambda s: s["changes_applied"] >= 1)
    assert all_rows(dst) == all_rows(src)
    listed = turnout(home, "task", "list", "--json")
    assert [t["name"] for t in json.loads(listed.stdout)] == ["shop"]
    events = turnout(home, "task", "events", "shop")
    assert "task created" in events.stdout
    stopped = turnout(home, "task", "stop", "shop")
    assert stopped.returncode == 0, stopped.stderr
    assert wait_status(home, "shop", lambda s: s["state"] == "Stopped")["pid"] is None
    assert turnout(home, "task", "delete", "shop").returncode == 0
    assert json.loads(turnout(home, "task", "list", "--json").stdout) == []
    if backend == "postgresql":  # the file was never made: everything went to PostgreSQL
        assert not (home / "turnout.db").exists()


def test_copy_moves_every_task_and_refuses_a_second_time(home: Path, tmp_path: Path,
                                                         pg_server: PgServer) -> None:
    local = Store(home, url="")
    src, dst = make_db(tmp_path / "src.db", SHOP), tmp_path / "dst.db"
    local.create_task(TaskSpec("a", f"sqlite:///{src}", f"sqlite:///{dst}"))
    local.create_task(TaskSpec("b", f"sqlite:///{src}", "postgresql://u:s3cretpw@h/db"))
    local.set_tables("a", [("item", "item", 2), ("other", "other", 5)])
    local.set_table_progress("a", "item", 2, True)
    checkpoints.FULL_DONE.set(local, "a", True)
    local.add_event("a", "warning", "something to keep")
    url = pg_server.create_database("store_copy_target")

    assert api.copy_store(url, local) == ["a", "b"]
    shared = Store(home, url)
    assert [r.name for r in shared.all_tasks()] == ["a", "b"]
    assert shared.get("b").spec.dest == "postgresql://u:s3cretpw@h/db"  # same key, unsealed
    assert shared.tables("a") == local.tables("a")
    assert checkpoints.FULL_DONE.present(shared, "a")
    messages = [e.message for e in shared.events("a")]
    assert messages[:2] == ["task created", "something to keep"]
    raw = shared._db().execute("SELECT spec FROM tasks WHERE name = 'b'").fetchone()[0]
    assert "s3cretpw" not in raw

    again = turnout(home, "store", "copy", "--to", url)
    assert again.returncode == 2 and "already has task(s) a, b" in again.stderr


def test_an_old_file_store_is_migrated_to_the_current_schema(home: Path) -> None:
    home.mkdir(mode=0o700)
    db = sqlite3.connect(home / "turnout.db")
    db.executescript(storedb.SQLITE.ddl(storedb.V1_SCHEMA))
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    db.execute("INSERT INTO meta VALUES ('passwords_sealed', '1')")
    db.commit()
    db.close()
    store = Store(home, url="")
    assert store.schema_version() == storedb.SCHEMA_VERSION
    columns = {r[1] for r in store._db().execute("PRAGMA table_info(tasks)")}
    assert {"agent", "epoch", "lease_expires", "wanted"} <= columns
    Store(home, url="")  # opening again migrates nothing twice


def test_the_store_password_is_never_printed(home: Path, pg_server: PgServer) -> None:
    url = pg_server.url(pg_server.create_database("store_pw").rsplit("/", 1)[1])
    with_pw = url.replace("postgres@", "postgres:hunter2secret@")
    shown = turnout(home, "--store", with_pw, "store", "show")
    assert shown.returncode == 0, shown.stderr
    assert "hunter2secret" not in shown.stdout and "postgres:***@" in shown.stdout
    unreachable = "postgresql://postgres:hunter2secret@127.0.0.1:1/nowhere"
    failed = turnout(home, "--store", unreachable, "task", "list")
    assert failed.returncode == 1 and "cannot reach the store" in failed.stderr
    assert "hunter2secret" not in failed.stderr + failed.stdout
    wrong = turnout(home, "--store", "mysql://u:hunter2secret@h/db", "task", "list")
    assert wrong.returncode == 2 and "hunter2secret" not in wrong.stderr
