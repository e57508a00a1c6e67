"""Which changes to a table's definition turnout makes by itself, and which wait."""

from __future__ import annotations

from dataclasses import replace

from turnout.alter import (
    AddColumn,
    CreateIndex,
    DropColumn,
    Held,
    RenameColumn,
    RenameTable,
    WidenColumn,
    applied,
    describe,
    diff,
    layout_from_json,
    layout_to_json,
    widens,
)
from turnout.engines.mysql.alter import statement as mysql_statement
from turnout.engines.postgres.alter import statement as pg_statement
from turnout.engines.sqlite.alter import statement as sqlite_statement
from turnout.model import Column, Default, Index, Table
from turnout.types import CanonicalType, Kind, parse_type


def col(name: str, ctype: str, nullable: bool = True) -> Column:
    return Column(name, parse_type(ctype), nullable)


BEFORE = Table("t", (col("id", "int32", False), col("name", "varchar(20)"),
                     col("amount", "decimal(8,2)")), primary_key=("id",))


def test_widening_is_told_from_narrowing() -> None:
    wider = [("varchar(10)", "varchar(20)"), ("int32", "int64"), ("int16", "int64"),
             ("decimal(8,2)", "decimal(12,2)"), ("varchar(10)", "text"), ("float32", "float64"),
             ("timestamp(3)", "timestamp(6)"), ("varchar(5)", "varchar")]
    narrower = [("varchar(20)", "varchar(10)"), ("int64", "int32"),
                ("decimal(8,2)", "decimal(8,3)"), ("decimal(8,2)", "decimal(7,2)"),
                ("text", "varchar(100)"), ("int32", "text"),
                ("int32 unsigned", "int64")]
    assert all(widens(parse_type(a), parse_type(b)) for a, b in wider)
    assert not any(widens(parse_type(a), parse_type(b)) for a, b in narrower)
    labels = CanonicalType(Kind.ENUM, values=("a", "b"))
    assert widens(labels, labels.with_(values=("a", "b", "c")))
    assert not widens(labels, labels.with_(values=("b", "a")))


def test_diff_names_each_alteration_in_order() -> None:
    after = replace(BEFORE, columns=(col("id", "int32", False), col("title", "varchar(60)"),
                                     col("colour", "text")),
                    indexes=(Index("t_title", ("title",)),))
    found = diff(BEFORE, after, (("name", "title"),))
    assert found == [RenameColumn("name", "title"), DropColumn("amount"),
                     AddColumn(col("colour", "text")), WidenColumn(col("title", "varchar(60)")),
                     CreateIndex(Index("t_title", ("title",)))]


def test_what_waits() -> None:
    narrowed = replace(BEFORE, columns=(BEFORE.columns[0], col("name", "varchar(5)"),
                                        BEFORE.columns[2]))
    assert isinstance(diff(BEFORE, narrowed)[0], Held)
    not_null = replace(BEFORE, columns=(BEFORE.columns[0], col("name", "varchar(20)", False),
                                        BEFORE.columns[2]))
    assert isinstance(diff(BEFORE, not_null)[0], Held)
    rekeyed = replace(BEFORE, primary_key=("id", "name"))
    assert any(isinstance(a, Held) and "primary key" in a.what for a in diff(BEFORE, rekeyed))
    swapped = replace(BEFORE, columns=(BEFORE.columns[0], col("title", "varchar(20)"),
                                       BEFORE.columns[2]))
    unknown = diff(BEFORE, swapped, None)  # a rename or a drop and an add: cannot tell
    assert any(isinstance(a, Held) and "cannot tell" in a.what for a in unknown)


def test_layout_round_trip() -> None:
    table = replace(BEFORE, columns=BEFORE.columns + (
        Column("e", CanonicalType(Kind.ENUM, values=("x", "y'z")), default="'x'",
               native_type="mood", portable_default=Default(literal="x")),
        Column("u", parse_type("int64 unsigned"), False, autoincrement=True)),
        indexes=(Index("t_e", ("e", "u"), unique=True),))
    back = layout_from_json(BEFORE, layout_to_json(table))
    assert back.columns == table.columns and back.indexes == table.indexes
    assert back.primary_key == table.primary_key
    assert [c.portable_default for c in back.columns] == [c.portable_default for c in table.columns]


def test_a_table_rename_reads_the_same_in_every_dialect() -> None:
    rename = RenameTable("t 2")
    assert pg_statement("app", BEFORE, rename) == 'ALTER TABLE "app"."t" RENAME TO "t 2"'
    assert mysql_statement(BEFORE, rename, False, {}) == "ALTER TABLE `t` RENAME TO `t 2`"
    assert sqlite_statement(BEFORE, rename) == 'ALTER TABLE "t" RENAME TO "t 2"'
    assert applied(BEFORE, rename).name == "t 2" and describe(rename) == "rename table to t 2"
