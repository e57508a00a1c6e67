"""Reading a table as SHOW CREATE TABLE shows it, for a MySQL or MariaDB destination.

SHOW CREATE TABLE writes one column, key or constraint per line, each in the server's own
canonical SQL (strings escaped, so a line never breaks inside one): a destination of the
same kind rebuilds the table from those lines and shows the same text. Other engines never
read these fields: they go by the canonical ones (catalog.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from turnout.engines.mysql.dialect import quote
from turnout.model import Index

_NAMED = re.compile(r"`((?:[^`]|``)+)` (.*)", re.S)
_KEY = re.compile(r"(UNIQUE |FULLTEXT |SPATIAL )?KEY `((?:[^`]|``)+)` ")
_CHECK = re.compile(r"CONSTRAINT `((?:[^`]|``)+)` (CHECK .*)", re.S)
_COUNTER = re.compile(r" AUTO_INCREMENT=\d+")
# A foreign key's line: its actions are what follows the referenced columns.
_FOREIGN = re.compile(r"CONSTRAINT `((?:[^`]|``)+)` FOREIGN KEY \(.*?\) REFERENCES .*?\) ?(.*)")


@dataclass
class Shown:
    """One table's SHOW CREATE TABLE, taken apart."""

    columns: dict[str, str] = field(default_factory=dict)  # name → definition after it
    keys: list[Index] = field(default_factory=list)  # secondary keys, in the server's order
    checks: list[tuple[str, str]] = field(default_factory=list)  # table-level CHECKs
    actions: dict[str, str] = field(default_factory=dict)  # foreign key name → its actions
    options: str = ""  # after the column list, without the AUTO_INCREMENT counter
    left_out: list[str] = field(default_factory=list)


def show_create(cur: Any, name: str) -> Shown:
    cur.execute("SET SESSION sql_quote_show_create = 1")  # names quoted, as parse() reads them
    cur.execute(f"SHOW CREATE TABLE {quote(name)}")
    return parse(cur.fetchone()[1])


def triggers(cur: Any, name: str) -> list[str]:
    """The table's triggers, which SHOW CREATE TABLE leaves out and turnout does not build."""
    cur.execute(
        "SELECT trigger_name FROM information_schema.triggers WHERE event_object_schema = "
        "DATABASE() AND event_object_table = %s ORDER BY trigger_name", (name,))
    return [f"trigger {r[0]}" for r in cur.fetchall()]


def foreign_keys_out(cur: Any, name: str) -> list[str]:
    """Foreign keys to another database's tables, which the task's destination may not have
    (the catalog leaves them out rather than point them at a table of the same name)."""
    cur.execute(
        "SELECT DISTINCT constraint_name, referenced_table_schema, referenced_table_name "
        "FROM information_schema.key_column_usage WHERE table_schema = DATABASE() "
        "AND table_name = %s AND referenced_table_name IS NOT NULL "
        "AND referenced_table_schema <> table_schema ORDER BY constraint_name", (name,))
    return [f"foreign key {key} (to {schema}.{table}, in another database)"
            for key, schema, table in cur.fetchall()]


def parse(text: str) -> Shown:
    """The parts of SHOW CREATE TABLE's text. The counter is left out of the options: the
    destination's follows the rows copied (sync_sequences), not the source's."""
    lines = text.split("\n")
    end = max(i for i, line in enumerate(lines) if line.startswith(")"))
    shown = Shown(options=_COUNTER.sub("", "\n".join(lines[end:])[1:].strip()))
    for line in lines[1:end]:
        _add(shown, line.strip().removesuffix(","))
    return shown


def _add(shown: Shown, line: str) -> None:
    column = _NAMED.fullmatch(line)
    key = _KEY.match(line)
    check = _CHECK.fullmatch(line)
    foreign = _FOREIGN.fullmatch(line)
    if column:
        shown.columns[_unquote(column[1])] = column[2]
    elif key:
        shown.keys.append(Index(_unquote(key[2]), (), key[1] == "UNIQUE ", definition=line))
    elif check:
        shown.checks.append((_unquote(check[1]), check[2]))
    elif foreign:  # the columns go by the catalog, which renames can change
        shown.actions[_unquote(foreign[1])] = foreign[2]
    elif not line.startswith("PRIMARY KEY"):
        shown.left_out.append(line)


def _unquote(name: str) -> str:
    return name.replace("``", "`")
