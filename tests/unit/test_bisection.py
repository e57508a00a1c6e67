"""Bisection in verification: ranges cut, checksummed and fetched until every difference shows.

The cutting itself is pure (ranges._split, ranges._even_cuts); the whole descent runs on two
SQLite files, a real database in this process, with the range sizes made tiny so that a
table of a few dozen rows is cut several levels deep. Whatever rows differ, the report must
name exactly those keys, each under its kind.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout import api
from turnout.engines.snapshot import KeySpan
from turnout.verify import ranges
from turnout.verify.ranges import _even_cuts, _split


def contains(span: KeySpan, key: int) -> bool:
    return ((span.after is None or key > span.after[0])
            and (span.upto is None or key <= span.upto[0]))


bounds = st.tuples(st.integers(-500, 500), st.integers(1, 500)).map(lambda p: (p[0], p[0] + p[1]))


@given(bounds, st.lists(st.integers(-600, 1100), max_size=10), st.booleans(), st.booleans())
def test_split_covers_the_span_once_and_leaves_no_empty_piece(
        span_bounds: tuple[int, int], raw: list[int], open_low: bool, open_high: bool) -> None:
    low, high = span_bounds
    span = KeySpan(None if open_low else (low,), None if open_high else (high,))
    # cuts as a reader returns them: in key order, inside the span
    cuts = [(c,) for c in sorted(set(raw)) if contains(span, c)]
    pieces = _split(span, cuts)
    assert pieces[0].after == span.after and pieces[-1].upto == span.upto
    assert all(a.upto == b.after for a, b in zip(pieces, pieces[1:], strict=False))
    assert all(p.after is None or p.upto is None or p.after < p.upto for p in pieces)
    for key in {low - 1, low, low + 1, high - 1, high, high + 1, *(c[0] for c in cuts)}:
        assert sum(contains(p, key) for p in pieces) == contains(span, key), key


@given(st.integers(-10**6, 10**6), st.integers(1, 10**6), st.integers(1, 300))
def test_even_cuts_rise_strictly_inside_the_range(low: int, width: int, pieces: int) -> None:
    pieces = min(pieces, width)  # the callers never ask for more pieces than keys
    cuts = [c[0] for c in _even_cuts(low, low + width, pieces)]
    assert len(cuts) == pieces - 1
    assert all(low < c < low + width for c in cuts)
    assert cuts == sorted(set(cuts))


# --------------------------------------------------------------------------- the descent


@contextmanager
def tiny_ranges() -> Iterator[None]:
    """Ranges of a few rows, so that small tables are cut several times over."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ranges, "FETCH_ROWS", 2)
        patch.setattr(ranges, "BUCKETS", 4)
        patch.setattr(ranges, "FANOUT", 3)
        patch.setattr(ranges, "RANGE_ROWS", 8)
        patch.setattr(ranges, "STREAM_ROWS", 8)
        yield


def database(path: Path, key_type: str, rows: dict[Any, str]) -> str:
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE t (id {key_type} PRIMARY KEY, v TEXT NOT NULL)")
    db.executemany("INSERT INTO t VALUES (?, ?)", sorted(rows.items()))
    db.commit()
    db.close()
    return f"sqlite:///{path}"


def differences(source: dict[Any, str], dest: dict[Any, str], key_type: str) -> dict[str, set]:
    with tempfile.TemporaryDirectory() as work, tiny_ranges():
        report = api.verify_urls(database(Path(work) / "a.db", key_type, source),
                                 database(Path(work) / "b.db", key_type, dest), threads=2)
    (table,) = report["tables"]
    return {kind: {k[0] for k in table[kind]} for kind in ("missing", "extra", "different")}


def expected(source: dict[Any, str], dest: dict[Any, str]) -> dict[str, set]:
    return {"missing": source.keys() - dest.keys(), "extra": dest.keys() - source.keys(),
            "different": {k for k in source.keys() & dest.keys() if source[k] != dest[k]}}


values = st.sampled_from(["a", "b", "c"])
edits = st.dictionaries(st.integers(0, 120), st.one_of(st.none(), values), max_size=8)


@settings(max_examples=12, deadline=None)
@given(st.dictionaries(st.integers(0, 100), values, max_size=60), edits)
def test_bisection_finds_exactly_the_rows_that_differ_by_integer_key(
        source: dict[int, str], changes: dict[int, str | None]) -> None:
    dest = dict(source)
    for key, value in changes.items():
        if value is None:
            dest.pop(key, None)
        else:
            dest[key] = value
    assert differences(source, dest, "INTEGER") == expected(source, dest)


@settings(max_examples=6, deadline=None)
@given(st.dictionaries(st.text("xyz", min_size=1, max_size=3), values, max_size=40),
       st.dictionaries(st.text("xyz", min_size=1, max_size=3), st.one_of(st.none(), values),
                       max_size=6))
def test_bisection_finds_exactly_the_rows_that_differ_by_text_key(
        source: dict[str, str], changes: dict[str, str | None]) -> None:
    dest = dict(source)
    for key, value in changes.items():
        if value is None:
            dest.pop(key, None)
        else:
            dest[key] = value
    assert differences(source, dest, "TEXT") == expected(source, dest)
