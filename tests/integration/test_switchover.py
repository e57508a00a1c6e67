"""Switchover, rollback and finish end to end, under a running workload, on real servers.

The workload writes through its own connections and moves from source to
destination when switchover says it may, the way an application is
repointed; writes refused by the freeze are retried, as a client would.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest

from turnout import api, engines
from turnout.endpoint import Endpoint
from turnout.errors import BadInput, OperationFailed
from turnout.spec import Options, TaskSpec
from turnout.store import Store

from .helpers import execute, insert_sql
from .pairs import kind, over, own_execute

ROWS = 200


class Workload(threading.Thread):
    """An application that keeps writing to whichever side its config file names, like a web
    app: a new connection per transaction, a refused write retried after a short pause.

    Each commit is logged with the side it went to (inserts of new rows, updates, deletes),
    so a test can show the side the workload left never took a write after the move."""

    def __init__(self, urls: dict[str, str], config: Path) -> None:
        super().__init__(daemon=True)
        self.urls = urls  # "source" / "dest" → the URL the application uses there
        self.config = config
        self.halt = threading.Event()
        self.commits: list[tuple[str, int]] = []  # (side, key inserted or 0)
        self.refused = 0
        self.rng = random.Random(7)
        self.next_key = 10_000

    @property
    def committed(self) -> int:
        return len(self.commits)

    def run(self) -> None:
        while not self.halt.is_set():
            side = self.config.read_text().strip()
            roll = self.rng.random()
            key = 0
            if roll < 0.4:
                key = self.next_key
                statement = f"INSERT INTO acct VALUES ({key}, 1)"
            elif roll < 0.5:
                statement = f"DELETE FROM acct WHERE id = {self.rng.randint(1, ROWS * 2)}"
            else:
                statement = (f"UPDATE acct SET balance = {self.rng.randint(0, 999)} "
                             f"WHERE id = {self.rng.randint(1, ROWS * 2)}")
            try:
                app_execute(self.urls[side], statement)
            except Exception:  # noqa: BLE001 - refused: try again, as a web app would
                self.refused += 1
                time.sleep(0.02)
                continue
            if key:
                self.next_key += 1
            self.commits.append((side, key))

    def stop(self) -> None:
        self.halt.set()
        self.join(30)

    def sides_in_order(self) -> list[str]:
        """The sides written to, each run of commits to one side once: ["source", "dest",
        "source"] when the workload never went back to a side it had left too early."""
        runs: list[str] = []
        for side, _ in self.commits:
            if not runs or runs[-1] != side:
                runs.append(side)
        return runs


def repoint(config: Path, side: str) -> str:
    """The --on-switch command that moves the application: its config file, replaced whole."""
    return f"echo {side} > {config}.new && mv {config}.new {config}"


def app_execute(url: str, statement: str) -> None:
    """One statement in a transaction of its own, as an application (not turnout) runs it;
    a locked SQLite file is given up on soon, and the write tried again."""
    own_execute(url, statement, timeout=5)


def turnout_objects(url: str) -> list[str]:
    """Everything of turnout's on a server: tables, triggers, slots, publications."""
    engine = engines.connect(url)
    reader = engine.verify_reader()
    try:
        if engine.scheme == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE name LIKE '%turnout%'"
        elif engine.scheme == "postgresql":
            sql = ("SELECT relname FROM pg_class WHERE relname LIKE '%%turnout%%' UNION ALL "
                   "SELECT slot_name FROM pg_replication_slots WHERE database = "
                   "current_database() UNION ALL "
                   "SELECT pubname FROM pg_publication")
        else:
            sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                   "DATABASE() AND table_name LIKE '%%turnout%%'")
        return [r[0] for r in reader.query(sql, [])]
    finally:
        reader.close()
        engine.close()


