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
    return reflect_tables(cur, schema, [name])[0]


def reflect_tables(cur: Any, schema: str, names: list[str]) -> list[Table]:
    """The tables `names`, each catalog read made once for all of them: with a thousand
    tables, a dozen round trips per table cost more than the reads themselves."""
    cur.execute(
        "SELECT c.relname, c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = ANY (%s)",
        (schema, names),
    )
    oids = dict(cur.fetchall())
    for name in names:
        if name not in oids:
            raise NotFound(f"table {schema}.{name} does not exist")
    every = [oids[n] for n in names]
    keys = {oid: tuple(r[0] for r in rows) for oid, rows in _per_table(
        cur, PRIMARY_KEY_SQL, every).items()}
    definitions = {oid: native.column_definitions(rows, keys[oid]) for oid, rows in _per_table(
        cur, native.COLUMN_DEFINITIONS_SQL, every).items()}
    # two catalog reads only for tables where they can find anything (~5 of 12 ms a table)
    own_types = [o for o in every if any(user for _, _, user in definitions[o].values())]
    draws = [o for o in every if any("::regclass" in d for d, _, _ in definitions[o].values())]
    read = {sql: _per_table(cur, sql, every) for sql in (
        COLUMNS_SQL, INDEXES_SQL, FOREIGN_KEYS_SQL, CHECKS_SQL, native.INDEXES_SQL,
        native.PRIMARY_KEY_NAME_SQL, native.OPTIONS_SQL, native.COMMENTS_SQL,
        native.LEFT_OUT_SQL)}
    types = {o: native.user_types(rows) for o, rows in _per_table(
        cur, native.USER_TYPES_SQL, own_types).items()}
    sequences = _per_table(cur, native.SEQUENCES_SQL, draws)
    return [_table(schema, name, oids[name], keys[oids[name]], definitions[oids[name]],
                   types.get(oids[name], []), sequences.get(oids[name]), read)
            for name in names]


def _per_table(cur: Any, sql: str, oids: list[int]) -> dict[int, list[tuple[Any, ...]]]:
    """Rows of the one-table query `sql` (its table's oid written %(t)s) for every table in
    `oids` at once, each table's in the order the query gives them."""
    if not oids:
        return {}
    inner = sql.replace("%(t)s", "for_rel.rel_oid")
    cur.execute(
        "SELECT for_rel.rel_oid, q.* FROM unnest(%(oids)s::oid[]) WITH ORDINALITY "
        "AS for_rel(rel_oid, rel_n) CROSS JOIN LATERAL (SELECT s.*, row_number() OVER () "
        f"AS rel_row FROM ({inner}) s) q ORDER BY for_rel.rel_n, q.rel_row",
        {"oids": oids},
    )
    found: dict[int, list[tuple[Any, ...]]] = {oid: [] for oid in oids}
    for row in cur.fetchall():
        found[row[0]].append(tuple(row[1:-1]))
    return found


def _table(schema: str, name: str, oid: int, primary_key: tuple[str, ...],
           definitions: dict[str, tuple[str, bool, bool]],
           types: list[tuple[str, str, str | None]],
           sequences: list[tuple[Any, ...]] | None,
           read: dict[str, dict[int, list[tuple[Any, ...]]]]) -> Table:
    """One table from its rows of every catalog read."""
    columns, generated = _columns(read[COLUMNS_SQL][oid], definitions)
    type_comments = [("TYPE", n, c) for n, _, c in types if c is not None]
    return Table(
        name=name,
        schema=schema,
        origin="postgresql",
        columns=tuple(columns),
        primary_key=primary_key,
        indexes=tuple(_indexes(read[INDEXES_SQL][oid])),
        foreign_keys=tuple(_foreign_keys(read[FOREIGN_KEYS_SQL][oid])),
        checks=tuple((str(n), str(d)) for n, d in read[CHECKS_SQL][oid]),
        generated=tuple(generated),
        source_indexes=tuple(native.indexes(read[native.INDEXES_SQL][oid])),
        primary_key_name=native.primary_key_name(read[native.PRIMARY_KEY_NAME_SQL][oid]),
        options=native.options(read[native.OPTIONS_SQL][oid]),
        comments=tuple(native.comments(read[native.COMMENTS_SQL][oid]) + type_comments),
        types=tuple((n, statement) for n, statement, _ in types),
        sequences=tuple(native.sequences(sequences)) if sequences is not None else (),
        left_out=tuple(native.left_out(read[native.LEFT_OUT_SQL][oid])),
    )


