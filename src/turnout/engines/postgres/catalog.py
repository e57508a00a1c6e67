"""Reading PostgreSQL's catalog into turnout's Table form."""

from __future__ import annotations

from typing import Any

from turnout.engines.postgres import native
from turnout.engines.postgres.dialect import canonical_type, portable_default
from turnout.errors import NotFound
from turnout.model import Column, ForeignKey, Index, Table
from turnout.types import CanonicalType, Kind

TURNOUT_PREFIX = "_turnout"
_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def list_tables(cur: Any, schema: str) -> list[str]:
    cur.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "ORDER BY c.relname",
        (schema,),
    )
    return [r[0] for r in cur.fetchall() if not r[0].startswith(TURNOUT_PREFIX)]


def reflect_table(cur: Any, schema: str, name: str) -> Table:
    cur.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    )
    row = cur.fetchone()
    if row is None:
        raise NotFound(f"table {schema}.{name} does not exist")
    oid = row[0]
    primary_key = _primary_key(cur, oid)
    definitions = native.column_definitions(cur, oid, primary_key)
    columns, generated = _columns(cur, schema, name, oid, definitions)
    # two catalog reads skipped where they cannot find anything (~5 of 12 ms a table)
    own_types = any(user_type for _, _, user_type in definitions.values())
    types = native.user_types(cur, oid) if own_types else []
    draws = any("::regclass" in text for text, _, _ in definitions.values())
    type_comments = [("TYPE", n, c) for n, _, c in types if c is not None]
    return Table(
        name=name,
        schema=schema,
        origin="postgresql",
        columns=tuple(columns),
        primary_key=primary_key,
        indexes=tuple(_indexes(cur, oid)),
        foreign_keys=tuple(_foreign_keys(cur, oid)),
        checks=tuple(_checks(cur, oid)),
        generated=tuple(generated),
        source_indexes=tuple(native.indexes(cur, oid)),
        primary_key_name=native.primary_key_name(cur, oid),
        options=native.options(cur, oid),
        comments=tuple(native.comments(cur, oid) + type_comments),
        types=tuple((n, statement) for n, statement, _ in types),
        sequences=tuple(native.sequences(cur, oid)) if draws else (),
        left_out=tuple(native.left_out(cur, oid)),
    )


def _columns(
    cur: Any, schema: str, name: str, oid: int, definitions: dict[str, tuple[str, bool, bool]]
) -> tuple[list[Column], list[tuple[int, Column]]]:
    """The columns whose values move, and the ones the database computes with their places."""
    cur.execute(
        "SELECT c.column_name, c.data_type, c.character_maximum_length, c.numeric_precision, "
        "c.numeric_scale, c.datetime_precision, c.is_nullable = 'YES', c.column_default, "
        "c.is_identity = 'YES', c.is_generated = 'ALWAYS', format_type(a.atttypid, a.atttypmod), "
        "array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = a.atttypid "
        "      ORDER BY e.enumsortorder) "
        "FROM information_schema.columns c JOIN pg_attribute a "
        "ON a.attrelid = %s AND a.attname = c.column_name "
        "WHERE c.table_schema = %s AND c.table_name = %s ORDER BY c.ordinal_position",
        (oid, schema, name),
    )
    columns = []
    generated_columns = []
    for place, row in enumerate(cur.fetchall()):
        generated, column = column_of(row, definitions.get(row[0], ("", False, False))[0])
        if generated:  # recomputed by the destination
            generated_columns.append((place, column))
        else:
            columns.append(column)
    return columns, generated_columns


def column_of(row: tuple[Any, ...], definition: str) -> tuple[bool, Column]:
    """One column from its information_schema fields (name, data_type, lengths, nullable,
    default, identity, generated, format_type, enum labels): whether the database computes
    it, and the column. The DDL trigger records the same fields (ddlcapture.py)."""
    (col, data_type, length, precision, scale, dt_precision, nullable, default,
     identity, generated, native_type, labels) = row
    ctype = canonical_type(data_type, length, precision, scale, dt_precision)
    if labels:
        ctype = CanonicalType(Kind.ENUM, values=tuple(labels))
    if generated:
        return True, Column(col, ctype or CanonicalType(Kind.ANY), native_type=native_type,
                            definition=definition)
    serial = bool(default and default.startswith("nextval("))
    ctype = ctype or CanonicalType(Kind.ANY)
    return False, Column(
        name=col,
        type=ctype,
        nullable=nullable,
        default=None if serial else default,
        autoincrement=identity or serial,
        native_type=native_type,
        definition=definition,
        portable_default=None if serial else portable_default(default, ctype),
    )


def _primary_key(cur: Any, oid: int) -> tuple[str, ...]:
    cur.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
        "WHERE i.indrelid = %s AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
        (oid,),
    )
    return tuple(r[0] for r in cur.fetchall())


def _indexes(cur: Any, oid: int) -> list[Index]:
    cur.execute(
        "SELECT ic.relname, i.indisunique, "
        "array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(num, ord) "
        "      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num "
        "      WHERE k.ord <= i.indnkeyatts ORDER BY ord) "  # INCLUDE columns are no key
        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
        "WHERE i.indrelid = %s AND NOT i.indisprimary AND i.indexprs IS NULL "
        "AND i.indpred IS NULL AND 0 <> ALL (i.indkey) AND NOT EXISTS (SELECT 1 FROM "
        "pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x') "
        "ORDER BY ic.relname",
        (oid,),
    )
    return [Index(name=n, columns=tuple(cols), unique=u) for n, u, cols in cur.fetchall()]


def _checks(cur: Any, oid: int) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s AND contype = 'c' ORDER BY conname", (oid,),
    )
    return [(str(name), str(definition)) for name, definition in cur.fetchall()]


def _foreign_keys(cur: Any, oid: int) -> list[ForeignKey]:
    cur.execute(
        "SELECT con.conname, rc.relname, con.confupdtype, con.confdeltype, "
        "array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) "
        "      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num "
        "      ORDER BY ord), "
        "array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) "
        "      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num "
        "      ORDER BY ord), con.confmatchtype, con.condeferrable, con.condeferred, "
        "con.convalidated "
        "FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid "
        "WHERE con.conrelid = %s AND con.contype = 'f' "
        "AND rc.relnamespace = con.connamespace "  # others: native.left_out() names them
        "ORDER BY con.conname",
        (oid,),
    )
    return [
        ForeignKey(tuple(cols), ref, tuple(ref_cols), _ACTIONS[deltype], _ACTIONS[updtype],
                   str(name), native.foreign_key_clauses(match, deferrable, deferred, valid))
        for (name, ref, updtype, deltype, cols, ref_cols, match, deferrable, deferred,
             valid) in cur.fetchall()
    ]
