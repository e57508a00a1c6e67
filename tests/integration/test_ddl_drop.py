"""DROP TABLE of a moved table: with on_drop = "apply" the destination table goes too, in
order with the rows; by default the task waits at the DDL barrier."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import psycopg
import pytest

from tests.integration.ddl import deleting
from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_mysql import _connect
from turnout import api, engines
from turnout.spec import Options, TaskSpec
from turnout.store import Store

TABLES = ["CREATE TABLE keep (id int PRIMARY KEY, v varchar(20))",
          "CREATE TABLE gone (id int PRIMARY KEY, v varchar(20))",
          "INSERT INTO keep VALUES (1, 'a'), (2, 'b')",
          "INSERT INTO gone VALUES (1, 'x')"]
AFTER = ["INSERT INTO gone VALUES (2, 'y')", "DROP TABLE gone", "INSERT INTO keep VALUES (3, 'c')"]


def run(url: str, statements: list[str]) -> None:
    if url.startswith("postgresql"):
        with psycopg.connect(url, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
    elif url.startswith("mysql"):
        with _connect(url) as conn, conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
            conn.commit()
    else:
        db = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        for statement in statements:
            db.execute(statement)
        db.close()


@pytest.fixture()
def source(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'src.db'}"
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.mark.parametrize("source", ["pg", "mysql", "sqlite"], indirect=True)
def test_drop_table_with_on_drop_apply_drops_it_there_too(store: Store, pg_server,
                                                          source: str) -> None:
    dest = pg_server.create_database(f"drop_{time.time_ns()}")
    run(source, TABLES)
    api.create_task(TaskSpec("dropit", source, dest, options=Options(on_drop="apply")), store)
    with deleting(store, "dropit"):
        with running(store, "dropit"):
            wait_caught_up(store, "dropit", timeout=60)
            run(source, AFTER)
            wait_caught_up(store, "dropit", timeout=60)
            assert api.task_status("dropit", store)["state"] == "Migrating"
        assert not engines.connect(dest).table_exists("gone")
        same_rows(source, dest, ["keep"])
        assert any("DROP TABLE" in e["message"] for e in api.events("dropit", store=store))


def test_drop_table_waits_at_the_barrier_by_default(store: Store, pg_server,
                                                    pg_url: str) -> None:
    dest = pg_server.create_database(f"dropstop_{time.time_ns()}")
    run(pg_url, TABLES)
    api.create_task(TaskSpec("dropwait", pg_url, dest), store)
    with deleting(store, "dropwait"):
        with running(store, "dropwait", expect=("Paused",)):
            wait_caught_up(store, "dropwait", timeout=60)
            run(pg_url, AFTER)
            api.wait_for("dropwait", lambda s: s["state"] == "Paused", 60, store)
        waiting = api.task_ddl("dropwait", store)["waiting"]
        assert waiting["table"] == "gone" and waiting["proposed"] == [
            'DROP TABLE IF EXISTS "public"."gone"']
        with psycopg.connect(dest) as conn:  # the row before the DROP came
            assert conn.execute("SELECT count(*) FROM gone").fetchone() == (2,)
        api.resolve_ddl("dropwait", "skip", store=store)  # keep it here
        with running(store, "dropwait"):
            wait_caught_up(store, "dropwait", timeout=60)
        assert engines.connect(dest).table_exists("gone")
        same_rows(pg_url, dest, ["keep"])
