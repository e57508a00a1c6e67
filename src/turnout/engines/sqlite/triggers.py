"""The SQL of SQLite change capture's triggers and log (capture.py says how they work)."""

from __future__ import annotations

import hashlib

from turnout.engines.sqlite.dialect import literal, quote
from turnout.model import Table
from turnout.types import Kind

NOW_SQL = "((julianday('now') - 2440587.5) * 86400.0)"


def log_table(slot: str) -> str:
    return f"_turnout_changes_{slot}"


def trigger_name(slot: str, table: str, op: str) -> str:
    digest = hashlib.sha1(table.encode()).hexdigest()[:12]
    return f"_turnout_{slot}_{digest}_{op}"


def key_json(table: Table, ref: str) -> str:
    """SQL building the JSON array of a row's key; BLOB values go as hex (JSON holds no BLOB)."""
    parts = []
    for name in table.key:
        expr = f"{ref}.{quote(name)}"
        if table.column(name).type.kind in (Kind.BINARY, Kind.ANY):
            expr = f"CASE WHEN typeof({expr}) = 'blob' THEN 'x:' || hex({expr}) ELSE {expr} END"
        parts.append(expr)
    return f"json_array({', '.join(parts)})"


def trigger_sql(slot: str, log: str, table: Table) -> list[str]:
    """The triggers logging the table's changes into `log` (its key, or a table without one
    its whole rows)."""
    if not table.key:
        return _image_trigger_sql(slot, log, table)
    name, t = literal(table.name), quote(table.name)
    new_key, old_key = key_json(table, "NEW"), key_json(table, "OLD")
    key_changed = " OR ".join(f"OLD.{quote(k)} IS NOT NEW.{quote(k)}" for k in table.key)
    insert = f"INSERT INTO {log} (tbl, op, key, ts) VALUES"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {quote(trigger_name(slot, table.name, 'i'))} "
        f"AFTER INSERT ON {t} BEGIN {insert} ({name}, 'insert', {new_key}, {NOW_SQL}); END",
        f"CREATE TRIGGER IF NOT EXISTS {quote(trigger_name(slot, table.name, 'd'))} "
        f"AFTER DELETE ON {t} BEGIN {insert} ({name}, 'delete', {old_key}, {NOW_SQL}); END",
        f"CREATE TRIGGER IF NOT EXISTS {quote(trigger_name(slot, table.name, 'u'))} "
        f"AFTER UPDATE ON {t} BEGIN "
        f"{insert} ({name}, 'update', {old_key}, {NOW_SQL}); "
        f"INSERT INTO {log} (tbl, op, key, ts) SELECT {name}, 'update', {new_key}, "
        f"{NOW_SQL} WHERE {key_changed}; END",
    ]

def _image_trigger_sql(slot: str, log: str, table: Table) -> list[str]:
    """Triggers logging whole rows (a table without a key): `key` holds a JSON array of
    the row's quoted values, an update's [old, new] as two such arrays."""
    name, t = literal(table.name), quote(table.name)
    new, old = image_json(table, "NEW"), image_json(table, "OLD")
    insert = f"INSERT INTO {log} (tbl, op, key, ts) VALUES"
    return [
        f"CREATE TRIGGER IF NOT EXISTS {quote(trigger_name(slot, table.name, 'i'))} "
        f"AFTER INSERT ON {t} BEGIN {insert} ({name}, 'insert', {new}, {NOW_SQL}); END",
        f"CREATE TRIGGER IF NOT EXISTS {quote(trigger_name(slot, table.name, 'd'))} "
        f"AFTER DELETE ON {t} BEGIN {insert} ({name}, 'delete', {old}, {NOW_SQL}); END",
        f"CREATE TRIGGER IF NOT EXISTS {quote(trigger_name(slot, table.name, 'u'))} "
        f"AFTER UPDATE ON {t} BEGIN {insert} ({name}, 'update', "
        f"json_array({old}, {new}), {NOW_SQL}); END",
    ]


def image_json(table: Table, ref: str) -> str:
    """SQL building the JSON array of a whole row, each value as quote() writes it."""
    return f"json_array({', '.join(f'quote({ref}.{quote(c)})' for c in table.column_names)})"
