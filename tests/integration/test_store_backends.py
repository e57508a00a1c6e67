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

import pytest
from fastapi.testclient import TestClient

from tests.conftest import all_rows, make_db
from tests.integration.pairs import over
from tests.integration.test_switchover import whole_story
from turnout import api, checkpoints, leases, storedb
from turnout.errors import Fenced
from turnout.migrate import fence
from turnout.naming import slot_name
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import PgServer
from turnout.web.app import create_app

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
    assert shared.get("a").capture_name == local.get("a").capture_name  # the same slot
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
    spec = TaskSpec("old", "sqlite:///a.db", "sqlite:///b.db")
    db.execute("INSERT INTO tasks (name, spec, state, created, updated) VALUES (?, ?, ?, 0, 0)",
               ("old", json.dumps(spec.to_dict()), "Stopped"))
    db.commit()
    db.close()
    store = Store(home, url="")
    assert store.schema_version() == storedb.SCHEMA_VERSION
    columns = {r[1] for r in store._db().execute("PRAGMA table_info(tasks)")}
    assert {"agent", "epoch", "lease_expires", "wanted", "capture"} <= columns
    assert store.get("old").capture_name == slot_name("old")  # its slot keeps its name
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


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@over(("sqlite", "sqlite"))
def test_the_switchover_story_on_a_postgresql_store(
        backend: str, store: Store, urls: tuple[str, str], tmp_path: Path) -> None:
    """Switchover, rollback and finish keep their journal in the store: on PostgreSQL too."""
    assert store.url
    whole_story(store, *urls, {}, tmp_path)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_console_api_on_a_postgresql_store(backend: str, home: Path,
                                               tmp_path: Path) -> None:
    src = make_db(tmp_path / "src.db", SHOP)
    with TestClient(create_app(home=home)) as client:
        made = client.post("/api/tasks", json={"name": "shop", "source": f"sqlite:///{src}",
                                               "dest": f"sqlite:///{tmp_path / 'd.db'}"})
        assert made.status_code == 201, made.text
        assert client.post("/api/tasks/shop/start", json={}).status_code in (200, 202)
        until_ok = time.time() + 30
        while client.get("/api/tasks/shop").json()["phase"] != "incremental":
            assert time.time() < until_ok
            time.sleep(0.2)
        assert [t["name"] for t in client.get("/api/tasks").json()] == ["shop"]
        assert client.post("/api/tasks/shop/stop").status_code == 200
        assert client.delete("/api/tasks/shop").status_code in (200, 204)
    assert Store().all_tasks() == []


def test_a_stale_worker_acknowledges_nothing(home: Path, tmp_path: Path) -> None:
    store = Store(home, url="")
    store.create_task(TaskSpec("t", f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"))
    store.update("t", wanted=1)
    epoch = leases.take(store, "t", "one")
    assert epoch == 1

    class Acks:
        def __init__(self) -> None:
            self.acked: list[int] = []

        def ack(self, upto: int) -> None:
            self.acked.append(upto)

    capture = Acks()
    fence.fence_acks(capture, store, "t", epoch)  # type: ignore[arg-type]
    capture.ack(1)  # type: ignore[arg-type]
    store._db().execute("UPDATE tasks SET epoch = 2, agent = 'two' WHERE name = 't'")
    time.sleep(fence.CHECK_S + 0.1)
    capture.ack(2)  # type: ignore[arg-type]
    capture.ack(3)  # type: ignore[arg-type]
    assert capture.acked == [1]


def test_a_lease_is_judged_by_the_store_s_clock(backend: str, home: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Leases are timed by the store database's clock (leases.py), so whether a task's worker
    is alive is too: a machine whose own clock runs an hour ahead (or behind) still sees a
    held lease as held, and an expired one as expired."""
    store = Store()
    store.create_task(TaskSpec("t", f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"))
    store.update("t", wanted=1)
    assert leases.take(store, "t", "one") == 1
    real = time.time
    for skew in (3600.0, -3600.0):
        with monkeypatch.context() as local:
            local.setattr("turnout.store.time.time", lambda skew=skew: real() + skew)
            assert Store().get("t").alive
            assert api.task_status("t")["agent"] == "one"
    store._db().execute(f"UPDATE tasks SET lease_expires = {store.dialect.now} - 1 "
                        "WHERE name = 't'")
    with monkeypatch.context() as local:
        local.setattr("turnout.store.time.time", lambda: real() - 3600.0)
        assert not Store().get("t").alive
        assert api.task_status("t")["agent"] is None
    api.delete_task("t", force=True)


def test_a_worker_whose_lease_moved_on_before_it_began_says_so(home: Path,
                                                                 tmp_path: Path) -> None:
    """An agent's worker that starts after its agent's lease was taken over runs nothing and
    says why in the task's events (its own log is on its machine)."""
    store = Store(home, url="")
    store.create_task(TaskSpec("t", f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"))
    store.update("t", wanted=1)
    assert leases.take(store, "t", "one") == 1
    store._db().execute("UPDATE tasks SET epoch = 2, agent = 'two' WHERE name = 't'")
    with pytest.raises(Fenced, match="taken over under epoch 2"):
        api.run_task("t", store=store, epoch=1)
    said = [e.message for e in store.events("t") if "taken over" in e.message]
    assert said == ["task 't' was taken over under epoch 2 (this worker's is 1): its lease is "
                    "another agent's, so it stops and writes nothing more"]
    assert store.get("t").pid is None


def test_the_config_file_names_the_store(home: Path, pg_server: PgServer) -> None:
    """`store = "…"` in $TURNOUT_HOME/config.toml: every command finds the PostgreSQL store
    without an environment; a password in clear, an unknown key or bad TOML is one line."""
    url = pg_server.url(pg_server.create_database("store_cfg").rsplit("/", 1)[1])
    assert storedb.STORE_ENV not in os.environ
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text(f'store = "{url}"\n')
    shown = turnout(home, "store", "show")
    assert shown.returncode == 0 and "postgresql" in shown.stdout.lower(), shown
    config.write_text(f'store = "{url.replace("postgres@", "postgres:hunter2secret@")}"\n')
    clear = turnout(home, "task", "list")
    assert clear.returncode == 2 and "in clear" in clear.stderr, clear
    assert "hunter2secret" not in clear.stderr + clear.stdout
    config.write_text('stor = "postgresql://x/y"\n')
    typo = turnout(home, "task", "list")
    assert typo.returncode == 2 and "stor" in typo.stderr and "Traceback" not in typo.stderr
    config.write_text("store = \n")
    broken = turnout(home, "task", "list")
    assert broken.returncode == 2 and "cannot read" in broken.stderr, broken
    config.unlink()
    local = turnout(home, "store", "show")
    assert local.returncode == 0 and "turnout.db" in local.stdout, local
