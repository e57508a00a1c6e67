"""DDL capture on a PostgreSQL source: an event trigger writes each DDL into a table of
turnout's that the task's publication carries, so the DDL arrives in the change stream at
its exact place, between the rows committed before and after it.

pgoutput carries no DDL (only Relation messages with the new column names). At
`ddl_command_end` the trigger writes one row per altered table of the schema into
_turnout_ddl: the statement, and the table's layout right after it (columns with their
types as information_schema shows them, primary key, plain indexes), read in the DDL's
own transaction, so a later DDL cannot blur it. The layout before is kept in
_turnout_ddl_layout (not published); columns are matched by attnum, so the trigger
tells a RENAME COLUMN from a drop and an add.

An event trigger needs a superuser (PostgreSQL has no owner-installed event trigger).
Without one the task keeps the older behaviour: a DDL on a moved table stops it with
the statement to make on the destination (pgoutput.py). ddl_note() says which, once.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from turnout.engines.postgres.catalog import column_of
from turnout.engines.postgres.dialect import qualified, quote
from turnout.model import Ddl, Index, Table

DDL_TABLE = "_turnout_ddl"
LAYOUT_TABLE = "_turnout_ddl_layout"


def _trigger_name(schema: str) -> str:
    return f"turnout_ddl_{schema}"[:63]


def _drop_trigger_name(schema: str) -> str:
    return f"turnout_ddl_drop_{schema}"[:63]


def _statements(schema: str) -> list[str]:
    s = quote(schema)
    literal = "'" + schema.replace("'", "''") + "'"
    return [
        f"CREATE TABLE IF NOT EXISTS {s}.{DDL_TABLE} (id bigserial PRIMARY KEY, "
        "at timestamptz NOT NULL DEFAULT clock_timestamp(), table_oid oid NOT NULL, "
        "table_name text NOT NULL, tag text NOT NULL, statement text NOT NULL, "
        "layout jsonb, renamed jsonb)",
        # a table made by an older turnout, before the column was there
        f"ALTER TABLE {s}.{DDL_TABLE} ADD COLUMN IF NOT EXISTS renamed jsonb",
        f"CREATE TABLE IF NOT EXISTS {s}.{LAYOUT_TABLE} (table_oid oid PRIMARY KEY, "
        "layout jsonb NOT NULL)",
        f"""CREATE OR REPLACE FUNCTION {s}._turnout_layout(rel oid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = pg_catalog AS $f$
SELECT jsonb_build_object(
  'name', r.relname, 'schema', n.nspname, 'unlogged', r.relpersistence = 'u',
  'columns', coalesce((SELECT jsonb_agg(jsonb_build_array(a.attnum, a.attname, c.data_type,
      c.character_maximum_length, c.numeric_precision, c.numeric_scale, c.datetime_precision,
      NOT a.attnotnull, c.column_default, c.is_identity = 'YES', c.is_generated = 'ALWAYS',
      format_type(a.atttypid, a.atttypmod),
      array(SELECT e.enumlabel FROM pg_enum e WHERE e.enumtypid = a.atttypid
            ORDER BY e.enumsortorder)) ORDER BY a.attnum)
    FROM pg_attribute a JOIN information_schema.columns c ON c.table_schema = n.nspname
      AND c.table_name = r.relname AND c.column_name = a.attname
    WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped), '[]'),
  'key', coalesce((SELECT jsonb_agg(a.attname ORDER BY array_position(i.indkey, a.attnum))
    FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = rel AND i.indisprimary), '[]'),
  'indexes', coalesce((SELECT jsonb_agg(jsonb_build_array(ic.relname,
      array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(num, ord)
            JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
            WHERE k.ord <= i.indnkeyatts ORDER BY ord), i.indisunique) ORDER BY ic.relname)
    FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = rel AND NOT i.indisprimary AND i.indexprs IS NULL
      AND i.indpred IS NULL AND 0 <> ALL (i.indkey)), '[]'))
FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE r.oid = rel
$f$""",
        f"""CREATE OR REPLACE FUNCTION {s}._turnout_ddl_record() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
DECLARE
  cmd record; rel oid; lay jsonb; before jsonb; ren jsonb; pub text;
