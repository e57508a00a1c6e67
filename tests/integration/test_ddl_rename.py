"""RENAME TABLE and SET SCHEMA of a moved table on a PostgreSQL source where the task cannot
follow it, under a running writer: the task is not allowed to drop the table's rows without
a word (pgoutput keeps sending them under the new name). It stops naming the table and the
way on; renaming the table back and starting with --resnapshot ends with every row equal.
Where the task can follow a RENAME, it does: test_ddl_rename_follow.py."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.integration.helpers import running, same_rows, wait_caught_up
from tests.integration.test_ddl_postgres import ACCT, deleting, run_ddl, writing
from turnout import api
from turnout.migrate.setup import resnapshot
from turnout.spec import TaskSpec
from turnout.store import Store

CASES = {
    # left out by --exclude: the task cannot follow it
    "excluded": (["ALTER TABLE acct RENAME TO tmp_acct",
                  "INSERT INTO tmp_acct (id, n) VALUES (900001, 1)"],
                 ["ALTER TABLE tmp_acct RENAME TO acct"], "'tmp_acct'"),
    # out of the task's schema
    "set_schema": (["CREATE SCHEMA IF NOT EXISTS elsewhere",
                    "ALTER TABLE acct SET SCHEMA elsewhere",
                    "INSERT INTO elsewhere.acct (id, n) VALUES (900001, 1)"],
                   ["ALTER TABLE elsewhere.acct SET SCHEMA public",
                    "DROP SCHEMA elsewhere"], "'elsewhere.acct'"),
}


@pytest.fixture()
def dest(request: pytest.FixtureRequest, pg_server) -> str:  # noqa: ANN001
    if request.param == "postgresql":
        return str(pg_server.create_database(f"ren_dst_{time.time_ns()}"))
    return str(request.getfixturevalue("mysql_url")) + "_dst"


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dest", ["postgresql", "mysql"], indirect=True)
def test_a_rename_not_followed_stops_the_task_and_resnapshot_ends_equal(
        store: Store, pg_url: str, dest: str, case: str) -> None:
    change, back, named = CASES[case]
    run_ddl(pg_url, [ACCT], 0)
    api.create_task(TaskSpec("ren", pg_url, dest, exclude=("tmp_*",)), store)
    with deleting(store, "ren"):
        with running(store, "ren", expect=("Failed",)):
            with writing(pg_url) as writer:
                wait_caught_up(store, "ren", timeout=60)
                time.sleep(0.3)
                writer.halt.set()
                writer.join(10)
            run_ddl(pg_url, change, 0)
            api.wait_for("ren", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("ren", store)["error"]
        assert "'acct'" in error and named in error and "--resnapshot" in error, error
        run_ddl(pg_url, [*back, "DELETE FROM acct WHERE id >= 10000 AND id < 900000"], 0)
        resnapshot(store, "ren")
        with running(store, "ren"), writing(pg_url) as writer:
            time.sleep(0.5)
            writer.halt.set()
            writer.join(10)
            wait_caught_up(store, "ren", timeout=90)
            assert api.task_status("ren", store)["state"] == "Migrating"
        assert writer.transactions > 5
        same_rows(pg_url, dest, ["acct"])


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_a_table_renamed_into_the_pattern_stops_the_task(store: Store, pg_url: str,
                                                         dest: str, pg_server) -> None:  # noqa: ANN001
    """A table the task did not move, renamed to a name --tables selects: not followed
    silently either; a task created again moves it under its new name."""
    run_ddl(pg_url, [ACCT, "CREATE TABLE side (id int PRIMARY KEY, v text)",
                     "INSERT INTO side SELECT g, 's' || g FROM generate_series(1, 40) g"], 0)
    api.create_task(TaskSpec("renin", pg_url, dest, tables=("acct", "new_*")), store)
    with deleting(store, "renin"):
        with running(store, "renin", expect=("Failed",)):
            wait_caught_up(store, "renin", timeout=60)
            run_ddl(pg_url, ["ALTER TABLE side RENAME TO new_side",
                             "INSERT INTO new_side VALUES (41, 'after')"], 0)
            api.wait_for("renin", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("renin", store)["error"]
        assert "'side'" in error and "'new_side'" in error, error
    again = str(pg_server.create_database(f"ren_again_{time.time_ns()}"))
    api.create_task(TaskSpec("renin2", pg_url, again, tables=("acct", "new_*")), store)
    with deleting(store, "renin2"), running(store, "renin2"):
        wait_caught_up(store, "renin2", timeout=90)
        run_ddl(pg_url, ["INSERT INTO new_side VALUES (42, 'later')"], 0)
        wait_caught_up(store, "renin2", timeout=90)
    same_rows(pg_url, again, ["acct", "new_side"])


@pytest.fixture()
def plain_url(pg_url: str) -> Iterator[str]:
    """The source as a role without superuser: no event trigger, so a rename is told only
    by the relation's OID under another name (docs/ddl.md)."""
    role = f"plain_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        database = conn.execute("SELECT current_database()").fetchone()[0]
        conn.execute(f"CREATE ROLE {role} LOGIN REPLICATION")
        conn.execute(f'GRANT CREATE ON DATABASE "{database}" TO {role}')
        conn.execute(f"GRANT ALL ON SCHEMA public TO {role}")
    try:
        yield pg_url.replace("postgres@", f"{role}@", 1)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def dest_rows(dest: str) -> set[int]:
    with psycopg.connect(dest) as conn:
        return {r[0] for r in conn.execute("SELECT id FROM acct WHERE id >= 900000")}


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_without_the_trigger_a_rename_after_a_restart_stops_the_task(
        store: Store, plain_url: str, dest: str) -> None:
    """No row of the table goes through in the run that sees the rename: the table's OID,
    read from the catalog when capture starts, still tells it."""
    run_ddl(plain_url, [ACCT], 0)
    api.create_task(TaskSpec("renoid", plain_url, dest), store)
    with deleting(store, "renoid"):
        with running(store, "renoid"):
            wait_caught_up(store, "renoid", timeout=60)
        with running(store, "renoid", expect=("Failed",)):
            wait_caught_up(store, "renoid", timeout=60)
            run_ddl(plain_url, ["ALTER TABLE acct RENAME TO acct_old",
                                "INSERT INTO acct_old (id, n) VALUES (900001, 1)"], 0)
            api.wait_for("renoid", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("renoid", store)["error"]
        assert "'acct'" in error and "'public.acct_old'" in error, error


@pytest.mark.parametrize("dest", ["postgresql"], indirect=True)
def test_without_the_trigger_a_rename_while_stopped_stops_the_task(
        store: Store, plain_url: str, dest: str) -> None:
    """Renamed while the worker was down: the old name is gone when capture starts, so the
    task no longer selects it (today's plan is made from the source's tables), but the
    publication still holds it by OID: the task stops there, naming the table and the fix,
    with the slot untouched; renamed back, the task stops at the rename in the stream (the
    table's OID, read when capture starts, under the other name); with --resnapshot it
    ends equal."""
    run_ddl(plain_url, [ACCT, "CREATE TABLE other (id int PRIMARY KEY)"], 0)
    api.create_task(TaskSpec("renoff", plain_url, dest, tables=("acct", "other")), store)
    with deleting(store, "renoff"):
        with running(store, "renoff"):
            wait_caught_up(store, "renoff", timeout=60)
        run_ddl(plain_url, ["INSERT INTO acct (id, n) VALUES (900000, 1)",
                            "ALTER TABLE acct RENAME TO acct_old",
                            "INSERT INTO acct_old (id, n) VALUES (900001, 1)"], 0)
        with running(store, "renoff", expect=("Failed",)):
            api.wait_for("renoff", lambda s: s["state"] == "Failed", 60, store)
        error = api.task_status("renoff", store)["error"]
        assert "'public.acct_old'" in error and "--resnapshot" in error, error
        assert dest_rows(dest) == set()
        run_ddl(plain_url, ["ALTER TABLE acct_old RENAME TO acct"], 0)
        with running(store, "renoff", expect=("Failed",)):
            api.wait_for("renoff", lambda s: s["state"] == "Failed"
                         and "'acct' was renamed" in (s["error"] or ""), 60, store)
        assert "'public.acct_old'" in api.task_status("renoff", store)["error"]
        resnapshot(store, "renoff")
        with running(store, "renoff"):
            wait_caught_up(store, "renoff", timeout=90)
            assert api.task_status("renoff", store)["state"] == "Migrating"
        same_rows(plain_url, dest, ["acct"])