def wait_until(what: str, check, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while not check():
        assert time.time() < deadline, what
        time.sleep(0.1)


def has_row(url: str, key: int) -> bool:
    engine = engines.connect(url)
    reader = engine.verify_reader()
    try:
        return bool(reader.query(f"SELECT 1 FROM acct WHERE id = {key}", []))
    finally:
        reader.close()
        engine.close()


def _delay_below(delay_s: float | None, limit: float) -> bool:
    """A delay known and under `limit` (0, fully caught up, counts: it is not "unknown")."""
    return delay_s is not None and delay_s < limit


def following(status: dict) -> bool:
    return bool(status["state"] == "Migrating" and status["phase"] == "incremental")


def start_task(store: Store, source: str, dest: str) -> None:
    execute(source, "CREATE TABLE acct (id int PRIMARY KEY, balance int)",
            insert_sql(source, "acct", [(i, i) for i in range(1, ROWS + 1)]))
    api.create_task(TaskSpec("shop", source, dest), store)
    api.start_task("shop", store)
    api.wait_for("shop", following, 60, store)


def whole_story(store: Store, source: str, dest: str, apps: dict[str, str], tmp: Path) -> None:
    """switchover → writes on the destination → rollback → switchover → finish, default
    options, with an application that keeps retrying; `apps` maps a URL to the one the
    application uses instead (MySQL's root passes read_only, an application account does
    not). --on-switch repoints the application, as an env file would."""
    start_task(store, source, dest)
    config = tmp / "app-side"
    config.write_text("source")
    workload = Workload({"source": apps.get(source, source), "dest": apps.get(dest, dest)},
                        config)
    workload.start()
    try:
        wait_until("the application writes", lambda: workload.committed > 5)
        result = api.switchover("shop", store, on_switch=repoint(config, "dest"))
        assert result["write_downtime_s"] < 60
        wait_until("the application writes on the destination",
                   lambda: workload.sides_in_order()[-1:] == ["dest"])
        wait_until("the application inserts on the destination", lambda: any(
            side == "dest" and key for side, key in list(workload.commits)))
        # one key inserted there, not the newest at each look, which a busy writer outruns
        written = next(key for side, key in list(workload.commits) if side == "dest" and key)
        wait_until("a write on the destination reaches the source",
                   lambda: has_row(source, written))
        api.rollback("shop", store, on_switch=repoint(config, "source"))
        assert api.task_status("shop", store)["pid"] is not None  # the forward task runs again
        wait_until("the application writes on the source again",
                   lambda: workload.sides_in_order()[-1:] == ["source"])
        api.wait_for("shop", following, 60, store)
        wait_until("the forward task replays what the reverse task wrote",
                   lambda: _delay_below(api.task_status("shop", store)["delay_s"], 3), 60)
        api.switchover("shop", store, on_switch=repoint(config, "dest"))
        wait_until("the application writes on the destination again",
                   lambda: workload.sides_in_order()[-1:] == ["dest"])
    finally:
        workload.stop()
    assert workload.sides_in_order() == ["source", "dest", "source", "dest"], \
        workload.sides_in_order()
    assert workload.refused > 0  # it did keep knocking on the fenced side
    wait_until("the reverse task catches up",
               lambda: api.verify_task("shop", store)["consistent"], 60)
    api.finish("shop", store)
    assert turnout_objects(source) == [] and turnout_objects(dest) == []
    assert api.verify_urls(source, dest, ["acct"])["consistent"]


def app_url(request: pytest.FixtureRequest, url: str) -> str:
    """An application account on a MySQL database: all privileges there, none global (root
    passes read_only, an application account does not). Other engines' URLs as they are."""
    if kind(url) != "mysql":
        return url
    database = urlsplit(url).path.lstrip("/")
    request.getfixturevalue("mariadb_server").sql(
        f"CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app'; "
        f"GRANT ALL ON `{database}`.* TO 'app'@'%'")
    return url.replace("root@", "app:app@", 1)


@over(("sqlite", "sqlite"), ("postgresql", "postgresql"), ("mysql", "postgresql"),
      ("postgresql", "mysql"))
def test_switchover_rollback_and_finish_under_an_application(
        store: Store, urls: tuple[str, str], request: pytest.FixtureRequest,
        tmp_path: Path) -> None:
    whole_story(store, *urls, {url: app_url(request, url) for url in urls}, tmp_path)


def test_a_session_that_keeps_writing_blocks_switchover_and_harms_nothing(
        store: Store, pg_url: str, pg_server, request) -> None:  # type: ignore[no-untyped-def]
    from .conftest import unique_db_name

    dest = pg_server.create_database(unique_db_name(request) + "_d")
    start_task(store, pg_url, dest)
    with psycopg.connect(pg_url) as stubborn:  # inside a transaction that has written
        stubborn.execute("UPDATE acct SET balance = 0 WHERE id = 1")
        with pytest.raises(OperationFailed, match="can still write") as failure:
            api.switchover("shop", store, session_timeout=1)
        pid = stubborn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert str(pid) in str(failure.value)
        stubborn.execute("UPDATE acct SET balance = 1 WHERE id = 1")
        stubborn.commit()  # writable again
    status = api.task_status("shop", store)
    assert status["state"] == "Migrating" and status["phase"] == "incremental"
    with psycopg.connect(pg_url) as stubborn:
        stubborn.execute("UPDATE acct SET balance = 2 WHERE id = 1")
        api.switchover("shop", store, session_timeout=1, kill_sessions=True)
        with pytest.raises(psycopg.OperationalError):  # ended by the switchover
            stubborn.execute("SELECT 1")
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):  # the source stays fenced
        app_execute(pg_url, "BEGIN READ WRITE; UPDATE acct SET balance = 3 WHERE id = 1; COMMIT")
    api.finish("shop", store)  # its slot's name is server-wide


