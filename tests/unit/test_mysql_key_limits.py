"""InnoDB's 3072-byte key limit, added up before the schema step from the declared types."""

from __future__ import annotations

import pytest

from turnout.engines.mysql.keylimits import key_bytes, key_problems, naming
from turnout.errors import OperationFailed
from turnout.model import Column, Index, Table
from turnout.types import parse_type


def _table(pk: tuple[str, ...], *cols: tuple[str, str], indexes: tuple[Index, ...] = ()
           ) -> Table:
    return Table("t", tuple(Column(n, parse_type(t)) for n, t in cols), pk, indexes,
                 origin="postgresql")


def test_key_bytes_counts_each_type_at_its_widest() -> None:
    assert key_bytes("varbinary(3072)") == 3072
    assert key_bytes("varchar(768)") == 3072  # utf8mb4: 4 bytes a character
    assert key_bytes("int") == 4 and key_bytes("bigint unsigned") == 8
    assert key_bytes("datetime(6)") == 8 and key_bytes("char(36)") == 144
    assert key_bytes("decimal(65,30)") == 30
    assert key_bytes("json") is None and key_bytes("longtext") is None


def test_bytea_with_an_integer_in_a_primary_key_is_named_with_the_fix() -> None:
    [line] = key_problems(_table(("b", "i"), ("b", "binary"), ("i", "int32")), {}, True)
    assert line.startswith("table t: primary key (b, i) needs 3076 bytes"), line
    assert "--cast t.b=binary(3068)" in line


def test_two_text_columns_in_a_plain_index_share_the_room() -> None:
    index = Index("t_x_y", ("x", "y"))
    table = _table(("id",), ("id", "int32"), ("x", "text"), ("y", "varchar(1000)"),
                   indexes=(index,))
    [line] = key_problems(table, {}, True)
    assert line.startswith("table t: index t_x_y (x, y) needs 7072 bytes"), line
    assert "--cast t.x=varchar(384) --cast t.y=varchar(384)" in line


def test_mariadb_keeps_long_unique_and_single_column_indexes() -> None:
    indexes = (Index("u", ("x", "y"), unique=True), Index("n", ("x",)))
    table = _table(("id",), ("id", "int32"), ("x", "text"), ("y", "text"), indexes=indexes)
    assert key_problems(table, {}, mariadb=True) == []
    assert [p[:20] for p in key_problems(table, {}, mariadb=False)] == ["table t: index u (x,"]
    assert key_problems(_table(("id",), ("id", "int64")), {}, True) == []


def test_the_servers_key_error_is_named_with_its_table() -> None:
    with pytest.raises(OperationFailed, match=r"^table t: index t_x_y cannot be built"):
        with naming("t", "index t_x_y"):
            raise RuntimeError(1071, "Specified key was too long; max key length is 3072 bytes")
    with pytest.raises(RuntimeError):
        with naming("t", "its primary key"):
            raise RuntimeError(1062, "Duplicate entry")
