from turnout.coalesce import Route, coalesce
from turnout.engines.sqlite.capture import SqlitePosition
from turnout.model import Change, Column, Op, Table
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
