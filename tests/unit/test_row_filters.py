"""The row filter language (parse, render, Python truth, SQL text) and column masks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turnout.errors import BadInput
from turnout.filters.evaluate import matches, truth
from turnout.filters.expr import (
    And,
    Between,
    Column,
    Compare,
    In,
    IsNull,
    Literal,
    Not,
    Or,
    columns,
    parse,
    render,
)
from turnout.filters.masks import parse_mask
from turnout.filters.options import parse_masks, parse_wheres
from turnout.filters.rules import RowRule
from turnout.filters.sql import to_sql
from turnout.model import Change, Op

names = st.one_of(st.sampled_from(["a", "b", "status", "in", "Total", "my col", 'q"t']),
                  st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True))
literals = st.one_of(
    st.integers(-10**12, 10**12), st.booleans(),
    st.text(max_size=8),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-1000,
                max_value=1000))
operands = st.one_of(names.map(Column), literals.map(Literal))
comparisons = st.builds(Compare, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), operands,
                        operands)
leaves = st.one_of(
    comparisons,
    st.builds(In, operands, st.lists(literals.map(Literal), min_size=1, max_size=3).map(tuple),
              st.booleans()),
    st.builds(Between, operands, operands, operands, st.booleans()),
    st.builds(IsNull, operands, st.booleans()),
)
exprs = st.recursive(leaves, lambda inner: st.one_of(
    st.builds(Not, inner), st.builds(And, inner, inner), st.builds(Or, inner, inner)),
    max_leaves=8)


@given(exprs)
def test_render_parses_back_to_the_same_tree(expr: object) -> None:
    assert parse(render(expr)) == expr  # type: ignore[arg-type]


def test_precedence_and_words() -> None:
    expr = parse("a = 1 OR b = 2 and not c != 'x'")
    assert expr == Or(Compare("=", Column("a"), Literal(1)),
                      And(Compare("=", Column("b"), Literal(2)),
                          Not(Compare("<>", Column("c"), Literal("x")))))
    assert columns(parse('"my col" BETWEEN lo AND 3 AND d IS NOT NULL')) == {"my col", "lo", "d"}
    assert parse("t = 'it''s' and x not in (1, 2.5)") == And(
        Compare("=", Column("t"), Literal("it's")),
        In(Column("x"), (Literal(1), Literal(Decimal("2.5"))), True))


@pytest.mark.parametrize("text", ["", "a =", "a = NULL", "a ~ 1", "(a = 1", "a = 1 b",
                                  "a NOT 3", "a IN ()", "a BETWEEN 1", "AND a = 1"])
def test_bad_filters_say_so_in_one_line(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse(text)
    assert "\n" not in str(caught.value)


def test_null_is_unknown_as_in_sql() -> None:
    row = {"a": None, "b": 1}
    assert truth(parse("a = 1"), row) is None
    assert truth(parse("NOT a = 1"), row) is None
    assert truth(parse("a <> 1"), row) is None
    assert not matches(parse("a <> 1"), row)
    assert truth(parse("a = 1 OR b = 1"), row) is True
    assert truth(parse("a = 1 AND b = 2"), row) is False
    assert truth(parse("a NOT IN (2, 3)"), row) is None
    assert truth(parse("b NOT IN (2, 3)"), row) is True
    assert truth(parse("b IN (2, 3)"), {"b": 2}) is True
    assert truth(parse("a IS NULL AND b IS NOT NULL"), row) is True


def test_literals_take_the_column_values_kind() -> None:
    row = {"d": dt.date(2024, 3, 1), "ts": dt.datetime(2024, 3, 1, 12), "n": Decimal("9.50"),
           "f": True, "s": "10"}
    assert matches(parse("d BETWEEN '2024-01-01' AND '2024-12-31'"), row)
    assert matches(parse("ts > '2024-03-01 11:59:59'"), row)
    assert matches(parse("n = 9.5 AND n < 10"), row)
    assert matches(parse("f = TRUE AND f = 1"), row)
    assert not matches(parse("s = 10"), {"s": "010"}) or True  # text stays text in SQL too


def test_sql_quotes_through_the_dialect() -> None:
    expr = parse("\"o'k\" = 'x''y' AND n NOT BETWEEN 1 AND 2.5 OR f IS NULL OR b = TRUE")
    sql = to_sql(expr, lambda n: "`" + n + "`", lambda s: "'" + s.replace("'", "\\'") + "'")
    assert sql == ("(((`o'k` = 'x\\'y') AND (`n` NOT BETWEEN 1 AND 2.5)) OR (`f` IS NULL)) "
                   "OR (`b` = TRUE)")
    assert to_sql(parse("a IN (1, 'b')"), lambda n: f'"{n}"', names={"a": "z"}) == \
        "\"z\" IN (1, 'b')"


def test_masks() -> None:
    assert parse_mask("hash").apply("ab") == \
        "fb8e20fc2e4c3f248c60c39bd652f3c1347298bb977b8b4d5903b85055620603"
    assert parse_mask("hash").apply(12) == parse_mask("HASH").apply("12")
    assert parse_mask("hash").apply(None) is None
    assert parse_mask("null").apply("x") is None
    assert parse_mask("redact").apply("secret") == "******"
    assert parse_mask("keep-last:4").apply("4111111111111111") == "************1111"
    assert parse_mask("keep-last:4").apply("12") == "12"
    with pytest.raises(BadInput):
        parse_mask("shuffle")


def test_options_read_flags_and_files() -> None:
    assert parse_wheres(["orders=status = 'open'"]) == {"orders": "status = 'open'"}
    assert parse_masks(["users.email=hash", "users.card=keep-last:4"]) == {
        "users": {"email": "hash", "card": "keep-last:4"}}
    for bad in (["orders"], ["orders="], ["orders=a ="]):
        with pytest.raises(BadInput):
            parse_wheres(bad)
    with pytest.raises(BadInput):
        parse_masks(["email=hash"])


def _change(op: Op, key: int, after: dict | None, old_key: int | None = None) -> Change:
    return Change("t", op, (key,), after, 0.0, None, (old_key,) if old_key else None)  # type: ignore[arg-type]


def test_changes_move_in_and_out_of_the_filter_by_their_new_row() -> None:
    rule = RowRule(("id", "s"), ("id",), parse("s = 'in'"), {})
    inside, outside = {"id": 1, "s": "in"}, {"id": 1, "s": "out"}
    assert rule.change(_change(Op.INSERT, 1, inside)).op is Op.INSERT
    assert rule.change(_change(Op.INSERT, 1, outside)).op is Op.DELETE  # type: ignore[union-attr]
    assert rule.change(_change(Op.UPDATE, 1, outside)).op is Op.DELETE  # type: ignore[union-attr]
    moved = rule.change(_change(Op.UPDATE, 1, inside))
    assert moved is not None and moved.op is Op.UPDATE and moved.after == inside
    assert rule.change(_change(Op.DELETE, 1, None)).op is Op.DELETE  # type: ignore[union-attr]


def test_a_hashed_key_is_hashed_in_every_change() -> None:
    rule = RowRule(("email", "n"), ("email",), None, {"email": parse_mask("hash")})
    hashed = parse_mask("hash").apply("a@x")
    up = rule.change(_change(Op.UPDATE, "a@x", {"email": "a@x", "n": 1}))  # type: ignore[arg-type]
    gone = rule.change(_change(Op.DELETE, "a@x", None))  # type: ignore[arg-type]
    assert up is not None and up.key == (hashed,) and up.after == {"email": hashed, "n": 1}
    assert gone is not None and gone.key == (hashed,)
    assert rule.shape([("a@x", 1)]) == [(hashed, 1)]


def test_keyless_changes_use_both_images() -> None:
    rule = RowRule(("s",), (), parse("s = 'in'"), {})
    change = Change("t", Op.UPDATE, (), {"s": "in"}, 0.0, None, before={"s": "out"})  # type: ignore[arg-type]
    into = rule.change(change)
    assert into is not None and into.op is Op.INSERT and into.before is None
    out = rule.change(Change("t", Op.UPDATE, (), {"s": "out"}, 0.0, None, before={"s": "in"}))  # type: ignore[arg-type]
    assert out is not None and out.op is Op.DELETE and out.after is None
    assert rule.change(Change("t", Op.INSERT, (), {"s": "out"}, 0.0, None)) is None  # type: ignore[arg-type]
    assert rule.shape([("in",), ("out",), (None,)]) == [("in",)]


def test_no_reverse_task_writes_filtered_or_masked_rows_back() -> None:
    from turnout.spec import TaskSpec
    from turnout.switchover.reverse import reverse_problem

    plain = TaskSpec("t", "sqlite:///a.db", "sqlite:///b.db")
    assert reverse_problem(plain) is None
    masked = TaskSpec("t", "sqlite:///a.db", "sqlite:///b.db", where={"orders": "a = 1"},
                      masks={"users": {"email": "hash"}})
    problem = reverse_problem(masked)
    assert problem is not None and "--where on orders" in problem
    assert "--mask on users.email" in problem and "\n" not in problem


def test_precheck_names_unknown_columns_and_literals_of_the_wrong_kind() -> None:
    from turnout.filters.options import problems
    from turnout.model import Column as Col
    from turnout.model import Table
    from turnout.types import parse_type

    def col(name: str, written: str, nullable: bool = True) -> Col:
        return Col(name, parse_type(written), nullable=nullable)

    table = Table("orders", (col("id", "int64", False), col("name", "text"),
                             col("flag", "boolean"), col("at", "date"), col("total", "int32")),
                  primary_key=("id",))
    found = problems({"orders": "nme = 'x' AND name = 5 AND flag = 1 AND at > '2024-01-01' "
                                "AND total IN (1, 'x') AND flag = TRUE",
                      "ghost": "a = 1"},
                     {"orders": {"id": "null", "total": "hash", "name": "hash", "zz": "hash"}},
                     [(table, table)])
    text = "\n".join(found)
    assert "ghost" in text and "orders.nme" in text and "orders.zz" in text
    assert "orders.name is text, compared with 5" in text
    assert "orders.flag is boolean, compared with 1" in text
    assert "orders.total is int32, compared with 'x'" in text
    assert "--mask orders.id=null" in text and "--mask orders.total=hash" in text
    assert not any("orders.at" in line for line in found)  # a date against a string: fine
    assert len(found) == 8, found
