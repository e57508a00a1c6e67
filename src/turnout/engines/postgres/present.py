"""What some destination tables already hold (constraints, indexes), read in one query.

Building keys and indexes looks first at what is there, so a task started again builds
only the rest. Asked object by object, that was three or four round trips per table
before each build: at a thousand small tables they cost more than the builds, and kept
the statements from going to the server together (build.py sends a batch's builds in one
pipeline). Held tracks what the batch itself adds, so a later look in the same
transaction sees it, as a query would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from turnout.engines.postgres.dialect import qualified

HELD_SQL = """
WITH t AS (SELECT oid FROM unnest(%s::regclass[]) AS u(oid))
SELECT c.relname::text, con.conname::text, con.contype::text, NULL::bool, NULL::text[]
FROM t JOIN pg_class c ON c.oid = t.oid JOIN pg_constraint con ON con.conrelid = t.oid
UNION ALL
SELECT c.relname::text, ic.relname::text, NULL, i.indisvalid,
       CASE WHEN i.indisunique AND i.indisvalid AND i.indexprs IS NULL AND i.indpred IS NULL
             AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
       THEN ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY
                  AS k(n, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                  ORDER BY k.o) END
FROM t JOIN pg_class c ON c.oid = t.oid JOIN pg_index i ON i.indrelid = t.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
"""


@dataclass
class Held:
    """Per table: its constraints (name, kind) and its indexes (name → valid), with the
    columns of each unique index no constraint holds yet (one a primary key can take)."""

    constraints: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    indexes: dict[str, dict[str, bool]] = field(default_factory=dict)
    free_unique: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def constraint(self, table: str, name: str, kind: str | None = None) -> bool:
        """Whether the table has a constraint called `name`, or any of kind `kind`."""
        return any(n == name or k == kind for n, k in self.constraints.get(table, ()))

    def added(self, table: str, name: str, kind: str) -> None:
        """A constraint this batch has just added."""
        self.constraints.setdefault(table, set()).add((name, kind))

    def valid_indexes(self, table: str) -> set[str]:
        return {n for n, valid in self.indexes.get(table, {}).items() if valid}

    def invalid_indexes(self, table: str) -> list[str]:
        """Indexes whose build died half way: dropped, so the next build makes them whole."""
        return sorted(n for n, valid in self.indexes.get(table, {}).items() if not valid)

    def own_unique_index(self, table: str, name: str, columns: tuple[str, ...]) -> bool:
        """Whether `name` is a unique index of this very table on exactly `columns`, in their
        order, that no constraint holds yet: the one a parallel build made for the key (an
        index of that name elsewhere in the schema is not)."""
        return self.free_unique.get(table, {}).get(name) == list(columns)


def held(cur: Any, schema: str, tables: list[str]) -> Held:
    """What `tables` (of `schema`, all existing) hold now, in one query."""
    found = Held()
    rows = cur.execute(HELD_SQL, ([qualified(schema, t) for t in tables],)).fetchall()
    for table, name, kind, valid, columns in rows:
        if kind is not None:
            found.added(table, name, kind)
            continue
        found.indexes.setdefault(table, {})[name] = bool(valid)
        if columns is not None:
            found.free_unique.setdefault(table, {})[name] = list(columns)
    return found
