"""Building a table as its PostgreSQL source has it, so `pg_dump -s` shows the same on both.

Only for tables read from PostgreSQL (native.py): each object goes in the source's own SQL.
The session's search_path is the destination schema while it runs, so names the source
wrote relative to its schema (types, sequences, collations) resolve in this one.
Tables of other engines are built from the canonical fields by dialect.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from turnout.engines.postgres.dialect import (
    column_ddl,
    column_list,
    create_index_sql,
    qualified,
    quote,
)
from turnout.engines.postgres.present import Held, held
from turnout.model import ForeignKey, Index, Table


def carries(table: Table, scheme: str) -> bool:
    """Whether `table` holds its PostgreSQL source's own definitions."""
    return table.origin == scheme and any(c.definition for c in table.columns)


@contextmanager
def in_schema(conn: Any, schema: str) -> Iterator[Any]:
    """A transaction whose unqualified names are those of `schema`."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SELECT set_config('search_path', quote_ident(%s), true)", (schema,))
        yield cur


def create_table_sql(schema: str, table: Table) -> str:
    lines = [f"{quote(c.name)} {c.definition}" if c.definition else column_ddl(c, True)
             for c in table.columns]
    for place, column in table.generated:  # computed columns back in their places
        lines.insert(place, f"{quote(column.name)} {column.definition}")
    body = ",\n    ".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {qualified(schema, table.name)} (\n    {body}\n)"


def create_table(cur: Any, schema: str, table: Table) -> None:
    """Types and sequences the columns use, the table, and what pg_dump says of it; in the
    caller's transaction (`cur`, from in_schema)."""
    target = qualified(schema, table.name)
    for name, statement in table.types:
        cur.execute("SELECT to_regtype(%s)", (name,))
        if cur.fetchone()[0] is None:
            cur.execute(statement)
    for name, options, _ in table.sequences:
        cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {name} {options}")
    cur.execute(create_table_sql(schema, table))
    for name, _, owner in table.sequences:
        if owner:
            cur.execute(f"ALTER SEQUENCE {name} OWNED BY {target}.{quote(owner)}")
    if table.options:
        cur.execute(f"ALTER TABLE {target} {table.options}")
    _comment(cur, schema, table, ("TYPE", "TABLE", "COLUMN"))


def missing_types(conn: Any, schema: str, tables: list[Table], scheme: str) -> list[str]:
    """Column types the source has and this database lacks (an extension's, such as citext),
    besides the enums, domains and composites the schema step creates: CREATE TABLE would
    stop on them."""
    problems = []
    known: dict[str, bool] = {}  # a type's lookup, made once however many columns use it
    with in_schema(conn, schema) as cur:
        for table in tables:
            if not carries(table, scheme):
                continue
            made = {name for name, _ in table.types}
            columns = [*table.columns, *(c for _, c in table.generated)]
            for column in columns:
                if not column.definition or column.native_type.rstrip("[]") in made:
                    continue
                if column.native_type not in known:
                    cur.execute("SELECT to_regtype(%s)", (column.native_type,))
                    known[column.native_type] = cur.fetchone()[0] is not None
                if not known[column.native_type]:
                    problems.append(
                        f"{table.name}.{column.name}: type {column.native_type} does not exist "
                        f"in the destination's schema {schema} or pg_catalog: create it there "
                        "first (for an extension's type, CREATE EXTENSION with that schema)")
    return problems


def always_identities(conn: Any, schema: str, names: list[str]) -> list[str]:
    """Identity columns GENERATED ALWAYS outside the primary key, which refuse the updates a
    replay writes ("can only be updated to DEFAULT"): the reverse task meets them on the
    source that kept them."""
    rows = conn.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "WHERE c.relnamespace = %s::regnamespace AND c.relname = ANY (%s) "
        "AND a.attidentity = 'a' AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE "
        "i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY (i.indkey)) "
        "ORDER BY 1, 2", (quote(schema), names),
    ).fetchall()
    return [
        f"table {table!r}: identity column {column!r} is GENERATED ALWAYS, which refuses the "
        f"updates the incremental step writes: ALTER TABLE {qualified(schema, table)} ALTER "
        f"COLUMN {quote(column)} SET GENERATED BY DEFAULT (SET GENERATED ALWAYS again after "
        "the task)"
        for table, column in rows
    ]


