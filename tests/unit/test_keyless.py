"""Tables without a key in the change path: no coalescing, whole rows, nothing seen twice."""

from __future__ import annotations

from turnout.checkpoints import copied_at
from turnout.coalesce import Route, coalesce
from turnout.engines.sqlite.changelog import SqlitePosition, unquote
from turnout.migrate.incremental import _unseen
from turnout.model import Change, Column, Op, Table
from turnout.types import CanonicalType, Kind

INT, TEXT = CanonicalType(Kind.INT64), CanonicalType(Kind.TEXT)
LOGS = Table("logs", (Column("n", INT), Column("msg", TEXT)))
ROUTES = {"logs": Route(LOGS.renamed("logs2", {}), LOGS.column_names)}


def row(n: int | None, msg: str | None) -> dict[str, object]:
    return {"n": n, "msg": msg}


def change(seq: int, op: Op, before: dict | None = None, after: dict | None = None,
           table: str = "logs") -> Change:
    return Change(table, op, (), after, float(seq), SqlitePosition(seq), before=before)


def test_changes_to_a_table_without_a_key_stay_in_order_duplicates_included() -> None:
    changes = [change(1, Op.INSERT, after=row(1, "x")), change(2, Op.INSERT, after=row(1, "x")),
               change(3, Op.UPDATE, row(1, "x"), row(2, None)),
               change(4, Op.DELETE, row(2, None)), change(5, Op.INSERT, after=row(1, "x"))]
    tb = coalesce(changes, ROUTES, SqlitePosition(5)).tables["logs2"]
    assert tb.ops == [(None, (1, "x")), (None, (1, "x")), ((1, "x"), (2, None)),
                      ((2, None), None), (None, (1, "x"))]
    assert not tb.upserts and not tb.deletes and len(tb) == 5


def test_a_truncate_forgets_the_changes_before_it() -> None:
    changes = [change(1, Op.INSERT, after=row(1, "x")),
               Change("logs", Op.TRUNCATE, (), None, 2.0, SqlitePosition(2)),
               change(3, Op.INSERT, after=row(3, "y"))]
    tb = coalesce(changes, ROUTES, SqlitePosition(3)).tables["logs2"]
    assert tb.truncate and tb.ops == [(None, (3, "y"))]


def test_changes_the_copy_holds_already_are_left_out() -> None:
    changes = [change(n, Op.INSERT, after=row(n, "x")) for n in (4, 5, 6)]
    changes.append(change(5, Op.INSERT, after=row(5, "k"), table="keyed"))
    kept = _unseen(changes, {"logs": SqlitePosition(5)})
    assert [(c.table, c.position) for c in kept] == [("logs", SqlitePosition(6)),
                                                     ("keyed", SqlitePosition(5))]
    assert _unseen(changes, {}) == changes


def test_where_a_copy_stood_is_read_from_its_checkpoint_only_when_saved() -> None:
    saved = {"full:logs": '{"after": null, "rows": 3, "done": true, "at": "{\\"seq\\": 7}"}',
             "full:other": '{"after": null, "rows": 3, "done": true}',
             "full#0:big": '{"lo": null, "hi": "[5]", "after": null, "rows": 0, "done": false}',
             "position": '{"seq": 9}'}
    assert copied_at(saved) == {"logs": '{"seq": 7}'}


def test_sqlite_quoted_values_come_back_exactly() -> None:
    assert unquote("NULL") is None
    assert unquote("-9223372036854775808") == -2**63
    assert unquote("3.33333333333333314829e-01") == 1 / 3
    assert unquote("'it''s'") == "it's" and unquote("''") == ""
    assert unquote("X'00FF'") == b"\x00\xff"
    assert unquote("Inf") == float("inf")