@over(("sqlite", "sqlite"))
def test_abort_returns_to_the_start(store: Store, urls: tuple[str, str]) -> None:
    source, dest = urls
    start_task(store, source, dest)
    with pytest.raises(OperationFailed, match="on-switch command exited 3"):
        api.switchover("shop", store, grace=0, on_switch="exit 3")  # all done but the move
    assert api.task_status("shop-reverse", store)["pid"] is None  # it starts after the move
    api.switchover_abort("shop", store)
    assert "shop-reverse" not in [t["name"] for t in api.list_tasks(store)]
    execute(source, "UPDATE acct SET balance = -1 WHERE id = 5")  # writable, and followed
    api.wait_caught_up("shop", 30, store)
    assert api.verify_task("shop", store)["consistent"]
    api.stop_task("shop", store)


@over(("sqlite", "sqlite"))
def test_delete_after_rollback_takes_the_destination_fence_back(
        store: Store, urls: tuple[str, str]) -> None:
    source, dest = urls
    start_task(store, source, dest)
    api.switchover("shop", store)
    api.rollback("shop", store)
    assert fenced(dest) and not fenced(source)  # until the next switchover, or now:
    notes = api.delete_task("shop", store)
    assert not fenced(dest), notes
    assert notes == [f"writes allowed again on {Endpoint.parse(dest)}: the fence the rollback "
                     "of shop left there is lifted"]
    execute(dest, "UPDATE acct SET balance = -1 WHERE id = 5")  # the application may write


def fenced(url: str) -> bool:
    engine = engines.connect(url)
    try:
        return engine.frozen()
    finally:
        engine.close()


