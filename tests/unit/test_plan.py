"""The plan: what each table is called and holds on the destination, and what precheck refuses.

TaskSpec.dest_table and TablePlan are pure; build_plan runs on two SQLite files (a real database in
this process), which is enough for the problems every engine pair shares.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from turnout import engines
from turnout.engines.base import Engine
from turnout.errors import BadInput, OperationFailed, Unsupported
from turnout.gaps import Gap
from turnout.migrate.plan import TablePlan, build_plan
from turnout.model import Column, ForeignKey, Spelled, Table
from turnout.spec import TaskSpec
from turnout.types import CanonicalType, Kind

INT, TEXT = CanonicalType(Kind.INT64), CanonicalType(Kind.TEXT)
DAY = CanonicalType(Kind.DATE)
ORDERS = Table(
    "orders",
    (Column("id", INT), Column("customer", INT), Column("placed", DAY, native_type="date")),
    primary_key=("id",),
    foreign_keys=(ForeignKey(("customer",), "customers", ("id",)),),
)


def spec(**fields: object) -> TaskSpec:
    return TaskSpec("plan", "sqlite:///a.db", "sqlite:///b.db", **fields)  # type: ignore[arg-type]


def test_the_destination_table_takes_renames_and_casts_and_so_do_its_references() -> None:
    task = spec(table_renames={"orders": "sales", "customers": "clients"},
                column_renames={"orders": {"customer": "client"}, "customers": {"id": "no"}},
                casts={"orders": {"placed": "text"}})
    dest = task.dest_table(ORDERS)
    assert dest.name == "sales"
    assert dest.column_names == ("id", "client", "placed")
    assert dest.columns[2].type.kind is Kind.TEXT and dest.columns[2].native_type == ""
    (fk,) = dest.foreign_keys
    assert (fk.columns, fk.ref_table, fk.ref_columns) == (("client",), "clients", ("no",))


def test_a_table_neither_renamed_nor_cast_is_the_same_table() -> None:
    assert spec().dest_table(ORDERS) == ORDERS


def test_the_plans_cast_stops_at_a_gap_and_then_writes_the_cast_form() -> None:
    dest = spec(casts={"orders": {"customer": "text"}}).dest_table(ORDERS)
    gaps = (frozenset(), frozenset(), frozenset({Gap.SPELLED}))
    plan = TablePlan(ORDERS, dest, gaps, dest_name="the test destination")
    cast = plan.cast
    assert cast is not None
    assert cast((1, 7, None)) == (1, "7", None)
    with pytest.raises(OperationFailed, match=r"orders\.placed .*orders key 2.*the test dest"):
        cast((2, 7, Spelled("infinity", 1)))
    assert TablePlan(ORDERS, ORDERS).cast is None
    assert plan.route.source_columns == ORDERS.column_names


# --------------------------------------------------------------------------- precheck


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[str, str]:
    source, dest = tmp_path / "a.db", tmp_path / "b.db"
    db = sqlite3.connect(source)
    db.executescript("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER);"
                     "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
                     "INSERT INTO orders VALUES (1, 10);")
    db.close()
    return f"sqlite:///{source}", f"sqlite:///{dest}"


def plan(urls: tuple[str, str], **fields: object) -> list[TablePlan]:
    task = TaskSpec("plan", *urls, **fields)  # type: ignore[arg-type]
    src: Engine = engines.connect(task.source_endpoint)
    dst: Engine = engines.connect(task.dest_endpoint, create=True)
    try:
        return build_plan(task, src, dst, first_run=True)
    finally:
        src.close()
        dst.close()


def test_every_selected_table_gets_a_plan_under_its_destination_name(
        pair: tuple[str, str]) -> None:
    plans = plan(pair, table_renames={"orders": "sales"})
    assert sorted((p.source.name, p.dest.name) for p in plans) == [
        ("notes", "notes"), ("orders", "sales")]


def test_patterns_that_match_nothing_are_refused_at_once(pair: tuple[str, str]) -> None:
    with pytest.raises(BadInput, match="no table .* matches --tables invoices"):
        plan(pair, tables=("invoices",))
    with pytest.raises(BadInput, match="--rename invoices=… names a table"):
        plan(pair, table_renames={"invoices": "bills"})


def test_every_problem_is_reported_together(pair: tuple[str, str]) -> None:
    source, dest = pair
    db = sqlite3.connect(dest.removeprefix("sqlite:///"))
    db.executescript("CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER);"
                     "INSERT INTO orders VALUES (5, 50);")
    db.close()
    with pytest.raises(Unsupported) as refused:
        plan(pair, casts={"notes": {"missing": "text"}},
             column_renames={"orders": {"nothing": "x"}})
    lines = str(refused.value).splitlines()
    assert any("--cast notes.missing=… names a column 'notes' lacks" in line for line in lines)
    assert any("--rename orders.nothing=… names a column 'orders' lacks" in line
               for line in lines)
    assert any("destination table 'orders' already holds rows" in line for line in lines)