COLUMNS_SQL = (
    "SELECT c.column_name, c.data_type, c.character_maximum_length, c.numeric_precision, "
    "c.numeric_scale, c.datetime_precision, c.is_nullable = 'YES', c.column_default, "
    "c.is_identity = 'YES', c.is_generated = 'ALWAYS', format_type(a.atttypid, a.atttypmod), "
    "array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = a.atttypid "
    "      ORDER BY e.enumsortorder) "
    "FROM information_schema.columns c JOIN pg_attribute a "
    "ON a.attrelid = %(t)s AND a.attname = c.column_name "
    "WHERE (c.table_schema, c.table_name) = (SELECT n.nspname, r.relname FROM pg_class r "
    "JOIN pg_namespace n ON n.oid = r.relnamespace WHERE r.oid = %(t)s) "
    "ORDER BY c.ordinal_position"
)


def _columns(
    rows: list[tuple[Any, ...]], definitions: dict[str, tuple[str, bool, bool]]
) -> tuple[list[Column], list[tuple[int, Column]]]:
    """The columns whose values move, and the ones the database computes with their places."""
    columns = []
    generated_columns = []
    for place, row in enumerate(rows):
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


PRIMARY_KEY_SQL = (
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
    "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
    "WHERE i.indrelid = %(t)s AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)"
)

INDEXES_SQL = (
    "SELECT ic.relname, i.indisunique, "
    "array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(num, ord) "
    "      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num "
    "      WHERE k.ord <= i.indnkeyatts ORDER BY ord) "  # INCLUDE columns are no key
    "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
    "WHERE i.indrelid = %(t)s AND NOT i.indisprimary AND i.indexprs IS NULL "
    "AND i.indpred IS NULL AND 0 <> ALL (i.indkey) AND NOT EXISTS (SELECT 1 FROM "
    "pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype = 'x') "
    "ORDER BY ic.relname"
)

CHECKS_SQL = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE conrelid = %(t)s AND contype = 'c' ORDER BY conname"
)

FOREIGN_KEYS_SQL = (
    "SELECT con.conname, rc.relname, con.confupdtype, con.confdeltype, "
    "array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, ord) "
    "      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num "
    "      ORDER BY ord), "
    "array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(num, ord) "
    "      JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num "
    "      ORDER BY ord), con.confmatchtype, con.condeferrable, con.condeferred, "
    "con.convalidated "
    "FROM pg_constraint con JOIN pg_class rc ON rc.oid = con.confrelid "
    "WHERE con.conrelid = %(t)s AND con.contype = 'f' "
    "AND rc.relnamespace = con.connamespace "  # others: native.left_out() names them
    "ORDER BY con.conname"
)


def _indexes(rows: list[tuple[Any, ...]]) -> list[Index]:
    return [Index(name=n, columns=tuple(cols), unique=u) for n, u, cols in rows]


def _foreign_keys(rows: list[tuple[Any, ...]]) -> list[ForeignKey]:
    return [
        ForeignKey(tuple(cols), ref, tuple(ref_cols), _ACTIONS[deltype], _ACTIONS[updtype],
                   str(name), native.foreign_key_clauses(match, deferrable, deferred, valid))
        for (name, ref, updtype, deltype, cols, ref_cols, match, deferrable, deferred,
             valid) in rows
    ]
