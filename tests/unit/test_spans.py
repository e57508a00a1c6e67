"""Key ranges: the full step's spans and their checkpoints, and the readers' key predicates.

The property that matters: whatever cuts the source proposes, the spans cover the key space
exactly once, and a checkpoint read back gives the same spans, so a resumed copy neither
skips nor repeats a row.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from turnout.engines.keyrange import after_key
from turnout.migrate.plan import TablePlan
from turnout.migrate.spans import (
    Span,
    checkpoint_name,
    initial_checkpoint,
    new_spans,
    restart,
    saved_spans,
    span_name,
)
from turnout.model import Column, Key, Table
from turnout.types import CanonicalType, Kind

INT = CanonicalType(Kind.INT64)
KEYED = Table("t#1", (Column("id", INT), Column("v", INT)), primary_key=("id",))
KEYLESS = Table("log", (Column("v", INT),))
PLAN = TablePlan(KEYED, KEYED)


def holds(span: Span, key: Key) -> bool:
    """Whether `key` is in the span: above `lo` (exclusive), at most `hi` (inclusive)."""
    return (span.lo is None or key > span.lo) and (span.hi is None or key <= span.hi)


sorted_cuts = st.lists(st.integers(-1000, 1000), unique=True, max_size=12).map(sorted)


@given(sorted_cuts)
def test_spans_cover_every_key_exactly_once(cuts: list[int]) -> None:
    spans = new_spans(PLAN, [(c,) for c in cuts])
    assert len(spans) == len(cuts) + 1
    edges = {k for c in cuts for k in (c - 1, c, c + 1)} | {-5000, 0, 5000}
    for key in edges:
        assert sum(holds(s, (key,)) for s in spans) == 1, key


@given(sorted_cuts)
def test_a_resumed_run_reads_back_the_same_spans(cuts: list[int]) -> None:
    spans = new_spans(PLAN, [(c,) for c in cuts])
    saved = initial_checkpoint("task", spans).values
    again = saved_spans(PLAN, saved)
    assert [(s.name, s.lo, s.hi, s.after, s.rows, s.done) for s in again] == [
        (s.name, s.lo, s.hi, None, 0, False) for s in spans]


def test_spans_are_named_after_the_table_and_their_number() -> None:
    spans = new_spans(PLAN, [(10,), (20,)])
    assert [s.name for s in spans] == ["full#0:t#1", "full#1:t#1", "full#2:t#1"]
    assert all(s.bounded for s in spans)
    assert span_name(PLAN, 2) == "full#2:t#1" and checkpoint_name(PLAN) == "full:t#1"


def test_a_table_the_source_does_not_cut_is_one_span_under_the_old_name() -> None:
    (whole,) = new_spans(PLAN, [])
    assert whole.name == "full:t#1" and not whole.bounded
    assert json.loads(whole.state(0, None, False)) == {"after": None, "rows": 0, "done": False}


def test_a_table_without_a_key_is_one_stream_whatever_the_cuts() -> None:
    plan = TablePlan(KEYLESS, KEYLESS)
    (whole,) = new_spans(plan, [(1,)])
    assert whole.name == "full:log" and whole.lo is None and whole.hi is None


keys = st.one_of(
    st.tuples(st.integers()),
    st.tuples(st.text(), st.integers(-5, 5)),
    st.tuples(st.dates()),
    st.tuples(st.datetimes()),
    st.tuples(st.binary(max_size=8)),
)


@given(keys, keys, st.one_of(st.none(), keys), st.integers(0, 10**9), st.booleans())
def test_a_span_checkpoint_gives_back_its_bounds_and_progress(
        lo: Key, hi: Key, last: Key | None, rows: int, done: bool) -> None:
    span = Span(PLAN, span_name(PLAN, 3), lo, hi)
    back = Span.load(PLAN, span.name, span.state(rows, last, done))
    assert (back.lo, back.hi, back.after, back.rows, back.done) == (lo, hi, last, rows, done)


def test_a_committed_chunk_moves_the_span_on_and_a_short_one_ends_it() -> None:
    span = Span(PLAN, span_name(PLAN, 0), (5,), (50,))
    assert span.remaining() == ((5,), (50,))
    checkpoint = span.checkpoint("task", chunk_rows=10, rows=10, last=(15,))
    assert json.loads(checkpoint.values[span.name]) == {
        "lo": "[5]", "hi": "[50]", "after": "[15]", "rows": 10, "done": False}
    span.advance(10, (15,), chunk_rows=10)
    assert span.remaining() == ((15,), (50,)) and not span.done
    span.advance(3, (20,), chunk_rows=10)
    assert span.done and span.rows == 13


def test_only_a_keyless_table_begun_and_not_done_starts_again() -> None:
    keyless = Span(TablePlan(KEYLESS, KEYLESS), "full:log", rows=7, at='{"seq": 1}')
    assert restart(keyless) and (keyless.rows, keyless.after, keyless.at) == (0, None, None)
    keyless.done = True
    assert not restart(keyless)
    assert not restart(Span(PLAN, "full:t#1", after=(3,), rows=3))


def test_after_key_is_a_row_value_comparison_or_nothing() -> None:
    assert after_key('"a", "b"', ("x", 2), "%s") == ('WHERE ("a", "b") > (%s, %s)', ["x", 2])
    assert after_key("id", None, "?") == ("", [])


def test_key_types_a_checkpoint_holds_compare_as_keys_do() -> None:
    """Bounds read back from JSON must still order against the keys a reader returns."""
    day = dt.date(2024, 2, 29)
    span = Span.load(PLAN, "full#0:t", Span(PLAN, "full#0:t", (day,), None).state(0, None, False))
    later: Any = (dt.date(2024, 3, 1),)
    assert span.lo is not None and later > span.lo
