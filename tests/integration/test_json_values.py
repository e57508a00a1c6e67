"""JSON arrives as the same JSON value, scalars and `null` included, on every path.

JSON `null` is a value, not SQL NULL; `true` is not 1; `"s"` is a string, not
the text s. PostgreSQL's driver parses JSON into Python values by default,
which loses the first and last difference, so turnout reads it as text.
"""

from __future__ import annotations

import psycopg

from tests.integration.helpers import running, wait_caught_up
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
