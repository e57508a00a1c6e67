"""A table's key and indexes built side by side on a PostgreSQL destination.

When a table's indexes are built alone, each index (and the primary key's unique index)
is built on a connection of its own, and the last one to end makes the key from its
index. A task stopped between the two must end with the same objects, under the same
names, as one built in one go: no second key index, no index left over.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import psycopg
import pytest

from turnout import engines
from turnout.engines.base import Engine
from turnout.migrate import full, schema
from turnout.migrate.plan import TablePlan, build_plan
from turnout.migrate.progress import NoProgress
from turnout.spec import TaskSpec, parse_types
from turnout.verify.digest import table_digest

OWNER = "parts"
OBJECTS = (
    "SELECT c.relname, i.indisprimary, i.indisunique, pg_get_indexdef(i.indexrelid), "
    "coalesce(k.conname, ''), coalesce(pg_get_constraintdef(k.oid), '') "
    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid "
    "WHERE i.indrelid = 'orders'::regclass ORDER BY 1"
)
SOURCE = """
CREATE TABLE orders (id int NOT NULL, region text NOT NULL, placed date, note text,
                     CONSTRAINT orders_key PRIMARY KEY (region, id));
CREATE INDEX orders_placed ON orders (placed DESC);
CREATE UNIQUE INDEX orders_note ON orders (note) WHERE note IS NOT NULL;
INSERT INTO orders SELECT g, chr(65 + g % 5), date '2020-01-01' + g % 900,
       CASE WHEN g % 3 = 0 THEN 'n' || g END FROM generate_series(1, 5000) g;
"""


def _copied(src: Engine, dst: Engine) -> list[TablePlan]:
    spec = TaskSpec(OWNER, src.endpoint.url, dst.endpoint.url, types=parse_types("schema,full"))
    plans = build_plan(spec, src, dst, first_run=True)
    schema.create_tables(dst, plans, NoProgress())
    assert full.copy_tables(src, dst, plans, OWNER, chunk_rows=1000, progress=NoProgress(),
                            stop=threading.Event())
    return plans


def _objects(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(OBJECTS).fetchall()


@pytest.mark.parametrize("built_before", [0, 1, 3], ids=["none", "key-index", "all-parts"])
def test_postgres_parts_stopped_half_way_end_as_one_build(
    pg_server, pg_url: str, built_before: int
) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(SOURCE)
    dest = pg_server.create_database(f"parts_{built_before}")
    src, dst = engines.connect(pg_url), engines.connect(dest)
    plans = _copied(src, dst)
    table = plans[0].dest
    parts = dst.index_parts(table)
    assert parts == ["orders_key", "orders_note", "orders_placed"]
    for part in parts[:built_before]:  # what a task stopped part way had built
        dst.create_index_part(table, part)
    schema.create_indexes(dst, plans, NoProgress())
    assert _objects(dest) == _objects(pg_url)
    assert table_digest(src, plans[0].source) == table_digest(dst, table)


def test_a_dialect_built_key_is_made_from_its_part(pg_server, tmp_path: Path) -> None:
    """Tables of another engine get PostgreSQL's own key name, TABLE_pkey, as ADD PRIMARY
    KEY would have chosen; stopped after the key's index was built, the key is made from it."""
    db = tmp_path / "src.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE orders (id integer PRIMARY KEY, k integer, note text)")
        conn.execute("CREATE INDEX orders_k ON orders (k)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)",
                         [(n, n % 17, f"n{n}") for n in range(1, 3001)])
    dest = pg_server.create_database("parts_dialect")
    src, dst = engines.connect(f"sqlite:///{db}"), engines.connect(dest)
    plans = _copied(src, dst)
    table = plans[0].dest
    assert dst.index_parts(table) == ["orders_pkey", "orders_k"]
    dst.create_index_part(table, "orders_pkey")
    schema.create_indexes(dst, plans, NoProgress())
    found = {name: (primary, constraint) for name, primary, _, _, constraint, _ in
             _objects(dest)}
    assert found == {"orders_pkey": (True, "orders_pkey"), "orders_k": (False, "")}
