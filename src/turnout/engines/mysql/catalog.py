"""Reading MySQL's and MariaDB's information_schema into turnout's Table form."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from turnout.engines.mysql import native
from turnout.engines.mysql.dialect import canonical_type, portable_default
from turnout.errors import NotFound
from turnout.model import Column, ForeignKey, Index, Table
from turnout.types import CanonicalType, Kind

TURNOUT_PREFIX = "_turnout"


def list_tables(cur: Any) -> list[str]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name"
    )
    return [r[0] for r in cur.fetchall() if not r[0].startswith(TURNOUT_PREFIX)]


def reflect_table(cur: Any, name: str, tinyint1_boolean: bool, mariadb: bool) -> Table:
    columns, generated = _columns(cur, name, tinyint1_boolean, mariadb)
    if not columns:
        raise NotFound(f"table {name} does not exist")
    primary, indexes = _indexes(cur, name)
    shown = native.show_create(cur, name)

    def defined(column: Column) -> Column:
        return replace(column, definition=shown.columns.get(column.name, ""))

    return Table(
        name=name,
        origin="mysql",
        columns=tuple(defined(c) for c in columns),
        primary_key=primary,
        indexes=tuple(indexes),
        foreign_keys=tuple(replace(fk, clauses=shown.actions.get(fk.name, ""))
                           for fk in _foreign_keys(cur, name)),
        generated=tuple((place, defined(c)) for place, c in generated),
        checks=tuple(shown.checks),
        source_indexes=tuple(shown.keys),
        options=shown.options,
        left_out=tuple(shown.left_out + native.triggers(cur, name)
                       + native.foreign_keys_out(cur, name)),
        flavor="mariadb" if mariadb else "mysql",
    )


def _columns(
    cur: Any, name: str, tinyint1_boolean: bool, mariadb: bool
) -> tuple[list[Column], list[tuple[int, Column]]]:
    cur.execute(
        "SELECT column_name, data_type, column_type, character_maximum_length, "
        "numeric_precision, numeric_scale, datetime_precision, is_nullable = 'YES', "
        "column_default, extra, generation_expression FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = %s ORDER BY ordinal_position",
        (name,),
    )
    found = cur.fetchall()
    json_columns = _mariadb_json_columns(cur, name) if mariadb else set()
    columns: list[Column] = []
    generated: list[tuple[int, Column]] = []
    for place, (col, data_type, column_type, length, precision, scale, fsp, nullable, default,
                extra, expression) in enumerate(found):
        extra = (extra or "").lower()
        if col in json_columns:
            data_type = column_type = "json"
        ctype = canonical_type(data_type.lower(), column_type.lower(), length, precision, scale,
                               fsp, tinyint1_boolean) or CanonicalType(Kind.ANY)
        if "generated" in extra and "default_generated" not in extra:  # VIRTUAL / STORED
            kind = "STORED" if "stored" in extra or "persistent" in extra else "VIRTUAL"
            clause = f"AS ({expression}) {kind}"
            generated.append((place, Column(col, ctype, default=clause, native_type=column_type)))
            continue
        expression = _default(default, extra, mariadb)
        on_update = re.search(r"on update \S+", extra)
        columns.append(Column(
            name=col,
            type=ctype,
            nullable=bool(nullable),
            default=expression,
            autoincrement="auto_increment" in extra,
            native_type=column_type,
            portable_default=portable_default(expression, ctype),
            on_update=on_update[0] if on_update else None,
        ))
    return columns, generated


def _mariadb_json_columns(cur: Any, name: str) -> set[str]:
    """MariaDB's JSON is longtext checked by json_valid(): the check tells them apart."""
    cur.execute(
        "SELECT check_clause FROM information_schema.check_constraints "
        "WHERE constraint_schema = DATABASE() AND table_name = %s", (name,))
    found = set()
    for (clause,) in cur.fetchall():
        match = re.fullmatch(r"json_valid\(`((?:[^`]|``)+)`\)", clause.strip())
        if match:
            found.add(match[1].replace("``", "`"))
    return found


def _default(default: str | None, extra: str, mariadb: bool) -> str | None:
    """The default as an SQL expression: MariaDB writes it so; MySQL gives literals bare."""
    if default is None or (mariadb and default == "NULL"):
        return None
    if mariadb or "default_generated" in extra:
        return default
    return "'" + default.replace("\\", "\\\\").replace("'", "''") + "'"


def _indexes(cur: Any, name: str) -> tuple[tuple[str, ...], list[Index]]:
    cur.execute(
        "SELECT index_name, non_unique = 0, column_name, sub_part, "
        "index_type IN ('FULLTEXT', 'SPATIAL') "
        "FROM information_schema.statistics WHERE table_schema = DATABASE() "
        "AND table_name = %s ORDER BY index_name, seq_in_index",
        (name,),
    )
    grouped: dict[str, tuple[bool, list[str | None]]] = {}
    for index, unique, column, sub_part, special in cur.fetchall():
        entry = grouped.setdefault(index, (bool(unique), []))
        entry[1].append(None if sub_part or special or column is None else column)
    primary: tuple[str, ...] = ()
    indexes = []
    for index, (unique, columns) in grouped.items():
        if None in columns:  # prefix, functional, full-text and spatial indexes have no
            continue  # canonical form (Table.source_indexes holds them for MySQL itself)
        if index == "PRIMARY":
            primary = tuple(c for c in columns if c)
        else:
            indexes.append(Index(index, tuple(c for c in columns if c), unique))
    return primary, indexes


def _foreign_keys(cur: Any, name: str) -> list[ForeignKey]:
    cur.execute(
        "SELECT k.constraint_name, k.column_name, k.referenced_table_name, "
        "k.referenced_column_name, r.update_rule, r.delete_rule "
        "FROM information_schema.key_column_usage k JOIN "
        "information_schema.referential_constraints r ON r.constraint_schema = k.table_schema "
        "AND r.constraint_name = k.constraint_name AND r.table_name = k.table_name "
        "WHERE k.table_schema = DATABASE() AND k.table_name = %s "
        "AND k.referenced_table_name IS NOT NULL AND k.referenced_table_schema = k.table_schema "
        "ORDER BY k.constraint_name, k.ordinal_position",  # others: native.foreign_keys_out()
        (name,),
    )
    grouped: dict[str, tuple[str, list[str], list[str], str, str]] = {}
    for constraint, column, ref_table, ref_column, on_update, on_delete in cur.fetchall():
        entry = grouped.setdefault(constraint, (ref_table, [], [], on_delete, on_update))
        entry[1].append(column)
        entry[2].append(ref_column)
    return [
        ForeignKey(tuple(cols), ref, tuple(ref_cols), on_delete, on_update, name)
        for name, (ref, cols, ref_cols, on_delete, on_update) in grouped.items()
    ]
