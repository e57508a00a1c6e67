"""Coalescing: a run of changes folded into one write per key, with the same final state."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from turnout.coalesce import Route, TableBatch, coalesce, parents_first
from turnout.engines.sqlite.changelog import SqlitePosition
from turnout.model import Change, Column, ForeignKey, Op, Table
from turnout.types import CanonicalType, Kind

INT = CanonicalType(Kind.INT64)
SRC = Table("t", (Column("id", INT), Column("v", INT)), primary_key=("id",))
DEST = SRC.renamed("t2", {"v": "value"})
ROUTES = {"t": Route(DEST, SRC.column_names)}


def change(n: int, op: Op, key: int, v: int | None = None, old: int | None = None) -> Change:
    after = None if op is Op.DELETE else {"id": key, "v": v}
    return Change("t", op, (key,), after, float(n), SqlitePosition(n),
                  old_key=(old,) if old is not None else None)


def test_several_changes_to_one_key_become_one_write() -> None:
    batch = coalesce(
        [change(1, Op.INSERT, 1, 10), change(2, Op.UPDATE, 1, 11), change(3, Op.UPDATE, 1, 12)],
        ROUTES, SqlitePosition(3),
    )
    tb = batch.tables["t2"]
    assert tb.upserts == {(1,): (1, 12)} and tb.deletes == set()
    assert batch.changes == 3 and batch.first_commit_ts == 1.0 and batch.last_commit_ts == 3.0


def test_insert_then_delete_is_a_delete_and_delete_then_insert_an_upsert() -> None:
    batch = coalesce(
        [change(1, Op.INSERT, 1, 10), change(2, Op.DELETE, 1),
         change(3, Op.DELETE, 2), change(4, Op.INSERT, 2, 20)],
        ROUTES, SqlitePosition(4),
    )
    tb = batch.tables["t2"]
    assert tb.deletes == {(1,)}
    assert tb.upserts == {(2,): (2, 20)}


def test_key_change_deletes_the_old_key() -> None:
    batch = coalesce([change(1, Op.UPDATE, 5, 50, old=4)], ROUTES, SqlitePosition(1))
    tb = batch.tables["t2"]
    assert tb.deletes == {(4,)} and tb.upserts == {(5,): (5, 50)}


def test_changes_of_tables_not_moved_are_skipped_but_counted() -> None:
    other = Change("x", Op.INSERT, (1,), {"id": 1}, 1.0, SqlitePosition(1))
    batch = coalesce([other], ROUTES, SqlitePosition(1))
    assert batch.tables == {} and batch.changes == 1 and batch.position == SqlitePosition(1)


def test_positions_order_and_json() -> None:
    assert SqlitePosition(1) < SqlitePosition(2) and SqlitePosition(3) == SqlitePosition(3)
    assert SqlitePosition(7).to_json() == '{"engine": "sqlite", "seq": 7}'


def test_truncate_forgets_earlier_changes_and_keeps_later_ones() -> None:
    truncate = Change("t", Op.TRUNCATE, (), None, 3.0, SqlitePosition(3))
    batch = coalesce(
        [change(1, Op.INSERT, 1, 10), change(2, Op.DELETE, 2), truncate,
         change(4, Op.INSERT, 3, 30), change(5, Op.DELETE, 4)],
        ROUTES, SqlitePosition(5),
    )
    tb = batch.tables["t2"]
    assert tb.truncate and tb.upserts == {(3,): (3, 30)} and tb.deletes == {(4,)}
    assert batch.changes == 5 and len(tb) == 3


# --------------------------------------------------------------------------- properties

KEYLESS = Table("log", (Column("id", INT), Column("v", INT)))
KEYLESS_ROUTES = {"log": Route(KEYLESS, KEYLESS.column_names)}


@st.composite
def keyed_changes(draw: Any) -> list[Change]:
    """Changes to a few keys in any order: inserts and updates (some moving the key),
    deletes and now and then a TRUNCATE, as one source transaction stream."""
    out = []
    for n in range(draw(st.integers(0, 25))):
        op = draw(st.sampled_from([Op.INSERT, Op.UPDATE, Op.UPDATE, Op.DELETE, Op.TRUNCATE]))
        if op is Op.TRUNCATE:
            out.append(Change("t", op, (), None, float(n), SqlitePosition(n)))
            continue
        key = draw(st.integers(0, 5))
        old = draw(st.one_of(st.none(), st.integers(0, 5))) if op is Op.UPDATE else None
        out.append(change(n, op, key, draw(st.integers(0, 99)), old=old))
    return out


def replayed(start: dict[int, int], changes: list[Change]) -> dict[int, int]:
    """The table after each change in turn: what the source holds at the batch's end."""
    rows = dict(start)
    for c in changes:
        if c.op is Op.TRUNCATE:
            rows.clear()
            continue
        if c.old_key is not None:
            rows.pop(c.old_key[0], None)
        if c.op is Op.DELETE:
            rows.pop(c.key[0], None)
        else:
            assert c.after is not None
            rows[c.key[0]] = c.after["v"]
    return rows


