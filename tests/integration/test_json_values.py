"""JSON arrives as the same JSON value, scalars and `null` included, on every path.

JSON `null` is a value, not SQL NULL; `true` is not 1; `"s"` is a string, not
the text s. PostgreSQL's driver parses JSON into Python values by default,
which loses the first and last difference, so turnout reads it as text.
"""

from __future__ import annotations

import psycopg

from tests.integration.helpers import execute, running, wait_caught_up
from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store

DOCS = ["null", "true", "false", '"s"', '""', "0", "-1.25e-5", "[]", "{}",
        '{"a": [1, null, "\\u00e9"], "b": {"c": false}}']


def _insert(conn: psycopg.Connection, base: int) -> None:
    for n, doc in enumerate(DOCS):
        conn.execute("INSERT INTO d VALUES (%s, %s::jsonb, %s::json)", (base + n, doc, doc))
    conn.execute("INSERT INTO d VALUES (%s, NULL, NULL)", (base + len(DOCS),))


def _rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT id, jb::text, jb IS NULL, j::text, j IS NULL FROM d "
                            "ORDER BY id").fetchall()


def test_postgres_json_null_and_scalars_survive_the_incremental_step(
    store: Store, pg_url: str, pg_server
) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE d (id int PRIMARY KEY, jb jsonb, j json)")
        _insert(conn, 100)
    dest = pg_server.create_database(pg_url.rsplit("/", 1)[1] + "_d")
    api.create_task(TaskSpec("pgjson", pg_url, dest), store)
    with running(store, "pgjson"):
        wait_caught_up(store, "pgjson")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            _insert(conn, 200)
            conn.execute("UPDATE d SET jb = 'null', j = 'null' WHERE id = 101")
        wait_caught_up(store, "pgjson")
    want = _rows(pg_url)
    assert _rows(dest) == want
    assert (200, "null", False, "null", False) in want
    assert api.verify_task("pgjson", store)["consistent"]
    with psycopg.connect(dest, autocommit=True) as conn:
        conn.execute("UPDATE d SET jb = NULL WHERE id = 200")
    report = api.verify_task("pgjson", store)
    assert next(t for t in report["tables"] if t["source"] == "d")["different"] == [[200]]


# MySQL JSON text: a NUL character escaped, then an escaped backslash before "u0000" (no NUL)
MY_JSON_NUL = """
CREATE TABLE jn (id int PRIMARY KEY, j json);
INSERT INTO jn VALUES (1, '["plain"]'), (2, CONCAT('["a', CHAR(92), 'u0000b"]')),
 (3, CONCAT('{"k": "', CHAR(92), CHAR(92), 'u0000"}'))
"""


def test_a_mysql_json_nul_that_jsonb_refuses_is_named_at_precheck_and_when_written_later(
        store: Store, mysql_url: str, pg_url: str) -> None:
    execute(mysql_url, *MY_JSON_NUL.split(";\n"))
    api.create_task(TaskSpec("jnul", mysql_url, pg_url), store)
    assert api.run_task("jnul", store=store) == "Failed"
    error = api.task_status("jnul", store)["error"]
    assert error.startswith("jn.j holds a JSON document holding a NUL character"), error
    assert "(jn key 2)" in error and "--cast jn.j=text" in error
    api.delete_task("jnul", store)

    execute(mysql_url, "DELETE FROM jn WHERE id = 2")
    api.create_task(TaskSpec("jnul2", mysql_url, pg_url), store)
    with running(store, "jnul2", expect=("Failed",)):
        wait_caught_up(store, "jnul2")  # key 3 is a backslash and the text u0000: it moved
        execute(mysql_url, "INSERT INTO jn VALUES (4, CONCAT('[\"', CHAR(92), 'u0000\"]'))")
        api.wait_for("jnul2", lambda s: s["state"] == "Failed", 30, store)
    error = api.task_status("jnul2", store)["error"]
    assert error.startswith("jn.j holds a JSON document holding a NUL character"), error
    assert "(jn key 4)" in error
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT j ->> 'k' FROM jn WHERE id = 3").fetchone() == ("\\u0000",)