@over(("sqlite", "sqlite"))
def test_killed_at_every_step_switchover_run_again_finishes(
        store: Store, urls: tuple[str, str], home: Path) -> None:
    """kill -9 of `turnout switchover` as soon as each step is recorded (so mostly in the
    middle of the next one); every run again continues, and the end is a clean switchover."""
    source, dest = urls
    start_task(store, source, dest)
    env = dict(os.environ, TURNOUT_HOME=str(home))
    seen: list[str | None] = []
    while store.checkpoint("shop", "switchover_step") != "switched" and len(seen) < 30:
        before = store.checkpoint("shop", "switchover_step")
        proc = subprocess.Popen([sys.executable, "-m", "turnout", "switchover", "shop",
                                 "--grace", "0.5", "--session-timeout", "10"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while proc.poll() is None and store.checkpoint("shop", "switchover_step") == before:
            time.sleep(0.01)
        proc.kill()
        proc.wait()
        seen.append(store.checkpoint("shop", "switchover_step"))
    assert seen[-1] == "switched", seen
    assert len(set(seen)) >= 5, seen  # it was killed at most steps
    execute(dest, "INSERT INTO acct VALUES (100001, 1)")
    wait_until("the reverse task runs", lambda: has_row(source, 100001))
    assert api.verify_task("shop", store)["consistent"]
    api.finish("shop", store)
    assert turnout_objects(source) == [] and turnout_objects(dest) == []


@over(("sqlite", "sqlite"))
def test_the_reverse_task_notices_writes_on_the_old_source(
        store: Store, urls: tuple[str, str]) -> None:
    """The old source refuses an application still pointed at it after switchover; a row
    written there all the same (through turnout's own connection, as an administrator could)
    is found by the reverse task's check, which warns, and verify --repair puts it right."""
    source, dest = urls
    execute(source, "CREATE TABLE acct (id int PRIMARY KEY, balance int)",
            insert_sql(source, "acct", [(i, i) for i in range(1, ROWS + 1)]))
    api.create_task(TaskSpec("shop", source, dest, options=Options(stray_check_s=0.5)), store)
    api.start_task("shop", store)
    api.wait_for("shop", following, 60, store)
    api.switchover("shop", store)
    with pytest.raises(sqlite3.IntegrityError, match="writes are frozen"):
        app_execute(source, "UPDATE acct SET balance = -7 WHERE id = 3")
    execute(source, "UPDATE acct SET balance = -7 WHERE id = 3")  # the stray write
    wait_until("the reverse task warns", lambda: api.task_status(
        "shop-reverse", store)["stray_rows"] == 1)
    assert any("differ" in e["message"] for e in api.events("shop-reverse", store=store))
    report = api.verify_task("shop", store, repair="source", apply=True,
                             repair_file=str(Path(source.removeprefix("sqlite:///")).parent
                                             / "fix.sql"))
    assert table_keys(report) == [[3]]
    assert api.verify_task("shop", store)["consistent"]
    api.finish("shop", store)


def table_keys(report: dict) -> list:
    return [k for t in report["tables"] for k in t["different"]]


def test_a_cast_column_goes_back_to_its_own_type(store: Store, pg_url: str, tmp_path: Path,
                                                 ) -> None:
    """--cast acct.balance=text forward: the reverse task writes the text back into the
    source's integer column, and both verifications see the same rows."""
    source = f"sqlite:///{tmp_path / 'cast.db'}"
    (tmp_path / "cast.db").touch()
    execute(source, "CREATE TABLE acct (id int PRIMARY KEY, balance int)",
            insert_sql(source, "acct", [(i, i) for i in range(1, ROWS + 1)]))
    api.create_task(TaskSpec("shop", source, pg_url, casts={"acct": {"balance": "text"}}), store)
    api.start_task("shop", store)
    api.wait_for("shop", following, 60, store)
    api.switchover("shop", store, grace=0)
    app_execute(pg_url, "UPDATE acct SET balance = '42' WHERE id = 9")
    wait_until("the change comes back", lambda: api.verify_task("shop", store)["consistent"])
    engine = engines.connect(source)
    reader = engine.verify_reader()
    try:
        assert reader.query("SELECT balance, typeof(balance) FROM acct WHERE id = 9", []) == [
            (42, "integer")]
    finally:
        reader.close()
        engine.close()
    api.finish("shop", store)


def test_switchover_with_migration_accounts_only(store: Store, pg_url: str, mysql_url: str,
                                                 ) -> None:
    """The task runs with least-privilege accounts from `turnout accounts create` (each also
    carries the way back), switches over and back without a freeze (freezing needs an
    administrator), and finish drops both accounts through the admin URLs."""
    from turnout import accounts
    from turnout.errors import NotFound

    from .test_accounts import name, pg_owns_app_tables

    pg_owns_app_tables(pg_url)
    made = accounts.create(pg_url, "source", name("src"))
    mine = accounts.create(mysql_url, "dest", name("dst"))
    source = accounts.account_url(pg_url, made["user"], made["password"])
    dest = accounts.account_url(mysql_url, mine["user"], mine["password"])
    api.create_task(TaskSpec("acct", source, dest), store)
    api.start_task("acct", store)
    api.wait_for("acct", following, 60, store)
    api.switchover("acct", store, grace=0, freeze=False)
    app_execute(mysql_url, "INSERT INTO item (id, name) VALUES (500, 'back')")
    wait_until("the row comes back", lambda: api.verify_task("acct", store)["consistent"])
    api.rollback("acct", store, freeze=False)
    api.wait_for("acct", following, 60, store)
    api.switchover("acct", store, grace=0, freeze=False)
    result = api.finish("acct", store, admins={"source": pg_url, "dest": mysql_url})
    assert result["accounts_left"] == []
    for url, user in ((pg_url, made["user"]), (mysql_url, mine["user"])):
        with pytest.raises(NotFound):
            accounts.drop(url, user)


def sqlite_dest(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'new.db'}"


def mysql_can_connect(url: str, user: str, password: str) -> bool:
    parts = urlsplit(url)
    try:
        pymysql.connect(host=parts.hostname, port=parts.port, user=user, password=password,
                        database=parts.path.lstrip("/")).close()
        return True
    except pymysql.err.OperationalError:
        return False


def test_an_account_that_passes_read_only_is_named_or_locked_out(
        store: Store, mysql_url: str, mariadb_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An application account with ALL PRIVILEGES (READ_ONLY ADMIN among them) would write
    through read_only: switchover refuses naming it and changes nothing, or with
    --lock-accounts locks it out until rollback, and unlocks it then."""
    mariadb_server.sql("CREATE USER 'boss'@'%' IDENTIFIED BY 'pw'; "
                       "GRANT ALL PRIVILEGES ON *.* TO 'boss'@'%'")
    try:
        dest = sqlite_dest(tmp_path)
        start_task(store, mysql_url, dest)
        boss = mysql_url.replace("root@", "boss:pw@", 1)
        with pytest.raises(OperationFailed, match="'boss'@'%'.*--lock-accounts"):
            api.switchover("shop", store)
        assert mariadb_server.sql("SELECT @@GLOBAL.read_only").strip() == "0"
        app_execute(boss, "UPDATE acct SET balance = 5 WHERE id = 5")  # nothing was changed
        api.switchover("shop", store, lock_accounts=True)
        assert not mysql_can_connect(mysql_url, "boss", "pw")
        api.rollback("shop", store)
        assert mysql_can_connect(mysql_url, "boss", "pw")
        app_execute(boss, "UPDATE acct SET balance = 6 WHERE id = 5")
        wait_until("the task follows", lambda: api.task_status("shop", store)["delay_s"]
                   is not None)
        api.switchover("shop", store, lock_accounts=True)
        api.finish("shop", store)
        assert mysql_can_connect(mysql_url, "boss", "pw")
    finally:
        mariadb_server.sql("DROP USER IF EXISTS 'boss'@'%'")


def test_a_role_that_turns_read_only_off_is_still_fenced_and_a_superuser_is_named(
        store: Store, pg_url: str, tmp_path: Path) -> None:
    """Any PostgreSQL role may set default_transaction_read_only back to off: the fence's
    triggers refuse it all the same. A superuser could turn the triggers off: switchover
    names it, or locks it out (NOLOGIN) until finish."""
    dest = sqlite_dest(tmp_path)
    start_task(store, pg_url, dest)
    execute(pg_url, "CREATE ROLE clerk LOGIN", "GRANT ALL ON acct TO clerk",
            "CREATE ROLE chief LOGIN SUPERUSER")
    clerk = pg_url.replace("postgres@", "clerk@", 1)
    chief = pg_url.replace("postgres@", "chief@", 1)
    try:
        with pytest.raises(OperationFailed, match="chief \\(superuser\\)"):
            api.switchover("shop", store)
        app_execute(clerk, "UPDATE acct SET balance = 5 WHERE id = 5")  # nothing was changed
        api.switchover("shop", store, lock_accounts=True)
        with psycopg.connect(clerk, autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = off")
            with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="writes are frozen"):
                conn.execute("UPDATE acct SET balance = 6 WHERE id = 5")
        with pytest.raises(psycopg.OperationalError, match="not permitted to log in"):
            app_execute(chief, "SELECT 1")
        api.finish("shop", store)
        app_execute(chief, "SELECT 1")
        app_execute(clerk, "UPDATE acct SET balance = 7 WHERE id = 5")
    finally:
        execute(pg_url, "DROP OWNED BY clerk", "DROP ROLE IF EXISTS clerk",
                "DROP ROLE IF EXISTS chief")


def test_turnout_own_mysql_sessions_are_marked_without_performance_schema(
        store: Store, mysql_url: str, tmp_path: Path) -> None:
    """MariaDB keeps no connection attributes by default: the task worker's connections are
    still turnout's (by their client port), an application's are not."""
    start_task(store, mysql_url, sqlite_dest(tmp_path))
    database = urlsplit(mysql_url).path.lstrip("/")
    parts = urlsplit(mysql_url)
    with closing(pymysql.connect(host=parts.hostname, port=parts.port, user="root",
                                 database=database)) as app:
        cur = app.cursor()
        cur.execute("SELECT CONNECTION_ID(), @@performance_schema")
        app_id, performance_schema = cur.fetchone()
        assert str(performance_schema) == "0"
        listed = api.task_sessions("shop", "source", store=store)
        here = [s for s in listed if s.extra.get("db") == database]
        assert [s.id for s in here if not s.own] == [str(app_id)]
        assert len([s for s in here if s.own]) >= 2  # the worker's, and this listing's
    api.stop_task("shop", store)


@over(("sqlite", "sqlite"))
def test_a_rollback_whose_verify_fails_keeps_both_fences_and_resumes(
        store: Store, urls: tuple[str, str]) -> None:
    """A difference found by rollback's verify leaves both sides fenced and both tasks kept:
    `switchover --abort` returns to the switched state, and a rollback run again after the
    difference is fixed verifies again and goes through."""
    source, dest = urls
    start_task(store, source, dest)
    api.switchover("shop", store)
    execute(source, "UPDATE acct SET balance = -1 WHERE id = 7")  # turnout's own connection
    with pytest.raises(OperationFailed, match="differ after draining"):
        api.rollback("shop", store)
    for url in (source, dest):  # both closed to the application
        with pytest.raises(sqlite3.IntegrityError, match="writes are frozen"):
            app_execute(url, "UPDATE acct SET balance = 3 WHERE id = 3")
    assert "shop-reverse" in [t["name"] for t in api.list_tasks(store)]
    with pytest.raises(BadInput, match="rollback of shop has not finished"):
        api.finish("shop", store)

    api.switchover_abort("shop", store)  # back to the switched state
    app_execute(dest, "UPDATE acct SET balance = 4 WHERE id = 4")
    wait_until("the reverse task runs again", lambda: api.task_status(
        "shop-reverse", store)["phase"] == "incremental")
    with pytest.raises(sqlite3.IntegrityError, match="writes are frozen"):
        app_execute(source, "UPDATE acct SET balance = 3 WHERE id = 3")

    with pytest.raises(OperationFailed, match="differ after draining"):
        api.rollback("shop", store)
    execute(source, "UPDATE acct SET balance = 7 WHERE id = 7")  # the difference fixed
    result = api.rollback("shop", store)  # resumes at the verification
    assert result["rolled_back"] and result["verified_rows"] == ROWS
    app_execute(source, "UPDATE acct SET balance = 5 WHERE id = 5")  # open again
    with pytest.raises(sqlite3.IntegrityError, match="writes are frozen"):
        app_execute(dest, "UPDATE acct SET balance = 3 WHERE id = 3")  # turnout's alone now
    api.wait_for("shop", following, 60, store)
    api.stop_task("shop", store)


def test_mysql_sides_on_one_server_are_not_fenced_apart(
        store: Store, mysql_url: str, mariadb_server, request) -> None:  # type: ignore[no-untyped-def]
    """read_only is the server's: opening the destination would open the source too, so a
    switchover between two databases of one server refuses the freeze and changes nothing."""
    from .conftest import unique_db_name

    dest = mariadb_server.create_database(unique_db_name(request) + "_d")
    start_task(store, mysql_url, dest)
    with pytest.raises(BadInput, match="same server"):
        api.switchover("shop", store)
    assert mariadb_server.sql("SELECT @@GLOBAL.read_only").strip() == "0"
    assert "_turnout_freeze" not in turnout_objects(dest) + turnout_objects(mysql_url)
    assert "shop-reverse" not in [t["name"] for t in api.list_tasks(store)]
    api.stop_task("shop", store)
