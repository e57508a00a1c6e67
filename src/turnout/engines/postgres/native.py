"""Reading what a PostgreSQL destination needs to build a table as `pg_dump -s` shows it.

Each object is read in PostgreSQL's own words (format_type, pg_get_expr, pg_get_indexdef,
pg_get_constraintdef) while the session's search_path is the task's schema alone, so names
in that schema come unqualified and the destination resolves them in its own schema. Other
engines never read these fields: they go by the canonical ones (catalog.py).
"""

from __future__ import annotations

from typing import Any

from turnout.model import Index

# A sequence's options as CREATE SEQUENCE and identity columns take them (`q` is pg_sequence;
# %% doubled for the driver).
_SEQUENCE_OPTIONS = (
    "format('START WITH %%s INCREMENT BY %%s MINVALUE %%s MAXVALUE %%s CACHE %%s%%s', q.seqstart, "
    "q.seqincrement, q.seqmin, q.seqmax, q.seqcache, CASE WHEN q.seqcycle THEN ' CYCLE' "
    "ELSE '' END)"
)


FIRST_USER_OID = 16384  # PostgreSQL's FirstNormalObjectId: objects below it are built in


COLUMN_DEFINITIONS_SQL = (
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
    "CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text "
    "END, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid), a.attnotnull, "
    f"a.atttypid >= {FIRST_USER_OID}, "
    f"(SELECT 'SEQUENCE NAME ' || q.seqrelid::regclass::text || ' ' || {_SEQUENCE_OPTIONS} "
    " FROM pg_depend s JOIN pg_sequence q ON q.seqrelid = s.objid "
    " WHERE s.classid = 'pg_class'::regclass AND s.refclassid = 'pg_class'::regclass "
    " AND s.refobjid = a.attrelid AND s.refobjsubid = a.attnum AND s.deptype = 'i') "
    "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
    "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
    "WHERE a.attrelid = %(t)s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
)


def column_definitions(
    rows: list[tuple[Any, ...]], key: tuple[str, ...]
) -> dict[str, tuple[str, bool, bool]]:
    """Each column's definition after its name, whether the database computes it, and
    whether its type is one a user (or an extension) made (rows of COLUMN_DEFINITIONS_SQL).

    An identity column GENERATED ALWAYS outside the key is defined BY DEFAULT: replayed
    updates write its values, which ALWAYS refuses (left_out() says so)."""
    found = {}
    for (name, type_, collation, identity, generated, default, notnull, user_type,
         sequence) in rows:
        parts = [type_]
        if collation:
            parts.append(f"COLLATE {collation}")
        if generated:
            kind = "STORED" if generated == "s" else "VIRTUAL"
            parts.append(f"GENERATED ALWAYS AS ({default}) {kind}")
        elif identity:
            always = "ALWAYS" if identity == "a" and name in key else "BY DEFAULT"
            parts.append(f"GENERATED {always} AS IDENTITY ({sequence})")
        elif default is not None:
            parts.append(f"DEFAULT {default}")
        if notnull:
            parts.append("NOT NULL")
        found[str(name)] = (" ".join(parts), bool(generated), bool(user_type))
    return found


SEQUENCES_SQL = (
    "SELECT DISTINCT q.seqrelid::regclass::text, "
    f"'AS ' || format_type(q.seqtypid, NULL) || ' ' || {_SEQUENCE_OPTIONS}, "
    "coalesce(oa.attname::text, '') "
    "FROM pg_attrdef ad JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass "
    "AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass "
    "JOIN pg_sequence q ON q.seqrelid = d.refobjid "
    "LEFT JOIN pg_depend o ON o.classid = 'pg_class'::regclass AND o.objid = q.seqrelid "
    "AND o.refclassid = 'pg_class'::regclass AND o.deptype = 'a' AND o.refobjid = ad.adrelid "
    "LEFT JOIN pg_attribute oa ON oa.attrelid = o.refobjid AND oa.attnum = o.refobjsubid "
    "WHERE ad.adrelid = %(t)s ORDER BY 1"
)


def sequences(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, str]]:
    """The sequences the table's defaults draw from (serial columns), with the column owning
    each ("" when none of this table's does)."""
    return [(str(n), str(o), str(c)) for n, o, c in rows]


