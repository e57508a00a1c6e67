"""Building a table as its MySQL or MariaDB source has it, so SHOW CREATE TABLE shows the same.

Only for tables read from MySQL (native.py): columns, keys, checks and table options go in
the lines SHOW CREATE TABLE gave on the source. Tables of other engines are built from the
canonical fields by dialect.py.
"""

from __future__ import annotations

from turnout.engines.mysql.dialect import column_ddl, column_list, quote
from turnout.model import ForeignKey, Index, Table


def carries(table: Table, scheme: str, flavor: str) -> bool:
    """Whether `table` holds its source's own definitions in this server's kind of SQL (a
    MariaDB table going to MySQL is built from the canonical fields, and the other way)."""
    return (table.origin == scheme and table.flavor == flavor
            and any(c.definition for c in table.columns))


def create_table_sql(table: Table) -> str:
    """The table with its primary key and the key AUTO_INCREMENT needs; the other keys come
    after the data (create_index_statements)."""
    keyed = set(table.primary_key) | {c for i in table.indexes for c in i.columns}
    lines = [f"{quote(c.name)} {c.definition}" if c.definition
             else column_ddl(c, True, c.name in keyed) for c in table.columns]
    for place, column in table.generated:  # computed columns back in their places
        definition = column.definition or f"{column.native_type} {column.default}"
        lines.insert(place, f"{quote(column.name)} {definition}")
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({column_list(table.primary_key)})")
    lines += [index.definition for index in _counter_key(table)]
    body = ",\n  ".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n  {body}\n) {table.options}"


def _counter_key(table: Table) -> list[Index]:
    """The source's key that MySQL wants in place for an AUTO_INCREMENT column outside the
    primary key's first place."""
    auto = next((c.name for c in table.columns if c.autoincrement), None)
    if auto is None or table.primary_key[:1] == (auto,):
        return []
    first = {i.name for i in table.indexes if i.columns[:1] == (auto,)}
    return [i for i in table.source_indexes if i.name in first][:1]


def create_index_statements(table: Table, have: set[str]) -> list[str]:
    """ALTER TABLE for each key not there yet, in the source's order: MySQL keeps keys of a
    kind in the order they came, so the destination lists them as the source does."""
    return [f"ALTER TABLE {quote(table.name)} ADD {index.definition}"
            for index in table.source_indexes if index.name not in have]


def check_statements(table: Table, have: set[str]) -> list[str]:
    return [f"ALTER TABLE {quote(table.name)} ADD CONSTRAINT {quote(name)} {definition}"
            for name, definition in table.checks if name not in have]


def foreign_key_sql(table: Table, fk: ForeignKey, name: str) -> str:
    """The key with its actions as SHOW CREATE TABLE wrote them: an action left unsaid there
    (RESTRICT) stays unsaid, where information_schema names it all the same."""
    return (
        f"ALTER TABLE {quote(table.name)} ADD CONSTRAINT {quote(name)} "
        f"FOREIGN KEY ({column_list(fk.columns)}) REFERENCES {quote(fk.ref_table)} "
        f"({column_list(fk.ref_columns)}) {fk.clauses}"
    ).rstrip()
