"""Holding a binlog table map's columns against the catalog (engines/mysql/tablemaps.py)."""

from __future__ import annotations

from types import SimpleNamespace

from turnout.engines.mysql.tablemaps import column_changes

KNOWN = {"id": "int", "name": "varchar", "kind": "enum", "at": "datetime", "doc": "longtext",
         "addr": "inet6"}
WANTED = ["id", "name", "kind", "at", "doc", "addr"]


def mapped(*columns: tuple[str, int]) -> list[SimpleNamespace]:
    return [SimpleNamespace(name=n, type=t) for n, t in columns]


def test_a_map_of_the_same_table_passes() -> None:
    columns = mapped(("id", 3), ("name", 15), ("kind", 247), ("at", 18), ("doc", 252),
                     ("addr", 254))
    assert column_changes(columns, WANTED, KNOWN) == []


def test_a_map_of_another_table_of_the_same_names_fails_on_types() -> None:
    columns = mapped(("id", 8), ("name", 15), ("kind", 247), ("at", 17), ("doc", 252),
                     ("addr", 254))
    assert column_changes(columns, WANTED, KNOWN) == [
        "id (binlog type code 8, not int)", "at (binlog type code 17, not datetime)"]


def test_missing_and_added_columns_are_named() -> None:
    columns = mapped(("id", 3), ("name", 15), ("colour", 15))
    assert column_changes(columns, ["id", "name", "kind"], KNOWN) == ["kind", "colour (added)"]


def test_a_type_it_does_not_know_is_left_unchecked() -> None:
    assert column_changes(mapped(("addr", 99)), ["addr"], KNOWN) == []