USER_TYPES_SQL = (
    "WITH RECURSIVE used(oid, depth) AS ("
    " SELECT atttypid, 0 FROM pg_attribute WHERE attrelid = %(t)s AND attnum > 0 "
    " AND NOT attisdropped "
    " UNION SELECT x.inner_type, u.depth + 1 FROM used u JOIN pg_type t ON t.oid = u.oid "
    " CROSS JOIN LATERAL (SELECT t.typbasetype AS inner_type WHERE t.typtype = 'd' "
    "   UNION ALL SELECT t.typelem WHERE t.typcategory = 'A' AND t.typelem <> 0 "
    "   UNION ALL SELECT a.atttypid FROM pg_attribute a JOIN pg_class r "
    "   ON r.oid = a.attrelid AND r.relkind = 'c' WHERE a.attrelid = t.typrelid "
    "   AND a.attnum > 0 AND NOT a.attisdropped) x WHERE u.depth < 10) "
    "SELECT t.oid::regtype::text, t.typtype, "
    " array(SELECT quote_literal(e.enumlabel) FROM pg_enum e WHERE e.enumtypid = t.oid "
    "       ORDER BY e.enumsortorder), "
    " format_type(t.typbasetype, t.typtypmod), "
    " CASE WHEN t.typcollation <> b.typcollation THEN t.typcollation::regcollation::text END, "
    " t.typdefault, t.typnotnull, "
    " array(SELECT 'CONSTRAINT ' || quote_ident(c.conname) || ' ' "
    "       || pg_get_constraintdef(c.oid)"
    "       FROM pg_constraint c WHERE c.contypid = t.oid ORDER BY c.conname), "
    " obj_description(t.oid, 'pg_type'), "
    " array(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) "
    "       || CASE WHEN a.attcollation <> at.typcollation THEN "
    "          ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END "
    "       FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid "
    "       WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped "
    "       ORDER BY a.attnum) "
    "FROM (SELECT oid, max(depth) AS depth FROM used GROUP BY oid) u "
    "JOIN pg_type t ON t.oid = u.oid LEFT JOIN pg_type b ON b.oid = t.typbasetype "
    "WHERE t.typtype IN ('e', 'd') OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class r "
    " WHERE r.oid = t.typrelid AND r.relkind = 'c')) ORDER BY u.depth DESC, 1"
)


def user_types(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, str | None]]:
    """Enums, domains and composite types the columns use, directly or through arrays,
    domains and composites, as (name, CREATE statement, comment), the ones others depend on
    first."""
    found = []
    for (name, kind, labels, base, collation, default, notnull, checks,
         comment, attributes) in rows:
        if kind == "e":
            found.append((name, f"CREATE TYPE {name} AS ENUM ({', '.join(labels)})", comment))
            continue
        if kind == "c":
            found.append((name, f"CREATE TYPE {name} AS ({', '.join(attributes)})", comment))
            continue
        parts = [f"CREATE DOMAIN {name} AS {base}"]
        if collation:
            parts.append(f"COLLATE {collation}")
        if default is not None:
            parts.append(f"DEFAULT {default}")
        if notnull:
            parts.append("NOT NULL")
        found.append((name, " ".join(parts + list(checks)), comment))
    return found


INDEXES_SQL = (
    "SELECT ic.relname, i.indisunique, pg_get_indexdef(i.indexrelid), con.contype, "
    "pg_get_constraintdef(con.oid), quote_ident(ic.relname), "
    "array[quote_ident(c.relname), quote_ident(n.nspname) || '.' || quote_ident(c.relname)] "
    "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid "
    "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid "
    "AND con.conrelid = i.indrelid AND con.contype IN ('u', 'x') "
    "WHERE i.indrelid = %(t)s AND NOT i.indisprimary ORDER BY ic.relname"
)


def indexes(rows: list[tuple[Any, ...]]) -> list[Index]:
    """Every index but the primary key's, UNIQUE and EXCLUDE constraints as constraints."""
    found = []
    for name, unique, indexdef, contype, condef, qname, relnames in rows:
        if contype:
            found.append(Index(name, (), unique, definition=condef, constraint=True))
            continue
        found.append(Index(name, (), unique, definition=_after_table(indexdef, unique, qname,
                                                                       relnames)))
    return found


def _after_table(indexdef: str, unique: bool, qname: str, relnames: list[str]) -> str:
    """`USING btree (…) …`: pg_get_indexdef without the part naming the index and table."""
    head = f"CREATE {'UNIQUE ' if unique else ''}INDEX {qname} ON "
    if not indexdef.startswith(head):
        return ""
    rest = indexdef[len(head):].removeprefix("ONLY ")
    for relname in relnames:
        if rest.startswith(relname + " USING "):
            return rest[len(relname) + 1:]
    return ""


PRIMARY_KEY_NAME_SQL = (
    "SELECT conname FROM pg_constraint WHERE conrelid = %(t)s AND contype = 'p'"
)


def primary_key_name(rows: list[tuple[Any, ...]]) -> str:
    return str(rows[0][0]) if rows else ""


