"""Catalog and DDL round trip on real SQLite files."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_db
from turnout import engines
from turnout.types import Kind

SCHEMA = """
CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, code CHAR(4) NOT NULL UNIQUE,
                     name NVARCHAR(40) DEFAULT 'none', price NUMERIC(10,2) DEFAULT 0,
                     born DATETIME DEFAULT CURRENT_TIMESTAMP, ratio REAL, blob BLOB,
                     flag BOOLEAN DEFAULT 1, doc JSON, anything);
CREATE TABLE child (a INTEGER NOT NULL, b TEXT NOT NULL, parent_id INTEGER REFERENCES parent(id)
                    ON DELETE CASCADE, note TEXT, PRIMARY KEY (a, b));
CREATE INDEX child_note ON child (note, parent_id);
CREATE UNIQUE INDEX child_parent ON child (parent_id, note);
"""


def test_reflect_render_reflect_is_stable(tmp_path: Path) -> None:
    src = engines.connect(f"sqlite:///{make_db(tmp_path / 'src.db', SCHEMA)}")
    dst = engines.connect(f"sqlite:///{tmp_path / 'dst.db'}", create=True)
    tables = src.reflect(src.list_tables())
    for table in tables:
        dst.create_table(table)
        dst.create_indexes(table)
    again = dst.reflect(dst.list_tables())
    assert again == tables

    parent = next(t for t in tables if t.name == "parent")
    assert parent.primary_key == ("id",) and parent.column("id").autoincrement
    assert parent.column("code").type.kind is Kind.CHAR and parent.column("code").type.length == 4
    assert str(parent.column("price").type) == "decimal(10,2)"
    assert parent.column("name").default == "'none'"
    assert parent.column("anything").type.kind is Kind.ANY
    assert [i.columns for i in parent.indexes if i.unique] == [("code",)]

    child = next(t for t in tables if t.name == "child")
    assert child.primary_key == ("a", "b")
    assert child.foreign_keys[0].ref_table == "parent"
    assert child.foreign_keys[0].on_delete == "CASCADE"
    assert {i.name for i in child.indexes} == {"child_note", "child_parent"}


def test_turnout_tables_are_invisible(tmp_path: Path) -> None:
    path = make_db(tmp_path / "a.db", "CREATE TABLE t (id INTEGER PRIMARY KEY);"
                   "CREATE TABLE _turnout_checkpoint (x);")
    assert engines.connect(f"sqlite:///{path}").list_tables() == ["t"]