BEGIN
  IF current_setting('turnout.ddl_own', true) = 'on' THEN
    RETURN;  -- the REPLICA IDENTITY this function sets below
  END IF;
  FOR cmd IN SELECT * FROM pg_event_trigger_ddl_commands()
             WHERE schema_name = {literal}
               AND object_type IN ('table', 'table column', 'index') LOOP
    rel := CASE WHEN cmd.object_type = 'index'
                THEN (SELECT indrelid FROM pg_index WHERE indexrelid = cmd.objid)
                ELSE cmd.objid END;
    CONTINUE WHEN rel IS NULL
      OR (SELECT relname FROM pg_class WHERE oid = rel) LIKE '\\_turnout%';
    lay := {s}._turnout_layout(rel);
    SELECT l.layout INTO before FROM {s}.{LAYOUT_TABLE} l WHERE l.table_oid = rel;
    IF before IS NOT NULL THEN
      SELECT coalesce(jsonb_object_agg(o->>1, n->>1), '{{}}') INTO ren
        FROM jsonb_array_elements(before->'columns') o
        JOIN jsonb_array_elements(lay->'columns') n ON (o->>0) = (n->>0)
        WHERE o->>1 <> n->>1;
    ELSE
      ren := NULL;
    END IF;
    IF cmd.command_tag = 'CREATE TABLE' AND NOT (lay->>'unlogged')::boolean THEN
      -- (an UNLOGGED table writes no WAL: no publication takes it)
      -- a new table joins the tasks' publications in its own transaction, so none of its
      -- rows is missed; a task whose --tables it does not match ignores them. One without
      -- a key first gets REPLICA IDENTITY FULL, as the precheck asks of such a table at a
      -- task's start: its updates and deletes then carry the whole old row, and the
      -- application's UPDATEs work in a publication
      IF jsonb_array_length(lay->'key') = 0 THEN
        PERFORM set_config('turnout.ddl_own', 'on', true);
        EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', rel::regclass);
        PERFORM set_config('turnout.ddl_own', 'off', true);
      END IF;
      FOR pub IN SELECT DISTINCT pubname FROM pg_publication_tables
                 WHERE schemaname = {literal} AND tablename = '{DDL_TABLE}' LOOP
        EXECUTE format('ALTER PUBLICATION %I ADD TABLE %s', pub, rel::regclass);
      END LOOP;
    END IF;
    INSERT INTO {s}.{LAYOUT_TABLE} VALUES (rel, lay)
      ON CONFLICT (table_oid) DO UPDATE SET layout = EXCLUDED.layout;
    INSERT INTO {s}.{DDL_TABLE} (table_oid, table_name, tag, statement, layout, renamed)
      VALUES (rel, (SELECT relname FROM pg_class WHERE oid = rel), cmd.command_tag,
              current_query(), lay || jsonb_build_object('was', before->>'name'), ren);
  END LOOP;
END $f$""",
        f"""CREATE OR REPLACE FUNCTION {s}._turnout_ddl_dropped() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $f$
DECLARE
  obj record;
BEGIN
  FOR obj IN SELECT * FROM pg_event_trigger_dropped_objects()
             WHERE object_type = 'table' AND schema_name = {literal} AND NOT is_temporary LOOP
    CONTINUE WHEN obj.object_name LIKE '\\_turnout%';
    DELETE FROM {s}.{LAYOUT_TABLE} WHERE table_oid = obj.objid;
    INSERT INTO {s}.{DDL_TABLE} (table_oid, table_name, tag, statement, layout, renamed)
      VALUES (obj.objid, obj.object_name, 'DROP TABLE', current_query(), NULL, NULL);
  END LOOP;
END $f$""",
    ]


def install(conn: Any, schema: str, tables: list[str]) -> bool:
    """Install the trigger (or keep it) and note the layout of `tables` as it is now; False
    when this account may not (no superuser) and no trigger is there."""
    trigger = _trigger_name(schema)
    with conn.transaction():
        # tasks on one database install at once: one at a time, each seeing the last's
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('turnout_ddl_capture'))")
        have = conn.execute("SELECT 1 FROM pg_event_trigger WHERE evtname = %s",
                            (trigger,)).fetchone()
        mighty = superuser(conn)
        if have is None and not mighty:
            return False
        if mighty:  # made again: a newer turnout's trigger replaces an older one's
            for sql in _statements(schema):
                conn.execute(sql)
        if have is None:
            conn.execute(f"CREATE EVENT TRIGGER {quote(trigger)} ON ddl_command_end "
                         f"EXECUTE FUNCTION {quote(schema)}._turnout_ddl_record()")
        if mighty:
            _make_drop_trigger(conn, schema)
        for name in tables:
            conn.execute(
                f"INSERT INTO {qualified(schema, LAYOUT_TABLE)} "
                f"SELECT %s::regclass, {quote(schema)}._turnout_layout(%s::regclass) "
                "ON CONFLICT (table_oid) DO UPDATE SET layout = EXCLUDED.layout",
                (qualified(schema, name), qualified(schema, name)))
        # every other table's name too, so a table renamed into --tables is told as such
        conn.execute(
            f"INSERT INTO {qualified(schema, LAYOUT_TABLE)} "
            f"SELECT c.oid, {quote(schema)}._turnout_layout(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relkind IN ('r', 'p') AND c.relname NOT LIKE '\\_turnout%%' "
            "ON CONFLICT (table_oid) DO NOTHING", (schema,))
    return True


def refresh(conn: Any, schema: str) -> bool:
    """Whether the trigger is there, for a task that resumes. A superuser makes its functions
    again first, so that a task resumed under a newer turnout records DDL the newer way (an
    older trigger left a new table without a key out of the publication); without one, the
    trigger stays as it is."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('turnout_ddl_capture'))")
        if not installed(conn, schema):
            return False
        if superuser(conn):
            for sql in _statements(schema):
                conn.execute(sql)
            _make_drop_trigger(conn, schema)
    return True


