"""What to say to MySQL and MariaDB: quoting, type names both ways, and DDL. No connections.

Cross-engine choices made here on purpose (see the README's decisions):
tables turnout creates for another engine's data use utf8mb4 with a binary
collation, so keys that differ only in case or accents stay different rows as
they were on PostgreSQL or SQLite; `timestamptz` becomes `datetime(6)` holding
UTC, since MySQL's own `timestamp` ends in 2038.
"""

from __future__ import annotations

import re

from turnout.engines import defaults
from turnout.model import Column, Default, ForeignKey, Index, Table
from turnout.types import CanonicalType, Kind

CROSS_ENGINE_COLLATION = "utf8mb4_bin"
MAX_KEY_CHARS = 768  # 3072 bytes of InnoDB index / 4 bytes per utf8mb4 character
MAX_DECIMAL_DIGITS = 65


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def column_list(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(quote(n) for n in names)


_INTEGERS = {
    "tinyint": Kind.INT16, "smallint": Kind.INT16, "mediumint": Kind.INT32, "int": Kind.INT32,
    "integer": Kind.INT32, "bigint": Kind.INT64, "year": Kind.INT16,
}
_SIMPLE = {
    "float": Kind.FLOAT32, "double": Kind.FLOAT64, "real": Kind.FLOAT64, "date": Kind.DATE,
    "json": Kind.JSON, "tinytext": Kind.TEXT, "text": Kind.TEXT, "mediumtext": Kind.TEXT,
    "longtext": Kind.TEXT, "tinyblob": Kind.BINARY, "blob": Kind.BINARY,
    "mediumblob": Kind.BINARY, "longblob": Kind.BINARY, "set": Kind.TEXT,
}
_SPATIAL = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
            "multipolygon", "geometrycollection", "geomcollection"}
_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def labels(column_type: str) -> tuple[str, ...]:
    """The labels of `enum('a,b','it''s')`: commas inside quotes belong to the label."""
    inside = column_type[column_type.index("(") + 1 : column_type.rindex(")")]
    return tuple(m.replace("''", "'").replace("\\\\", "\\") for m in _QUOTED.findall(inside))


def canonical_type(
    data_type: str,
    column_type: str,
    length: int | None,
    precision: int | None,
    scale: int | None,
    fsp: int | None,
    tinyint1_boolean: bool = True,
) -> CanonicalType | None:
    """Map information_schema's description of a column; None when there is no canonical form."""
    unsigned = "unsigned" in column_type
    if data_type == "tinyint" and column_type.startswith("tinyint(1)") and tinyint1_boolean:
        return CanonicalType(Kind.BOOLEAN)
    if data_type in _INTEGERS:
        kind = _INTEGERS[data_type]
        if data_type in ("tinyint", "year"):
            unsigned = False  # 0..255 and 1901..2155 fit a signed int16
        elif data_type == "mediumint":
            unsigned = False  # 24 bits fit a signed int32
        return CanonicalType(kind, unsigned=unsigned)
    if data_type == "bit":  # read as an integer; a bit(64) can pass bigint's top
        return CanonicalType(Kind.INT64, unsigned=(precision or 1) > 63)
    if data_type == "uuid":  # MariaDB 10.7+
        return CanonicalType(Kind.UUID)
    if data_type in ("inet4", "inet6"):  # MariaDB 10.10+ / 10.5+
        return CanonicalType(Kind.INET)
    if data_type in _SIMPLE:
        return CanonicalType(_SIMPLE[data_type])
    if data_type == "decimal":
        return CanonicalType(Kind.DECIMAL, precision=precision, scale=scale)
    if data_type in ("char", "varchar"):
        kind = Kind.CHAR if data_type == "char" else Kind.VARCHAR
        return CanonicalType(kind, length=length)
    if data_type in ("binary", "varbinary"):
        return CanonicalType(Kind.BINARY, length=length)
    if data_type in _SPATIAL:
        return CanonicalType(Kind.GEOMETRY)
    if data_type == "enum":
        return CanonicalType(Kind.ENUM, values=labels(column_type))
    # the fractional digits exactly, 0 included: a destination with more would take values
    # written there after switchover that the reverse task could not bring back
    if data_type == "time":
        return CanonicalType(Kind.TIME, precision=fsp)
    if data_type == "datetime":
        return CanonicalType(Kind.TIMESTAMP, precision=fsp)
    if data_type == "timestamp":
        return CanonicalType(Kind.TIMESTAMPTZ, precision=fsp)
    return None


