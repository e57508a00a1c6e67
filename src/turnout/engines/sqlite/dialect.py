"""What to say to SQLite: quoting, type names and DDL. No connections here."""

from __future__ import annotations

import re

from turnout.engines import defaults
from turnout.model import Column, Default, Index, Table
from turnout.types import CanonicalType, Kind

_SIZE_RE = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def quote(name: str) -> str:
    """An identifier quoted for SQLite, whatever it contains."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def column_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(quote(n) for n in names)


# NUMERIC affinity turns a decimal's text into a REAL, which keeps 15 significant digits: a
# decimal that may have more gets a declared type with TEXT affinity (the word TEXT in it),
# which keeps its text exactly and which canonical_type() reads back as the decimal it is.
_REAL_DIGITS = 15
_DECIMAL_TEXT = "DECIMAL_TEXT"


def canonical_type(declared: str) -> CanonicalType:
    """Map a declared column type to a canonical one, following SQLite's own affinity rules.

    SQLite keeps any declared name; the words it recognises decide what it
    stores, so the mapping looks for the same words in the same order.
    """
    text = declared.strip().upper()
    size = _SIZE_RE.search(text)
    a = int(size.group(1)) if size else None
    b = int(size.group(2)) if size and size.group(2) else None
    base = _SIZE_RE.sub("", text).strip()
    if not base:
        return CanonicalType(Kind.ANY)
    exact = {
        "BOOLEAN": Kind.BOOLEAN, "BOOL": Kind.BOOLEAN,
        "DATE": Kind.DATE, "DATETIME": Kind.TIMESTAMP, "TIMESTAMP": Kind.TIMESTAMP,
        "TIMESTAMPTZ": Kind.TIMESTAMPTZ, "TIME": Kind.TIME, "TIMETZ": Kind.TIMETZ,
        "INTERVAL": Kind.INTERVAL,
        "UUID": Kind.UUID, "JSON": Kind.JSON, "JSONB": Kind.JSON, "INET": Kind.INET,
        "SMALLINT": Kind.INT16, "TINYINT": Kind.INT16, "INT2": Kind.INT16,
        "MEDIUMINT": Kind.INT32, "INT4": Kind.INT32,
    }
    if base == _DECIMAL_TEXT:
        return CanonicalType(Kind.DECIMAL, precision=a, scale=b if a is not None else None)
    if base in exact:
        kind = exact[base]
        if kind in (Kind.TIMESTAMP, Kind.TIMESTAMPTZ, Kind.TIME, Kind.TIMETZ):
            return CanonicalType(kind, precision=a)
        return CanonicalType(kind)
    if "INT" in base:
        return CanonicalType(Kind.INT64)
    if "CHAR" in base or "CLOB" in base or "TEXT" in base:
        if "VAR" in base and a is not None:
            return CanonicalType(Kind.VARCHAR, length=a)
        if "CHAR" in base and "VAR" not in base and a is not None:
            return CanonicalType(Kind.CHAR, length=a)
        return CanonicalType(Kind.TEXT)
    if "BLOB" in base or "BINARY" in base or "BYTEA" in base:
        return CanonicalType(Kind.BINARY, length=a)
    if "REAL" in base or "FLOA" in base or "DOUB" in base:
        return CanonicalType(Kind.FLOAT32 if base == "FLOAT4" else Kind.FLOAT64)
    if "NUMERIC" in base or "DECIMAL" in base:
        return CanonicalType(Kind.DECIMAL, precision=a, scale=b if a is not None else None)
    return CanonicalType(Kind.DECIMAL)  # SQLite gives every other name NUMERIC affinity


def declared_type(ctype: CanonicalType) -> str:
    """The declared type SQLite gets for a canonical type; SQLite holds them all."""
    k = ctype.kind
    sized = f"({ctype.length})" if ctype.length is not None else ""
    names = {
        Kind.BOOLEAN: "BOOLEAN", Kind.INT16: "SMALLINT", Kind.INT32: "INTEGER",
        Kind.INT64: "INTEGER", Kind.FLOAT32: "FLOAT4", Kind.FLOAT64: "REAL",
        Kind.TEXT: "TEXT", Kind.DATE: "DATE", Kind.INTERVAL: "INTERVAL", Kind.UUID: "UUID",
        Kind.INET: "INET", Kind.JSON: "JSON", Kind.ANY: "", Kind.ENUM: "TEXT",
        Kind.CHAR: f"CHAR{sized}", Kind.VARCHAR: f"VARCHAR{sized}", Kind.BINARY: "BLOB",
        Kind.GEOMETRY: "BLOB",  # refused before (type_problem): MySQL's bytes mean nothing here
    }
    if k in names:
        return names[k]
    if k is Kind.DECIMAL:
        if ctype.precision is None:
            return _DECIMAL_TEXT
        size = f"({ctype.precision},{ctype.scale or 0})"
        return ("NUMERIC" if ctype.precision <= _REAL_DIGITS else _DECIMAL_TEXT) + size
    precision = f"({ctype.precision})" if ctype.precision is not None else ""
    names = {Kind.TIME: "TIME", Kind.TIMETZ: "TIMETZ", Kind.TIMESTAMP: "DATETIME",
             Kind.TIMESTAMPTZ: "TIMESTAMPTZ"}
    return names[k] + precision


CLOCKS = {"current_timestamp": "timestamp", "current_date": "date", "current_time": "time"}


def portable_default(expression: str | None, ctype: CanonicalType) -> Default | None:
    if expression is None:
        return None
    return defaults.parse(expression, CLOCKS, ctype)


def default_sql(default: Default, ctype: CanonicalType) -> str:
    """A portable default as SQLite writes it (booleans are the integers 1 and 0 here)."""
    if default.clock is not None:
        return {"date": "CURRENT_DATE", "time": "CURRENT_TIME"}.get(default.clock,
                                                                   "CURRENT_TIMESTAMP")
    if default.literal is None:
        return "NULL"
    if ctype.kind is Kind.BOOLEAN:
        return "1" if default.literal == "true" else "0"
    return defaults.quote(default.literal)


def column_ddl(column: Column, inline_pk: bool, same_engine: bool = True) -> str:
    parts = [quote(column.name)]
    declared = declared_type(column.type)
    if same_engine and column.type.kind is Kind.DECIMAL and column.native_type:
        declared = column.native_type  # the source's affinity, by which its values are stored
    if declared:
        parts.append(declared)
    if inline_pk:
        parts.append("PRIMARY KEY")
        if column.autoincrement:
            parts.append("AUTOINCREMENT")
    if not column.nullable:
        parts.append("NOT NULL")
    if column.default is not None and same_engine:
        parts.append(f"DEFAULT {_default_expr(column.default)}")
    elif column.portable_default is not None and not same_engine:
        parts.append(f"DEFAULT {default_sql(column.portable_default, column.type)}")
    return " ".join(parts)


def _default_expr(default: str) -> str:
    """A default as SQLite accepts it: literals and NULL as-is, expressions in parentheses."""
    text = default.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?|'([^']|'')*'|NULL|TRUE|FALSE|CURRENT_\w+", text, re.I):
        return text
    return f"({text})"


def create_table_sql(table: Table) -> str:
    """CREATE TABLE with the primary key and foreign keys (SQLite only takes them inline)."""
    pk = table.primary_key
    inline = len(pk) == 1 and table.column(pk[0]).autoincrement
    same = table.origin in ("sqlite", "")
    lines = [column_ddl(c, inline and c.name == pk[0], same) for c in table.columns]
    if pk and not inline:
        lines.append(f"PRIMARY KEY ({column_list(pk)})")
    for fk in table.foreign_keys:
        lines.append(
            f"FOREIGN KEY ({column_list(fk.columns)}) REFERENCES {quote(fk.ref_table)} "
            f"({column_list(fk.ref_columns)}) ON DELETE {fk.on_delete} ON UPDATE {fk.on_update}"
        )
    body = ",\n    ".join(lines)
    return f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n    {body}\n)"


def create_index_sql(table: Table, index: Index) -> str:
    unique = "UNIQUE " if index.unique else ""
    return (
        f"CREATE {unique}INDEX {quote(index.name)} "
        f"ON {quote(table.name)} ({column_list(index.columns)})"
    )


def key_predicate(names: tuple[str, ...], prefix: str = "") -> str:
    """`"a" = ? AND "b" = ?` for a key."""
    return " AND ".join(f"{prefix}{quote(n)} = ?" for n in names)
