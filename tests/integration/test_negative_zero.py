"""A PostgreSQL float -0 never arrives as 0 without a word.

PostgreSQL's real and double precision keep -0 (and print it). MariaDB's FLOAT and DOUBLE
store it as 0 whichever way it comes (a literal, a bound parameter, text, LOAD DATA), and
SQLite's REAL affinity stores it as the integer 0. So -0 is refused at precheck, stops the
task when written later (naming table, column and key), and verify tells it from 0.
"""

from __future__ import annotations

import psycopg
import pymysql
import pytest

from tests.integration.helpers import execute, running, wait_caught_up
from turnout import api
from turnout.spec import TaskSpec, parse_casts, parse_types
from turnout.store import Store

FLOATS = "CREATE TABLE z (id int PRIMARY KEY, d double precision, r real)"


def _mysql_rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine_url = url.removeprefix("mysql://")
    auth, _, rest = engine_url.partition("@")
    hostport, _, db = rest.partition("/")
    host, _, port = hostport.partition(":")
    conn = pymysql.connect(host=host, port=int(port), user=auth.split(":")[0], database=db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())
    finally:
        conn.close()


def test_a_negative_zero_is_refused_at_precheck_and_stops_the_task_when_written_later(
        store: Store, pg_url: str, mysql_url: str) -> None:
    execute(pg_url, FLOATS, "INSERT INTO z VALUES (1, 0, 0), (2, '-0', 1), (3, 1, '-0')")
    api.create_task(TaskSpec("neg0", pg_url, mysql_url), store)
    problems = api.precheck("neg0", store)["problems"]
    assert any(p.startswith("z.d holds a negative zero (-0) (z key 2)") for p in problems), problems
    assert any(p.startswith("z.r holds a negative zero (-0) (z key 3)") for p in problems), problems
    assert all("UPDATE z SET" in p and "--cast z." in p for p in problems if "-0" in p)
    api.delete_task("neg0", store)

    execute(pg_url, "UPDATE z SET d = 0 WHERE d = 0", "UPDATE z SET r = 0 WHERE r = 0")  # the fix
    api.create_task(TaskSpec("neg0b", pg_url, mysql_url), store)
    with running(store, "neg0b", expect=("Failed",)):
        wait_caught_up(store, "neg0b")
        execute(pg_url, "INSERT INTO z VALUES (4, 2, 2)", "INSERT INTO z VALUES (5, '-0', 2)")
        api.wait_for("neg0b", lambda s: s["state"] == "Failed", 30, store)
    error = api.task_status("neg0b", store)["error"]
    assert error.startswith("z.d holds a negative zero (-0) (z key 5)"), error
    assert _mysql_rows(mysql_url, "SELECT id FROM z WHERE id = 5") == []
    api.delete_task("neg0b", store, force=True)


def test_cast_to_text_keeps_the_sign(store: Store, pg_url: str, mysql_url: str) -> None:
    execute(pg_url, FLOATS, "INSERT INTO z VALUES (1, '-0', 0)")
    api.create_task(TaskSpec("neg0c", pg_url, mysql_url, casts=parse_casts(["z.d=text"])),
                    store)
    with running(store, "neg0c"):
        wait_caught_up(store, "neg0c")
        execute(pg_url, "INSERT INTO z VALUES (2, '-0', 0)")
        wait_caught_up(store, "neg0c")
    assert _mysql_rows(mysql_url, "SELECT id, d FROM z ORDER BY id") == [(1, "-0.0"), (2, "-0.0")]
    report = api.verify_task("neg0c", store)
    assert report["tables"][0]["different"] == [], report
    api.delete_task("neg0c", store)


@pytest.mark.parametrize("dest", ["mysql", "sqlite"])
def test_verify_tells_a_negative_zero_from_zero(dest: str, store: Store, pg_url: str,
                                                mysql_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    dest_url = mysql_url if dest == "mysql" else f"sqlite:///{tmp_path / 'd.db'}"
    execute(pg_url, FLOATS, "INSERT INTO z SELECT g, g, g FROM generate_series(0, 99) g")
    name = f"neg0v{dest[:2]}"
    api.create_task(TaskSpec(name, pg_url, dest_url, types=parse_types("schema,full")), store)
    assert api.run_task(name, store=store) == "Completed"
    assert api.verify_task(name, store)["tables"][0]["different"] == []
    with psycopg.connect(pg_url, autocommit=True) as conn:  # what a silent copy would leave
        conn.execute("UPDATE z SET d = '-0' WHERE id = 0")
    report = api.verify_task(name, store)
    assert report["tables"][0]["different"] == [[0]], report
    api.delete_task(name, store)
