"""DDL read from a MySQL/MariaDB binlog, turned into the table's layout right after it.

A QUERY event carries the statement, not the table it leaves behind, and the catalog
shows the table as it is now, which may be several DDLs later (the task was stopped, or
is catching up). So the statement is run again on a shadow: a scratch table built as
the stream had the table before the DDL (the task's layout), altered by the same
statement with its table name swapped, and read back through the catalog. MySQL itself
says what the statement does, with no parser of its own to keep in step with the
server's grammar. Renames are read from the statement (RENAME COLUMN a TO b, CHANGE a b):
MySQL keeps no column number to match them by.

Only statements on one captured table pass here: ALTER TABLE, CREATE INDEX and DROP
INDEX. Others (GRANT, ALTER USER, FLUSH, DDL of other tables) are not DDL of the task.
The shadow's own statements go into the binlog under turnout's name, which capture
ignores like any table it does not move.
"""

from __future__ import annotations

import re
from dataclasses import replace

from turnout.engines.mysql.dialect import create_index_sql, create_table_sql, quote
from turnout.engines.mysql.link import MysqlSource
from turnout.model import Ddl, Table

SHADOW_PREFIX = "_turnout_shadow_"
_NAME = r"(?:`(?:[^`]|``)+`|[\w$]+)"
_TARGET = {
    "alter": re.compile(rf"^\s*ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE\s+(?:IF\s+EXISTS\s+)?"
                        rf"(?P<ref>(?:{_NAME}\s*\.\s*)?{_NAME})", re.I),
    "index": re.compile(rf"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:UNIQUE\s+|FULLTEXT\s+|"
                        rf"SPATIAL\s+)?INDEX|DROP\s+INDEX)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
                        rf"{_NAME}\s+(?:USING\s+\w+\s+)?ON\s+(?P<ref>(?:{_NAME}\s*\.\s*)?{_NAME})",
                        re.I),
}
_CREATE = re.compile(rf"^\s*CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                     rf"(?P<ref>(?:{_NAME}\s*\.\s*)?{_NAME})", re.I)
_RENAME = re.compile(rf"\bRENAME\s+COLUMN\s+(?P<old>{_NAME})\s+TO\s+(?P<new>{_NAME})", re.I)
_CHANGE = re.compile(rf"\bCHANGE\s+(?:COLUMN\s+)?(?:IF\s+EXISTS\s+)?(?P<old>{_NAME})\s+"
                     rf"(?P<new>{_NAME})", re.I)


def _unquote(name: str) -> str:
    name = name.strip()
    return name[1:-1].replace("``", "`") if name.startswith("`") else name


def target(query: str, schema: str, database: str) -> tuple[str, tuple[int, int]] | None:
    """The table a table-altering statement names (in this database) and where in the
    statement its name stands; None for any other statement."""
    for pattern in _TARGET.values():
        found = _named(pattern, query, schema, database)
        if found is not None:
            return found
    return None


def created(query: str, schema: str, database: str) -> tuple[str, tuple[int, int]] | None:
    """The table a CREATE TABLE (not TEMPORARY: the binlog has no rows of those) makes in
    this database, and where its name stands; None for any other statement."""
    return _named(_CREATE, query, schema, database)


def _named(pattern: re.Pattern[str], query: str, schema: str,
           database: str) -> tuple[str, tuple[int, int]] | None:
    match = pattern.match(query)
    if match is None:
        return None
    parts = re.findall(_NAME, match["ref"])
    where = schema if len(parts) == 1 else _unquote(parts[0])
    if where != database:
        return None
    return _unquote(parts[-1]), match.span("ref")


_REF = rf"(?:{_NAME}\s*\.\s*)?{_NAME}"
_RENAME_TABLE = re.compile(
    rf"^\s*(?:RENAME\s+TABLES?\s+(?P<pairs>{_REF}\s+TO\s+{_REF}(?:\s*,\s*{_REF}\s+TO\s+{_REF})*)"
    rf"|ALTER\s+TABLE\s+(?P<old>{_REF})\s+RENAME\s+(?:(?:TO|AS)\s+)?(?P<new>{_REF}))"
    r"\s*;?\s*$", re.I)


def renamed_tables(query: str, schema: str,
                   database: str) -> list[tuple[str | None, str | None]] | None:
    """The (old, new) names a RENAME TABLE (or an ALTER TABLE that only renames) gives, in
    order; a name in another database is None. None for any other statement."""
    match = _RENAME_TABLE.match(query)
    if match is None:
        return None
    pairs = [(match["old"], match["new"])] if match["pairs"] is None else \
        re.findall(rf"({_REF})\s+TO\s+({_REF})", match["pairs"], re.I)
    return [(_in(old, schema, database), _in(new, schema, database)) for old, new in pairs]


def _in(ref: str, schema: str, database: str) -> str | None:
    parts = re.findall(_NAME, ref)
    where = schema if len(parts) == 1 else _unquote(parts[0])
    return _unquote(parts[-1]) if where == database else None


def renames(query: str) -> tuple[tuple[str, str], ...]:
    """Columns the statement renames, old to new (CHANGE a a keeps the name)."""
    found = [(_unquote(m["old"]), _unquote(m["new"]))
             for pattern in (_RENAME, _CHANGE) for m in pattern.finditer(query)]
    return tuple((old, new) for old, new in found if old != new)


def replay(engine: MysqlSource, slot: str, name: str, before: Table | None, query: str,
           span: tuple[int, int], ddl_id: str) -> Ddl:
    """The statement run on a shadow of `before` (None: a CREATE TABLE, run as it is): the
    Ddl with the table's layout after it."""
    shadow = f"{SHADOW_PREFIX}{slot}"[:64]
    statement = query[:span[0]] + quote(shadow) + query[span[1]:]
    engine.execute(f"DROP TABLE IF EXISTS {quote(shadow)}")
    try:
        if before is not None:
            same = replace(before, name=shadow, foreign_keys=(), generated=(), checks=(),
                           source_indexes=())
            engine.execute(create_table_sql(same, True, engine.own_types))
            for index in same.indexes:
                engine.execute(create_index_sql(same, index))
        engine.execute(statement)
        after = engine.reflect([shadow])[0]
    finally:
        engine.execute(f"DROP TABLE IF EXISTS {quote(shadow)}")
    if before is None:
        return Ddl(ddl_id, query, replace(after, name=name, source_indexes=()), ())
    after = replace(after, name=name, foreign_keys=before.foreign_keys,
                    generated=before.generated, checks=before.checks, source_indexes=(),
                    options=before.options, flavor=before.flavor)
    return Ddl(ddl_id, query, after, renames(query))
