"""Whether a binlog table map still describes a captured table, before its rows are decoded.

A row event names its table by a table id alone, and the table map event before it says which
table that id is and what its columns are. The server hands ids out in memory: after a restart
the id one table had can name another, of the same shape or not. A map is therefore only good
within the binlog file it came in (a restart always starts a new file), and capture forgets
every map at the start of each file. Before the rows of a map are decoded, its columns are held
against the catalog: names (the binlog carries them, binlog_row_metadata = FULL) and binlog
type codes; each row event's own column count is held against its map.

The type codes are the server's field types as the table map carries them (the library turns
the STRING code of an ENUM or SET column into ENUM or SET). A data type missing from
BINLOG_TYPES (MariaDB's UUID, INET6, VECTOR and others to come) is left unchecked, never refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_STRING = frozenset({15, 253, 254})  # VARCHAR, VAR_STRING, STRING
_BLOB = frozenset({249, 250, 251, 252})  # TINY_BLOB, MEDIUM_BLOB, LONG_BLOB, BLOB
_GEOMETRY = frozenset({255})
BINLOG_TYPES: dict[str, frozenset[int]] = {
    "tinyint": frozenset({1}),
    "smallint": frozenset({2}),
    "mediumint": frozenset({9}),
    "int": frozenset({3}),
    "bigint": frozenset({8}),
    "float": frozenset({4}),
    "double": frozenset({5}),
    "decimal": frozenset({0, 246}),  # DECIMAL (before MySQL 5.0), NEWDECIMAL
    "bit": frozenset({16}),
    "year": frozenset({13}),
    "date": frozenset({10, 14}),  # DATE, NEWDATE
    "time": frozenset({11, 19}),  # TIME, TIME2 (fractional seconds format)
    "datetime": frozenset({12, 18}),
    "timestamp": frozenset({7, 17}),
    "char": _STRING,
    "varchar": _STRING,
    "binary": _STRING,
    "varbinary": _STRING,
    "enum": frozenset({247, 254}),
    "set": frozenset({248, 254}),
    "json": frozenset({245}) | _BLOB,  # MySQL's binary JSON; MariaDB's is LONGTEXT
    **{name: _BLOB for name in ("tinytext", "text", "mediumtext", "longtext",
                                "tinyblob", "blob", "mediumblob", "longblob")},
    **{name: _GEOMETRY for name in ("geometry", "point", "linestring", "polygon", "multipoint",
                                    "multilinestring", "multipolygon", "geometrycollection",
                                    "geomcollection")},
}


def data_types(cur: Any, name: str) -> dict[str, str]:
    """Every column of the table in order, generated ones too (the binlog sends those), with
    its information_schema data type."""
    cur.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = "
        "DATABASE() AND table_name = %s ORDER BY ordinal_position", (name,)
    )
    return {r[0]: str(r[1]).lower() for r in cur.fetchall()}


def column_changes(columns: list[Any], wanted: Sequence[str], known: dict[str, str]) -> list[str]:
    """What differs between a table map's columns and the catalog, one phrase per column.

    `wanted` are the columns capture hands out, `known` every column the source had when
    capture began, with its data type; an empty list means the map describes the table.
    """
    names = [c.name for c in columns]
    changes = [c for c in wanted if c not in names]
    for column in columns:
        data_type = known.get(column.name)
        if data_type is None:
            changes.append(f"{column.name} (added)")
        elif column.type not in BINLOG_TYPES.get(data_type, (column.type,)):
            changes.append(f"{column.name} (binlog type code {column.type}, not {data_type})")
    return changes