CLOCKS = {
    r"current_timestamp(\(\d*\))?|now\(\d*\)|localtime(stamp)?(\(\d*\))?": "timestamp",
    r"curdate\(\)|current_date(\(\))?": "date",
    r"curtime\(\d*\)|current_time(\(\d*\))?": "time",
}
_LONG = ("longtext", "longblob", "json")  # types that take a default only as an expression


def portable_default(expression: str | None, ctype: CanonicalType) -> Default | None:
    """A default as catalog.py reads it (an SQL expression) in portable form, if it has one."""
    if expression is None:
        return None
    return defaults.parse(expression, CLOCKS, ctype, backslashes=True)


def default_sql(default: Default, ctype: CanonicalType, declared: str) -> str:
    """A portable default as MySQL writes it for a column of `declared` type. A clock on a
    column that holds UTC (another engine's timestamptz) reads UTC, whatever the session's
    time zone; the fractional digits must be the column's own."""
    if default.clock is not None:
        digits = ctype.precision if ctype.precision is not None else 6
        fsp = f"({digits})" if digits else ""
        if default.clock == "date":
            return "(curdate())"
        if default.clock == "time":
            return f"(curtime({digits or ''}))"
        if ctype.kind is Kind.TIMESTAMPTZ:
            return f"(utc_timestamp({digits or ''}))"
        return f"CURRENT_TIMESTAMP{fsp}"
    if default.literal is None:
        return "NULL"
    if ctype.kind is Kind.BOOLEAN:
        return "1" if default.literal == "true" else "0"
    literal = defaults.quote(default.literal, backslashes=True)
    return f"({literal})" if declared.startswith(_LONG) else literal


def type_problem(ctype: CanonicalType) -> str | None:
    """Why MySQL cannot hold `ctype` faithfully, with the --cast that would make it fit."""
    k = ctype.kind
    if k is Kind.TIMETZ:
        return "MySQL has no time with time zone: add --cast TABLE.COLUMN=time"
    if k is Kind.INTERVAL:
        return "MySQL has no interval type: add --cast TABLE.COLUMN=text to keep its text form"
    if k is Kind.DECIMAL and ctype.precision is None:
        return (f"a numeric without precision may exceed MySQL's {MAX_DECIMAL_DIGITS} digits: "
                "add --cast TABLE.COLUMN=decimal(P,S) with the precision your data needs")
    if k is Kind.DECIMAL and (ctype.precision or 0) > MAX_DECIMAL_DIGITS:
        return f"MySQL decimals hold at most {MAX_DECIMAL_DIGITS} digits: add --cast to a text type"
    return None


def type_name(ctype: CanonicalType, in_key: bool = False) -> str:
    """The MySQL type for a canonical type (type_problem() has refused the ones without)."""
    k = ctype.kind
    sign = " unsigned" if ctype.unsigned else ""
    fixed = {
        Kind.BOOLEAN: "tinyint(1)", Kind.INT16: "smallint", Kind.INT32: "int",
        Kind.INT64: "bigint", Kind.FLOAT32: "float", Kind.FLOAT64: "double",
        Kind.DATE: "date", Kind.JSON: "json", Kind.UUID: "char(36)",
        Kind.INET: "varchar(49)",  # inet6 would rewrite IPv4 addresses; text keeps masks
    }
    if k in fixed:
        return fixed[k] + (sign if ctype.is_integer else "")
    fsp = f"({ctype.precision})" if ctype.precision is not None else "(6)"
    if k is Kind.TIME:
        return f"time{fsp}"
    if k in (Kind.TIMESTAMP, Kind.TIMESTAMPTZ):
        return f"datetime{fsp}"
    if k is Kind.DECIMAL:
        return f"decimal({ctype.precision},{ctype.scale or 0})"
    if k is Kind.CHAR and (ctype.length or 1) <= 255:
        return f"char({ctype.length or 1})"
    if k in (Kind.CHAR, Kind.VARCHAR) and ctype.length and ctype.length <= 16383:
        return f"varchar({ctype.length})"
    if k is Kind.ENUM:
        return "enum(" + ", ".join("'" + v.replace("'", "''") + "'" for v in ctype.values) + ")"
    if k is Kind.BINARY:
        if in_key:
            return f"varbinary({min(ctype.length or 3072, 3072)})"
        return f"varbinary({ctype.length})" if ctype.length else "longblob"
    # text of any length, SQLite's typeless values, and what PostgreSQL alone knows
    return f"varchar({MAX_KEY_CHARS})" if in_key else "longtext"