def _make_drop_trigger(conn: Any, schema: str) -> None:
    """The sql_drop trigger, unless there (an older turnout made none)."""
    dropping = _drop_trigger_name(schema)
    if conn.execute("SELECT 1 FROM pg_event_trigger WHERE evtname = %s",
                    (dropping,)).fetchone() is None:
        conn.execute(f"CREATE EVENT TRIGGER {quote(dropping)} ON sql_drop "
                     f"EXECUTE FUNCTION {quote(schema)}._turnout_ddl_dropped()")


def installed(conn: Any, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_event_trigger WHERE evtname = %s",
                        (_trigger_name(schema),)).fetchone() is not None


def remove_unused(conn: Any, schema: str) -> None:
    """Drop the trigger and its tables once no publication of turnout's carries them."""
    used = conn.execute(
        "SELECT 1 FROM pg_publication_tables WHERE schemaname = %s AND tablename = %s",
        (schema, DDL_TABLE)).fetchone()
    if used is not None or not installed(conn, schema):
        return
    with conn.transaction():
        conn.execute(f"DROP EVENT TRIGGER IF EXISTS {quote(_trigger_name(schema))}")
        conn.execute(f"DROP EVENT TRIGGER IF EXISTS {quote(_drop_trigger_name(schema))}")
        for table in (DDL_TABLE, LAYOUT_TABLE):
            conn.execute(f"DROP TABLE IF EXISTS {qualified(schema, table)}")
        for function in ("_turnout_ddl_record()", "_turnout_ddl_dropped()",
                         "_turnout_layout(oid)"):
            conn.execute(f"DROP FUNCTION IF EXISTS {quote(schema)}.{function}")


def superuser(conn: Any) -> bool:
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def ahead(conn: Any, endpoint: object, schema: str) -> str:
    """What a task starting now will do with DDL: carry it when the trigger is there or this
    account may make it, stop at it otherwise."""
    return note(installed(conn, schema) or superuser(conn), endpoint, schema)


def note(enabled: bool, endpoint: object, schema: str) -> str:
    """What the task does with DDL on this source, for its events."""
    if enabled:
        return (f"DDL on {endpoint} is captured by the event trigger "
                f"{_trigger_name(schema)} and applied in order with the rows")
    return (f"DDL on {endpoint} stops the task until the destination has the same change: "
            "installing the event trigger that carries DDL needs a superuser (start the "
            "task once as one, or have one create it), see docs/ddl.md")


def created(values: dict[str, Any]) -> bool:
    """Whether a row of _turnout_ddl is the creation of its table."""
    return str(values.get("tag", "")).startswith(("CREATE TABLE", "SELECT INTO"))


def unlogged(values: dict[str, Any]) -> bool:
    """Whether the row's table is UNLOGGED: it writes no WAL, so no row of it is streamed."""
    layout = json.loads(values["layout"]) if values.get("layout") else {}
    return bool(layout.get("unlogged"))


def filled_when_created(values: dict[str, Any]) -> bool:
    """Whether the row is a CREATE TABLE AS or SELECT INTO: the rows it wrote come before the
    trigger's row and before the table is in any publication, so the stream lacks them."""
    return str(values.get("tag", "")) in ("CREATE TABLE AS", "SELECT INTO")


def record(values: dict[str, Any], table: Table, id_prefix: str) -> Ddl:
    """A row of _turnout_ddl (values as text) as a Ddl of `table`, the task's table as the
    stream had it before."""
    layout = json.loads(values["layout"]) if values.get("layout") else None
    renamed = json.loads(values["renamed"]) if values.get("renamed") else None
    after = None if layout is None else layout_table(table, layout)
    return Ddl(id=f"{id_prefix}{values['id']}", statement=values["statement"], after=after,
               renamed=None if renamed is None else tuple(sorted(renamed.items())))


def renamed_from(values: dict[str, Any]) -> str | None:
    """The table's name before the DDL when the DDL renamed it (ALTER TABLE … RENAME TO),
    else None; None too for a table whose earlier name the trigger never noted."""
    layout = json.loads(values["layout"]) if values.get("layout") else {}
    was = layout.get("was")
    return str(was) if was and was != values["table_name"] else None


def layout_table(table: Table, layout: dict[str, Any]) -> Table:
    """`table` with the columns, key and indexes the trigger recorded."""
    columns = []
    for row in layout["columns"]:
        generated, column = column_of(tuple(row[1:]), "")
        if not generated:
            columns.append(column)
    indexes = tuple(Index(n, tuple(cols), bool(u)) for n, cols, u in layout["indexes"])
    return replace(table, columns=tuple(columns), primary_key=tuple(layout["key"]),
                   indexes=indexes)
