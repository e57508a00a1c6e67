"""The part of a --where the source's SELECT applies in the full step (filters/pushdown.py):
it must never drop a row the Python check keeps, and it keeps what SQL judges exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    parse,
    render,
)
from turnout.filters.pushdown import pushdown
from turnout.types import Kind

KINDS = {"i": Kind.INT64, "d": Kind.DECIMAL, "s": Kind.TEXT, "f": Kind.FLOAT64,
         "b": Kind.BOOLEAN}
NUMBERS_ONLY = {"i": Kind.INT64, "d": Kind.DECIMAL}

numbers = st.one_of(st.integers(-50, 50),
                    st.decimals(allow_nan=False, allow_infinity=False, places=1,
                                min_value=-50, max_value=50))
literals = st.one_of(numbers, st.booleans(), st.sampled_from(["a", "B", "10", ""]),
                     st.floats(-50, 50))


def exprs_over(columns: list[str], values: st.SearchStrategy) -> st.SearchStrategy:
    operands = st.one_of(st.sampled_from(columns).map(Column), values.map(Literal))
    leaves = st.one_of(
        st.builds(Compare, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), operands,
                  operands),
        st.builds(In, operands, st.lists(values.map(Literal), min_size=1, max_size=3)
                  .map(tuple), st.booleans()),
        st.builds(Between, operands, operands, operands, st.booleans()),
        st.builds(IsNull, operands, st.booleans()),
    )
    return st.recursive(leaves, lambda inner: st.one_of(
        st.builds(Not, inner), st.builds(And, inner, inner), st.builds(Or, inner, inner)),
        max_leaves=8)


rows = st.fixed_dictionaries({
    "i": st.one_of(st.none(), st.integers(-60, 60)),
    "d": st.one_of(st.none(), numbers.map(lambda n: Decimal(n))),
    "s": st.one_of(st.none(), st.sampled_from(["a", "A", "b", "B", "10", "a ", ""])),
    "f": st.one_of(st.none(), st.floats(-60, 60)),
    "b": st.one_of(st.none(), st.booleans()),
})


@settings(max_examples=400)
@given(exprs_over(list(KINDS), literals), rows)
def test_every_row_the_filter_keeps_the_pushed_part_keeps(expr: object, row: dict) -> None:
    pushed = pushdown(expr, KINDS)  # type: ignore[arg-type]
    if matches(expr, row):  # type: ignore[arg-type]
        assert pushed is None or matches(pushed, row)


@settings(max_examples=300)
@given(exprs_over(list(NUMBERS_ONLY), numbers), rows)
def test_over_numbers_only_the_whole_filter_is_pushed_unchanged_in_meaning(
        expr: object, row: dict) -> None:
    """NOTs moved onto comparisons keep SQL's three-valued truth, unknown included."""
    pushed = pushdown(expr, NUMBERS_ONLY)  # type: ignore[arg-type]
    assert pushed is not None
    assert truth(pushed, row) == truth(expr, row)  # type: ignore[arg-type]
    assert "NOT (" not in render(pushed)


@pytest.mark.parametrize(("text", "pushed"), [
    ("i > 5", "i > 5"),
    ("NOT (i > 5)", "i <= 5"),
    ("NOT (i IN (1, 2) OR d IS NULL)", "i NOT IN (1, 2) AND d IS NOT NULL"),
    ("NOT i BETWEEN 1 AND 3", "i NOT BETWEEN 1 AND 3"),
    ("i > 5 AND s = 'x'", "i > 5"),  # a string follows the column's collation: not pushed
    ("i > 5 OR s = 'x'", None),  # one side unknown to SQL: read every row
    ("NOT (s = 'x' OR i = 1)", "i <> 1"),
    ("f > 1.5 AND d < 2.5", "d < 2.5"),  # a float compares in binary in SQL
    ("b = TRUE", None),
    ("i = 1" + "0" * 30, None),  # a long literal may become a double in MySQL
    ("s IS NULL", None),
    ("d = i AND i >= -3", "(d = i) AND (i >= -3)"),
])
def test_what_is_pushed(text: str, pushed: str | None) -> None:
    got = pushdown(parse(text), KINDS)
    if pushed is None:
        assert got is None
    else:
        assert got == parse(pushed), (render(got) if got else None)
