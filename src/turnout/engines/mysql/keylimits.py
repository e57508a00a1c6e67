"""InnoDB's index limit, checked before the schema step rather than met in the middle of it.

An InnoDB index holds at most 3072 bytes of key (innodb_large_prefix, DYNAMIC rows),
counted at each column's widest value: 4 bytes a character in utf8mb4. A key that fits
another engine (a PostgreSQL primary key on bytea and an integer, two text columns in a
unique index) can pass it once mapped to MySQL types, and the server's error then names
neither the table nor the index. So precheck adds up each key of a table built for
another engine's data, with the types the schema step will declare, and names the table,
the index, every column's share and the fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager

from turnout.engines.mysql.dialect import type_name
from turnout.errors import OperationFailed
from turnout.model import Table
from turnout.types import Kind

MAX_KEY_BYTES = 3072
_KEY_ERRORS = (1071, 1170)  # key too long; BLOB/TEXT column in a key without a length
_FIXED = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "bigint": 8, "float": 4,
          "double": 8, "date": 3, "year": 1, "uuid": 16, "inet4": 4, "inet6": 16, "enum": 2}
_VARIABLE = re.compile(r"var(char|binary)\(")  # what a cast to a shorter length can narrow
_SIZED = re.compile(r"^(\w+)(?:\((\d+)(?:,\s*(\d+))?\))?")


def key_bytes(declared: str) -> int | None:
    """The most bytes a column of the MySQL type `declared` takes in an index; None for a type
    no index takes whole (json, the text and blob types)."""
    match = _SIZED.match(declared.lower())
    if not match:
        return None
    name, a, b = match[1], int(match[2]) if match[2] else None, int(match[3] or 0)
    if name in _FIXED:
        return _FIXED[name]
    if name in ("char", "varchar"):
        return 4 * (a or 1)
    if name in ("binary", "varbinary"):
        return a or 1
    if name in ("time", "datetime", "timestamp"):
        return {"time": 3, "datetime": 5, "timestamp": 4}[name] + math.ceil((a or 0) / 2)
    if name == "decimal":
        return _decimal_bytes(a or 10, b)
    return None


def _decimal_bytes(precision: int, scale: int) -> int:
    """MySQL packs nine digits in four bytes on each side of the point, leftovers in fewer."""
    left = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4]

    def side(digits: int) -> int:
        return digits // 9 * 4 + left[digits % 9]

    return side(precision - scale) + side(scale)


def key_problems(table: Table, own_types: dict[Kind, str], mariadb: bool) -> list[str]:
    """One line for each key of `table` (built for another engine's data) that the server
    would refuse as too long, naming its columns' shares and the fix. MariaDB keeps a
    UNIQUE index past the limit by a hash of its columns, and cuts a plain index on one
    column to a prefix of it; a primary key and a plain index on several columns fail."""
    keys = [("primary key", table.primary_key)] if table.primary_key else []
    keys += [(f"index {index.name}", index.columns) for index in table.indexes
             if not (mariadb and (index.unique or len(index.columns) == 1))]
    problems = []
    for what, columns in keys:
        shares = []
        for name in columns:
            ctype = table.column(name).type
            declared = own_types.get(ctype.kind) or type_name(ctype, in_key=True)
            shares.append((name, declared, key_bytes(declared)))
        line = _too_long(table.name, what, shares)
        if line:
            problems.append(line)
    return problems


def _too_long(table: str, what: str, shares: list[tuple[str, str, int | None]]) -> str | None:
    cols = ", ".join(n for n, _, _ in shares)
    for name, declared, size in shares:
        if size is None:
            return (f"table {table}: {what} ({cols}) cannot be built in MySQL: {name} becomes "
                    f"{declared}, which no InnoDB key takes whole: add --cast {table}.{name}="
                    f"varchar(N) with an N that holds its longest value, or key the table on "
                    "other columns")
    total = sum(size or 0 for _, _, size in shares)
    if total <= MAX_KEY_BYTES:
        return None
    parts = ", ".join(f"{n} {d} {s}" for n, d, s in shares)
    return (f"table {table}: {what} ({cols}) needs {total} bytes in a MySQL index ({parts}), "
            f"more than InnoDB's {MAX_KEY_BYTES}, and the schema step would fail: "
            + _fix(table, shares))


def _fix(table: str, shares: list[tuple[str, str, int | None]]) -> str:
    """Casts that share out the room the fixed-width columns leave among the variable ones."""
    wide = [(n, d) for n, d, _ in shares if _VARIABLE.match(d)]
    fixed = sum(s or 0 for _, d, s in shares if not _VARIABLE.match(d))
    each = (MAX_KEY_BYTES - fixed) // len(wide) if wide else 0
    if each < 4:
        return "key the table on fewer or narrower columns"
    casts = " ".join(f"--cast {table}.{n}=binary({each})" if "binary" in d
                     else f"--cast {table}.{n}=varchar({each // 4})" for n, d in wide)
    return f"add {casts} if the longest values fit there, or key the table on other columns"


@contextmanager
def naming(table: str, what: str) -> Iterator[None]:
    """A key the server refuses as too long, named: its own message names no table (a limit
    precheck did not foresee, a server with a smaller page size)."""
    try:
        yield
    except Exception as exc:
        if not (exc.args and exc.args[0] in _KEY_ERRORS):
            raise
        raise OperationFailed(
            f"table {table}: {what} cannot be built on MySQL ({exc.args[-1]}): cast its "
            f"widest column to a shorter type with --cast {table}.COLUMN=varchar(N) or "
            "binary(N), or key the table on other columns") from exc