def column_ddl(column: Column, same_engine: bool, in_key: bool,
               own_types: dict[Kind, str] | None = None, counter: bool = True) -> str:
    """`own_types`: the server's own types for canonical kinds (MariaDB's uuid), which
    hold exactly the values and give back the type a MariaDB source had. `counter`: whether
    an auto-increment column keeps AUTO_INCREMENT (a table has one at most, counter())."""
    keep = same_engine and column.native_type
    own = (own_types or {}).get(column.type.kind)
    declared = column.native_type if keep else own or type_name(column.type, in_key)
    parts = [quote(column.name), declared]
    if not column.nullable:
        parts.append("NOT NULL")
    if column.default is not None and same_engine:
        parts.append(f"DEFAULT {column.default}")
        if column.on_update:
            parts.append(column.on_update.upper())
    elif column.portable_default is not None and not column.autoincrement:
        parts.append(f"DEFAULT {default_sql(column.portable_default, column.type, declared)}")
    if column.autoincrement and counter:
        parts.append("AUTO_INCREMENT")
    return " ".join(parts)


def counter(table: Table) -> str | None:
    """The one column that counts in MySQL, which allows a single AUTO_INCREMENT column: the
    key's first column where it is one, else the first (PostgreSQL tables may have several
    serial columns; the others keep their values, copied like any other)."""
    autos = [c.name for c in table.columns if c.autoincrement]
    if not autos:
        return None
    return table.primary_key[0] if table.primary_key[:1] and table.primary_key[0] in autos \
        else autos[0]


def create_table_sql(table: Table, same_engine: bool,
                     own_types: dict[Kind, str] | None = None) -> str:
    """The table with its primary key (InnoDB clusters rows by it, so it cannot come later)."""
    keyed = set(table.primary_key) | {c for i in table.indexes for c in i.columns}
    auto = counter(table)
    lines = [column_ddl(c, same_engine, c.name in keyed, own_types, c.name == auto)
             for c in table.columns]
    if same_engine:  # computed columns back in their places
        for place, column in table.generated:
            lines.insert(place, f"{quote(column.name)} {column.native_type} {column.default}")
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({column_list(table.primary_key)})")
    # MySQL wants the counter first in some index; a MySQL source's own indexes already say so
    unkeyed = not table.primary_key or (not same_engine and table.primary_key[0] != auto)
    if auto is not None and unkeyed:
        lines.append(f"KEY ({quote(auto)})")
    body = ",\n    ".join(lines)
    collation = "" if same_engine else f" COLLATE={CROSS_ENGINE_COLLATION}"
    return (f"CREATE TABLE IF NOT EXISTS {quote(table.name)} (\n    {body}\n) "
            f"ENGINE=InnoDB DEFAULT CHARSET=utf8mb4{collation}")


def create_index_sql(table: Table, index: Index) -> str:
    unique = "UNIQUE " if index.unique else ""
    return (f"CREATE {unique}INDEX {quote(index.name)} "
            f"ON {quote(table.name)} ({column_list(index.columns)})")


def foreign_key_sql(table: Table, fk: ForeignKey, name: str) -> str:
    return (
        f"ALTER TABLE {quote(table.name)} ADD CONSTRAINT {quote(name)} "
        f"FOREIGN KEY ({column_list(fk.columns)}) REFERENCES {quote(fk.ref_table)} "
        f"({column_list(fk.ref_columns)}) ON DELETE {fk.on_delete} ON UPDATE {fk.on_update}"
    )
