"""What to say to PostgreSQL: quoting, type names and DDL. No connections here."""

from __future__ import annotations

from turnout.engines import defaults
from turnout.model import Column, Default, ForeignKey, Index, Table
from turnout.types import CanonicalType, Kind


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    return f"{quote(schema)}.{quote(name)}"


def column_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(quote(n) for n in names)


_SIMPLE = {
    "smallint": Kind.INT16, "integer": Kind.INT32, "bigint": Kind.INT64,
    "real": Kind.FLOAT32, "double precision": Kind.FLOAT64, "boolean": Kind.BOOLEAN,
    "text": Kind.TEXT, "bytea": Kind.BINARY, "date": Kind.DATE, "interval": Kind.INTERVAL,
    "uuid": Kind.UUID, "json": Kind.JSON, "jsonb": Kind.JSON, "inet": Kind.INET,
}
_TIMES = {
    "time without time zone": Kind.TIME, "time with time zone": Kind.TIMETZ,
    "timestamp without time zone": Kind.TIMESTAMP, "timestamp with time zone": Kind.TIMESTAMPTZ,
}


def canonical_type(
    data_type: str,
    length: int | None = None,
    precision: int | None = None,
    scale: int | None = None,
    datetime_precision: int | None = None,
) -> CanonicalType | None:
    """Map information_schema's description of a column; None when there is no canonical form
    (arrays, user enums and other types that only PostgreSQL holds)."""
    if data_type in _SIMPLE:
        return CanonicalType(_SIMPLE[data_type])
    if data_type in _TIMES:
        default = 6  # PostgreSQL's own default precision
        p = datetime_precision if datetime_precision not in (None, default) else None
        return CanonicalType(_TIMES[data_type], precision=p)
    if data_type == "numeric":
        return CanonicalType(Kind.DECIMAL, precision=precision, scale=scale if precision else None)
    if data_type == "character varying":
        return CanonicalType(Kind.VARCHAR, length=length) if length else CanonicalType(Kind.TEXT)
    if data_type == "character":
        return CanonicalType(Kind.CHAR, length=length or 1)
    return None


def type_name(ctype: CanonicalType) -> str:
    """The PostgreSQL type for a canonical type; every canonical type has one."""
    k = ctype.kind
    if k is Kind.INT64 and ctype.unsigned:
        return "numeric(20)"  # bigint unsigned does not fit bigint
    if ctype.unsigned and ctype.is_integer:
        return {Kind.INT16: "integer", Kind.INT32: "bigint"}[k]
    fixed = {
        Kind.BOOLEAN: "boolean", Kind.INT16: "smallint", Kind.INT32: "integer",
        Kind.INT64: "bigint", Kind.FLOAT32: "real", Kind.FLOAT64: "double precision",
        Kind.TEXT: "text", Kind.BINARY: "bytea", Kind.DATE: "date", Kind.INTERVAL: "interval",
        Kind.UUID: "uuid", Kind.JSON: "jsonb", Kind.ANY: "text", Kind.INET: "inet",
        Kind.GEOMETRY: "bytea",  # refused before (type_problem) unless cast to text
        Kind.ENUM: "text",  # create_table_sql names the enum type it creates instead
    }
    if k in fixed:
        return fixed[k]
    if k is Kind.CHAR:
        return f"character({ctype.length or 1})"
    if k is Kind.VARCHAR:
        return f"character varying({ctype.length})" if ctype.length else "text"
    if k is Kind.DECIMAL:
        if ctype.precision is None:
            return "numeric"
        return f"numeric({ctype.precision},{ctype.scale or 0})"
    precision = f"({ctype.precision})" if ctype.precision is not None else ""
    return {
        Kind.TIME: f"time{precision} without time zone",
        Kind.TIMETZ: f"time{precision} with time zone",
        Kind.TIMESTAMP: f"timestamp{precision} without time zone",
        Kind.TIMESTAMPTZ: f"timestamp{precision} with time zone",
    }[k]


CLOCKS = {
    r"now\(\)|current_timestamp(\(\d*\))?|transaction_timestamp\(\)|"
    r"localtimestamp(\(\d*\))?": "timestamp",
    r"current_date": "date",
    r"current_time(\(\d*\))?|localtime(\(\d*\))?": "time",
}


def portable_default(expression: str | None, ctype: CanonicalType) -> Default | None:
    """A default as the catalog shows it (`'free'::character varying`) in portable form."""
    if expression is None or ctype.kind is Kind.BINARY:  # '\x…'::bytea is no text literal
        return None
    return defaults.parse(expression, CLOCKS, ctype)