def applied(start: dict[int, int], tb: TableBatch | None) -> dict[int, int]:
    """The destination after the applier's one pass: empty if truncated, deletes, upserts."""
    rows = {} if tb is not None and tb.truncate else dict(start)
    if tb is not None:
        for (key,) in tb.deletes:
            rows.pop(key, None)
        rows.update({key: row[1] for (key,), row in tb.upserts.items()})
    return rows


@given(st.dictionaries(st.integers(0, 5), st.integers(0, 99)), keyed_changes())
def test_a_batch_applied_once_leaves_what_the_changes_left(
        start: dict[int, int], changes: list[Change]) -> None:
    batch = coalesce(changes, ROUTES, SqlitePosition(len(changes)))
    tb = batch.tables.get("t2")
    assert applied(start, tb) == replayed(start, changes)
    assert applied(applied(start, tb), tb) == applied(start, tb)  # a replay is harmless
    if tb is not None:
        assert not tb.deletes & tb.upserts.keys()
        assert all(row[0] == key[0] for key, row in tb.upserts.items())
    assert batch.changes == len(changes)


@given(st.lists(st.tuples(st.sampled_from([Op.INSERT, Op.UPDATE, Op.DELETE, Op.TRUNCATE]),
                          st.integers(0, 3), st.integers(0, 3)), max_size=15))
def test_keyless_changes_stay_in_order_after_the_last_truncate(
        steps: list[tuple[Op, int, int]]) -> None:
    changes = []
    for n, (op, before, after) in enumerate(steps):
        old = None if op in (Op.INSERT, Op.TRUNCATE) else {"id": before, "v": 0}
        new = None if op in (Op.DELETE, Op.TRUNCATE) else {"id": after, "v": 1}
        changes.append(Change("log", op, (), new, float(n), SqlitePosition(n), before=old))
    tb = coalesce(changes, KEYLESS_ROUTES, SqlitePosition(len(steps))).tables.get("log")
    truncated = [n for n, (op, _, _) in enumerate(steps) if op is Op.TRUNCATE]
    kept = changes[truncated[-1] + 1 if truncated else 0:]
    if tb is None:
        assert not steps
        return
    assert tb.truncate == bool(truncated)
    assert tb.ops == [(None if c.before is None else (c.before["id"], c.before["v"]),
                       None if c.after is None else (c.after["id"], c.after["v"])) for c in kept]


def test_a_cast_and_renamed_columns_shape_the_written_row() -> None:
    routes = {"t": Route(DEST, SRC.column_names, cast=lambda row: (row[0], str(row[1])))}
    batch = coalesce([change(1, Op.INSERT, 1, 10)], routes, SqlitePosition(1))
    assert batch.tables["t2"].upserts == {(1,): (1, "10")}


def test_referenced_tables_come_first_and_a_cycle_does_not_loop() -> None:
    def table(name: str, *refs: str) -> TableBatch:
        fks = tuple(ForeignKey(("id",), ref, ("id",)) for ref in refs)
        return TableBatch(Table(name, (Column("id", INT),), primary_key=("id",),
                                foreign_keys=fks))

    order = parents_first([table("line", "order"), table("order", "customer"),
                           table("customer"), table("a", "b"), table("b", "a")])
    names = [tb.table.name for tb in order]
    assert names.index("customer") < names.index("order") < names.index("line")
    assert sorted(names) == ["a", "b", "customer", "line", "order"]


def test_a_placed_change_keeps_every_other_field() -> None:
    """Change.placed builds the change field by field: one added later must be passed on."""
    values = {f.name: object() for f in dataclasses.fields(Change)}
    original = Change(**values)
    moved = SqlitePosition(7)
    placed = original.placed(moved)
    assert placed.position is moved
    for name, value in values.items():
        if name != "position":
            assert getattr(placed, name) is value, name