COMMENTS_SQL = (
    "SELECT 'TABLE', '', obj_description(%(t)s, 'pg_class') "
    "UNION ALL SELECT 'COLUMN', attname, col_description(%(t)s, attnum) FROM pg_attribute "
    "  WHERE attrelid = %(t)s AND attnum > 0 AND NOT attisdropped "
    "UNION ALL SELECT 'INDEX', ic.relname, obj_description(ic.oid, 'pg_class') "
    "  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = %(t)s "
    "UNION ALL SELECT 'CONSTRAINT', conname, obj_description(oid, 'pg_constraint') "
    "  FROM pg_constraint WHERE conrelid = %(t)s"
)


def comments(rows: list[tuple[Any, ...]]) -> list[tuple[str, str, str]]:
    """Comments on the table, its columns, its indexes and its constraints."""
    return [(k, str(n), str(t)) for k, n, t in rows if t is not None]


OPTIONS_SQL = (
    "SELECT relreplident, relpersistence, reloptions FROM pg_class WHERE oid = %(t)s"
)


def options(rows: list[tuple[Any, ...]]) -> str:
    """ALTER TABLE actions for what pg_dump shows of the table itself: its replica identity,
    whether it is logged, and its storage parameters."""
    identity, persistence, parameters = rows[0]
    actions = []
    if identity in ("f", "n"):
        actions.append("REPLICA IDENTITY " + ("FULL" if identity == "f" else "NOTHING"))
    if persistence == "u":
        actions.append("SET UNLOGGED")
    if parameters:
        actions.append(f"SET ({', '.join(parameters)})")
    return ", ".join(actions)


LEFT_OUT_SQL = (
    "SELECT 'trigger ' || tgname FROM pg_trigger WHERE tgrelid = %(t)s AND NOT tgisinternal "
    "UNION ALL SELECT 'rule ' || rulename FROM pg_rewrite "
    "  WHERE ev_class = %(t)s AND rulename <> '_RETURN' "
    "UNION ALL SELECT 'row security policy ' || polname FROM pg_policy WHERE polrelid = %(t)s "
    "UNION ALL SELECT 'row level security' FROM pg_class WHERE oid = %(t)s "
    "  AND relrowsecurity "
    "UNION ALL SELECT 'partitioning (PARTITION BY ' || pg_get_partkeydef(oid) || ')' "
    "  FROM pg_class WHERE oid = %(t)s AND relkind = 'p' "
    "UNION ALL SELECT 'replica identity by index' FROM pg_class WHERE oid = %(t)s "
    "  AND relreplident = 'i' "
    "UNION ALL SELECT 'GENERATED ALWAYS of identity column ' || quote_ident(a.attname) "
    "  || ' (BY DEFAULT there, so that replayed updates can write it)' "
    "  FROM pg_attribute a WHERE a.attrelid = %(t)s AND a.attidentity = 'a' "
    "  AND a.attnum <> ALL (coalesce((SELECT i.indkey::int2[] FROM pg_index i "
    "  WHERE i.indrelid = %(t)s AND i.indisprimary), '{}')) "
    "UNION ALL SELECT 'foreign key ' || quote_ident(con.conname) || ' (to ' "
    "  || con.confrelid::regclass::text || ', in another schema)' FROM pg_constraint con "
    "  JOIN pg_class rc ON rc.oid = con.confrelid WHERE con.conrelid = %(t)s "
    "  AND con.contype = 'f' AND rc.relnamespace <> con.connamespace "
    "UNION ALL SELECT concat_ws(', ', CASE WHEN a.attstattarget >= 0 THEN "
    "  'statistics target ' || a.attstattarget::text END, "
    "  CASE WHEN a.attstorage <> t.typstorage THEN 'storage ' || a.attstorage::text END, "
    "  CASE WHEN a.attcompression <> '' THEN 'compression ' || a.attcompression::text END) "
    "  || ' of column ' || quote_ident(a.attname) "
    "  FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %(t)s "
    "  AND a.attnum > 0 AND NOT a.attisdropped AND (a.attstattarget >= 0 "
    "  OR a.attstorage <> t.typstorage OR a.attcompression <> '') "
    "UNION ALL SELECT 'inheritance from ' || inhparent::regclass::text FROM pg_inherits "
    "  WHERE inhrelid = %(t)s"
)


def left_out(rows: list[tuple[Any, ...]]) -> list[str]:
    """What the table has that turnout does not build on the destination."""
    return [str(r[0]) for r in rows]


def foreign_key_clauses(matchtype: str, deferrable: bool, deferred: bool, valid: bool) -> str:
    """What a foreign key says besides its columns and actions, in PostgreSQL's order."""
    parts = {"f": ["MATCH FULL"], "p": ["MATCH PARTIAL"]}.get(matchtype, [])
    if deferrable:
        parts.append("DEFERRABLE INITIALLY DEFERRED" if deferred else "DEFERRABLE")
    if not valid:
        parts.append("NOT VALID")
    return " ".join(parts)