def default_sql(default: Default, ctype: CanonicalType) -> str:
    """A portable default as PostgreSQL writes it for a column of type `ctype`."""
    if default.clock is not None:
        if default.clock == "date":
            return "CURRENT_DATE"
        if default.clock == "time":
            return "LOCALTIME"
        return "LOCALTIMESTAMP" if ctype.kind is Kind.TIMESTAMP else "CURRENT_TIMESTAMP"
    if default.literal is None:
        return "NULL"
    if ctype.kind is Kind.BINARY:
        return "'\\x" + default.literal.encode().hex() + "'"
    return defaults.quote(default.literal)


def enum_type_name(table: Table, column: Column, same_engine: bool) -> str:
    """The enum type a column uses here: the source's own name, else one per table column."""
    if same_engine and column.native_type:
        return column.native_type
    return f"{table.name}_{column.name}"


def create_enum_sql(schema: str, name: str, labels: tuple[str, ...]) -> str:
    values = ", ".join("'" + v.replace("'", "''") + "'" for v in labels)
    return f"CREATE TYPE {qualified(schema, name)} AS ENUM ({values})"


def column_ddl(column: Column, same_engine: bool, declared: str | None = None) -> str:
    """A column definition; a PostgreSQL source's own type is kept as-is (enums, arrays…)."""
    if declared is None:
        keep = same_engine and column.native_type
        declared = column.native_type if keep else type_name(column.type)
    parts = [quote(column.name), declared]
    if column.autoincrement and not sequence_backed(column):
        parts.append("GENERATED BY DEFAULT AS IDENTITY")
    if not column.nullable:
        parts.append("NOT NULL")
    if column.default is not None and same_engine and not column.autoincrement:
        parts.append(f"DEFAULT {column.default}")
    elif column.portable_default is not None and not same_engine and not column.autoincrement:
        parts.append(f"DEFAULT {default_sql(column.portable_default, column.type)}")
    return " ".join(parts)


def sequence_backed(column: Column) -> bool:
    """Whether an auto-increment column counts from a sequence of its own instead of being an
    identity: MySQL's bigint unsigned (what SERIAL means there) becomes numeric(20), which an
    identity column cannot be."""
    return column.autoincrement and column.type.kind is Kind.INT64 and column.type.unsigned


def sequence_sql(schema: str, table: Table, column: Column) -> list[str]:
    """The statements giving a sequence_backed() column its sequence, as serial would."""
    seq = qualified(schema, f"{table.name}_{column.name}_seq")
    col = f"{qualified(schema, table.name)}.{quote(column.name)}"
    return [f"CREATE SEQUENCE IF NOT EXISTS {seq} AS bigint OWNED BY {col}",
            f"ALTER TABLE {qualified(schema, table.name)} ALTER COLUMN {quote(column.name)} "
            f"SET DEFAULT nextval('{seq.replace(chr(39), chr(39) * 2)}'::regclass)"]


def create_table_sql(schema: str, table: Table, same_engine: bool) -> str:
    """The table without its primary key: like pg_dump, the key is built after the data."""
    lines = [
        column_ddl(c, same_engine, qualified(schema, enum_type_name(table, c, same_engine))
                   if c.type.kind is Kind.ENUM else None)
        for c in table.columns
    ]
    body = ",\n    ".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {qualified(schema, table.name)} (\n    {body}\n)"


def primary_key_sql(schema: str, table: Table) -> str:
    return (
        f"ALTER TABLE {qualified(schema, table.name)} "
        f"ADD PRIMARY KEY ({column_list(table.primary_key)})"
    )


def create_index_sql(schema: str, table: Table, index: Index) -> str:
    unique = "UNIQUE " if index.unique else ""
    return (
        f"CREATE {unique}INDEX {quote(index.name)} "
        f"ON {qualified(schema, table.name)} ({column_list(index.columns)})"
    )


def foreign_key_sql(schema: str, table: Table, fk: ForeignKey, name: str) -> str:
    return (
        f"ALTER TABLE {qualified(schema, table.name)} ADD CONSTRAINT {quote(name)} "
        f"FOREIGN KEY ({column_list(fk.columns)}) REFERENCES {qualified(schema, fk.ref_table)} "
        f"({column_list(fk.ref_columns)}) ON DELETE {fk.on_delete} ON UPDATE {fk.on_update}"
    )