def create_indexes(cur: Any, schema: str, table: Table, present: Held) -> None:
    """The primary key under its name, every index, UNIQUE / EXCLUDE and CHECK constraint,
    and their comments; in the caller's transaction (`cur`, from in_schema), `present`
    saying what the table holds already."""
    target = qualified(schema, table.name)
    if table.primary_key and not present.constraint(table.name, "", "p"):
        name = f"CONSTRAINT {quote(table.primary_key_name)} " if table.primary_key_name else ""
        if table.primary_key_name and present.own_unique_index(
                table.name, table.primary_key_name, table.primary_key):
            using = quote(table.primary_key_name)  # built before, alongside the others
            cur.execute(f"ALTER TABLE {target} ADD {name}PRIMARY KEY USING INDEX {using}")
        else:
            cur.execute(f"ALTER TABLE {target} ADD {name}PRIMARY KEY "
                        f"({column_list(table.primary_key)})")
        present.added(table.name, table.primary_key_name, "p")
    for index in table.source_indexes:
        cur.execute(index_sql(cur, schema, table, index, present))
    for name, definition in table.checks:
        if not present.constraint(table.name, name):
            cur.execute(f"ALTER TABLE {target} ADD CONSTRAINT {quote(name)} {definition}")
            present.added(table.name, name, "c")
    keys = {fk.name for fk in table.foreign_keys}
    others = {n for k, n, _ in table.comments if k == "CONSTRAINT"} - keys
    _comment(cur, schema, table, ("INDEX",), others, present)


def index_sql(cur: Any, schema: str, table: Table, index: Index, present: Held) -> str:
    """The index as its source wrote it; one whose text could not be read (never seen) is
    built on its columns, or left to not_carried() to name when it has none."""
    target = qualified(schema, table.name)
    if not index.definition:
        plain = [i for i in table.indexes if i.name == index.name]
        cur.execute("SELECT to_regclass(%s)", (qualified(schema, index.name),))
        built = cur.fetchone()[0] is not None
        return create_index_sql(schema, table, plain[0]) if plain and not built else "SELECT 1"
    if index.constraint:
        if present.constraint(table.name, index.name):
            return "SELECT 1"
        present.added(table.name, index.name, "u")
        return f"ALTER TABLE {target} ADD CONSTRAINT {quote(index.name)} {index.definition}"
    unique = "UNIQUE " if index.unique else ""
    return f"CREATE {unique}INDEX IF NOT EXISTS {quote(index.name)} ON {target} {index.definition}"


def foreign_key_sql(schema: str, table: Table, fk: ForeignKey, name: str) -> str:
    """The key with its name and what else its source said (MATCH, DEFERRABLE, NOT VALID)."""
    match, rest = "", fk.clauses
    if rest.startswith("MATCH "):
        match = " " + " ".join(rest.split()[:2])
        rest = " ".join(rest.split()[2:])
    return (
        f"ALTER TABLE {qualified(schema, table.name)} ADD CONSTRAINT {quote(name)} "
        f"FOREIGN KEY ({column_list(fk.columns)}) REFERENCES {qualified(schema, fk.ref_table)} "
        f"({column_list(fk.ref_columns)}){match} ON DELETE {fk.on_delete} "
        f"ON UPDATE {fk.on_update}" + (f" {rest}" if rest else "")
    )


def comment_foreign_keys(conn: Any, schema: str, table: Table) -> None:
    keys = {fk.name for fk in table.foreign_keys}
    if any(k == "CONSTRAINT" and n in keys for k, n, _ in table.comments):
        with in_schema(conn, schema) as cur:
            _comment(cur, schema, table, (), keys, held(cur, schema, [table.name]))


def _comment(cur: Any, schema: str, table: Table, kinds: tuple[str, ...],
             constraints: set[str] | None = None, present: Held | None = None) -> None:
    """COMMENT ON each object of `kinds` and each of the named `constraints` that is there
    (one the task could not build, say after a column rename, has no comment to take)."""
    from psycopg import sql

    target = qualified(schema, table.name)
    for kind, name, text in table.comments:
        if kind == "TYPE" and kind in kinds:
            on = f"TYPE {name}"  # as the source's catalog spells it, quoted where needed
        elif kind == "TABLE" and kind in kinds:
            on = f"TABLE {target}"
        elif kind == "COLUMN" and kind in kinds:
            on = f"COLUMN {target}.{quote(name)}"
        elif kind == "INDEX" and kind in kinds:
            cur.execute("SELECT to_regclass(%s)", (qualified(schema, name),))
            if cur.fetchone()[0] is None:
                continue
            on = f"INDEX {qualified(schema, name)}"
        elif kind == "CONSTRAINT" and name in (constraints or set()) and present:
            if not present.constraint(table.name, name):
                continue
            on = f"CONSTRAINT {quote(name)} ON {target}"
        else:
            continue
        cur.execute(f"COMMENT ON {on} IS {sql.Literal(text).as_string(cur)}")
