"""--where and --mask under a writer: rows move in and out of the filter while a task follows.

The destination must hold exactly the source rows the filter holds for, masked, whatever
moved them (an insert, an update across the filter's edge either way, a delete); a hashed
key still joins with a hashed reference to it.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from typing import Any

import psycopg

from tests.integration.helpers import execute, insert_sql, running, wait_caught_up
from tests.integration.pairs import kind, over
from tests.integration.test_mysql import my_execute
from turnout import api
from turnout.spec import Options, TaskSpec
from turnout.store import Store

WHERE = "status IN ('open', 'held') AND (total >= 10 OR note IS NULL)"
KEEP = "status IN ('open', 'held') AND (total >= 10 OR note IS NULL)"  # the same, as SQL
STATUSES = ("open", "held", "closed")


def _hash(value: object) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def _writes(n: int, seed: int) -> list[str]:
    """Statements that move rows across the filter's edge both ways, and delete some."""
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        i = rnd.randint(1, 120)
        pick = rnd.random()
        if pick < 0.5:
            out.append(f"UPDATE orders SET status = '{rnd.choice(STATUSES)}', "
                       f"total = {rnd.randint(0, 20)} WHERE id = {i}")
        elif pick < 0.7:
            note = "NULL" if rnd.random() < 0.5 else "'n'"
            out.append(f"UPDATE orders SET note = {note} WHERE id = {i}")
        elif pick < 0.85:
            out.append(f"DELETE FROM orders WHERE id = {i}")
        else:
            j = rnd.randint(121, 100_000)
            out.append(f"INSERT INTO orders VALUES ({j}, 'c{j}@x', '{rnd.choice(STATUSES)}', "
                       f"{rnd.randint(0, 20)}, NULL)")
    return out


def _follow_and_check(store: Store, name: str, source: str, dest: str, execute: Any,
                      read_source: Any) -> None:
    spec = TaskSpec(name, source, dest, where={"orders": WHERE},
                    masks={"orders": {"email": "hash"}, "customers": {"email": "hash"}})
    api.create_task(spec, store)
    with running(store, name):
        wait_caught_up(store, name, timeout=120)
        writer = threading.Thread(target=lambda: [execute(s) for s in _writes(300, 7)])
        writer.start()
        writer.join()
        wait_caught_up(store, name, timeout=120)
    expected = sorted((i, _hash(e), s, t, n) for i, e, s, t, n in read_source(
        f"SELECT id, email, status, total, note FROM orders WHERE {KEEP}"))
    with psycopg.connect(dest) as conn:
        held = sorted(conn.execute("SELECT id, email, status, total, note FROM orders").fetchall())
        joined = conn.execute("SELECT count(*) FROM orders o JOIN customers c "
                              "ON c.email = o.email").fetchone()[0]
    assert [tuple(r) for r in held] == expected
    assert expected and joined == len(expected)  # every order's hashed email finds its customer
    for level in ("count", "content"):
        report = api.verify_task(name, store, level=level)
        orders = next(t for t in report["tables"] if t["source"] == "orders")
        assert report["consistent"], (level, orders)
        assert orders["rows_source"] == orders["rows_dest"] == len(expected)
    with psycopg.connect(dest, autocommit=True) as conn:  # a row the filter keeps out
        conn.execute("INSERT INTO orders VALUES (999999, 'x', 'closed', 1, NULL)")
        conn.execute("UPDATE customers SET email = 'plain' WHERE email = %s", (_hash('c5@x'),))
    report = api.verify_task(name, store)
    found = {t["source"]: t for t in report["tables"]}
    assert not report["consistent"]
    assert found["orders"]["rows_dest"] == len(expected) + 1
    assert not found["customers"]["consistent"]  # a hashed key that no longer matches


def test_where_and_mask_postgres_to_postgres(store: Store, pg_server: Any, pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE customers (email text PRIMARY KEY);"
                     "CREATE TABLE orders (id int PRIMARY KEY, email text, status text, "
                     "total int, note text);"
                     "INSERT INTO orders SELECT g, 'c' || g || '@x', "
                     "(ARRAY['open','held','closed'])[1 + g % 3], g % 21, "
                     "CASE WHEN g % 4 = 0 THEN 'n' END FROM generate_series(1, 120) g;"
                     "INSERT INTO customers "
                     "SELECT 'c' || g || '@x' FROM generate_series(1, 100000) g")
    dest = pg_server.create_database(f"filt_{uuid.uuid4().hex[:8]}")

    def execute(sql: str) -> None:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(sql)

    def read(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(pg_url) as conn:
            return conn.execute(sql).fetchall()

    _follow_and_check(store, "filt-pg", pg_url, dest, execute, read)


def test_where_and_mask_mysql_to_postgres(store: Store, pg_server: Any, mysql_url: str) -> None:
    rows = ", ".join(f"({g}, 'c{g}@x', '{STATUSES[g % 3]}', {g % 21}, "
                     f"{'NULL' if g % 4 else chr(39) + 'n' + chr(39)})" for g in range(1, 121))
    my_execute(mysql_url, "CREATE TABLE customers (email varchar(200) PRIMARY KEY);\n"
               "CREATE TABLE orders (id int PRIMARY KEY, email varchar(200), "
               "status varchar(10), total int, note varchar(10));\n"
               f"INSERT INTO orders VALUES {rows};\n"
               "INSERT INTO customers SELECT concat('c', seq, '@x') FROM seq_1_to_100000")
    dest = pg_server.create_database(f"filt_my_{uuid.uuid4().hex[:8]}")

    def read(sql: str) -> list[tuple[Any, ...]]:
        from tests.integration.test_mysql import _connect
        with _connect(mysql_url) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return list(cur.fetchall())

    _follow_and_check(store, "filt-my", mysql_url, dest, lambda s: my_execute(mysql_url, s), read)


@over(("sqlite", "sqlite"), ("postgresql", "postgresql"))
def test_a_table_without_a_key_keeps_the_filtered_multiset(store: Store,
                                                          urls: tuple[str, str]) -> None:
    """Rows named by their values move in (n = n + 1 crosses n >= 2) and out under a writer:
    the destination holds the source's kept rows, duplicates included, masked."""
    from collections import Counter

    from tests.integration.test_keyless import DDL, ROWS, LogWriter, multiset
    from turnout.filters.expr import parse
    from turnout.filters.masks import parse_mask
    from turnout.filters.rules import RowRule

    source, dest = urls
    name = "filt-keyless-" + "-".join(map(kind, urls))
    statements = [DDL[kind(source)], insert_sql(source, "logs", ROWS)]
    if kind(source) == "postgresql":
        statements.append("ALTER TABLE logs REPLICA IDENTITY FULL")
    execute(source, *statements)
    where = "n >= 2 AND msg IS NOT NULL"
    api.create_task(TaskSpec(name, source, dest, where={"logs": where},
                             masks={"logs": {"note": "redact"}},
                             options=Options(chunk_rows=16, batch_changes=50)), store)
    writer = LogWriter(source, seed=3)
    writer.start()
    try:
        with running(store, name):
            api.wait_for(name, lambda s: s["phase"] == "incremental", 60, store)
            time.sleep(1.5)
            writer.finish()
            wait_caught_up(store, name, timeout=60)
    finally:
        writer.halt.set()
    rule = RowRule(("n", "msg", "note"), (), parse(where), {"note": parse_mask("redact")})
    expected = Counter(rule.shape(list(multiset(source).elements())))
    assert multiset(dest) == expected and expected
    report = api.verify_task(name, store)
    assert report["consistent"], report["tables"]
