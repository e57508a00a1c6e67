"""The SQLite engine: the embedded default, a file on this machine.

Catalog, snapshot reads, bulk loads, trigger-based capture, idempotent apply,
sessions and freeze for SQLite live in this package and nowhere else.

The engine class (SqliteEngine) is in engine.py; this module imports nothing, so loading a
helper module (dialect.py, values.py) does not load the engine.
"""
