"""Comparing one table pair: range checksums on both sides, bisecting only where they differ.

A range whose row count and hash sum agree on both sides is settled without
moving a row. A range that differs is cut into smaller ones (integer keys:
one scan per side sums BUCKETS slices at once), until it is small enough to
fetch from both sides and compare row by row in Python with exact spellings
(forms.py). Rows hash as MD5 over their canonical text, or by a faster hash of
the engine's own when both sides are the same engine and name the same one.
Tables whose columns cannot be spelled alike inside both databases skip the
checksums and are fetched range by range; tables without a key are compared
as multisets of row hashes.

The methods that query run as jobs on compare.py's pool; take() and
finish() run on the scheduling thread.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from turnout.engines.base import KeySpan
from turnout.engines.checksums import VerifyReader
from turnout.engines.forms import canonical
from turnout.model import Key, Row
from turnout.verify.pairs import Side, TablePair
from turnout.verify.report import Difference, DiffKind, TableResult
from turnout.verify.workers import Readers, Throttle

FETCH_ROWS = 256  # a differing range this small is fetched and compared row by row
BUCKETS = 256  # slices one scan checksums when the key is an integer
FANOUT = 16  # a bigger differing range is cut into this many
RANGE_ROWS = 50_000  # rows per first range (by key value for integer keys)
STREAM_ROWS = 5_000  # rows per range fetched whole when the sides cannot checksum alike

@dataclass
class Outcome:
    """What one job learnt about one range."""

    spans: list[KeySpan] = field(default_factory=list)  # to look at more closely
    fetch: list[KeySpan] = field(default_factory=list)  # small enough to fetch at once
    rows: tuple[int, int] = (0, 0)  # rows settled on each side
    fetched: tuple[list[Row], list[Row]] | None = None  # rows to compare here
    total: int | None = None  # the source's row count, when this job counted it


class TableComparison:
    """The state of one pair's comparison; jobs run elsewhere, results come back here."""

    def __init__(self, pair: TablePair, readers: Readers, throttle: Throttle,
                 dest_pool: ThreadPoolExecutor | None = None) -> None:
        self.pair = pair
        self.dest_pool = dest_pool  # runs the destination's query while this thread runs ours
        self.readers = readers
        self.throttle = throttle
        dest = pair.dest
        self.result = TableResult(pair.source.table.name, dest.table.name if dest else "",
                                  keyed=pair.keyed, problems=list(pair.problems))
        self.missing: dict[tuple[Any, ...], Row] = {}
        self.extra: dict[tuple[Any, ...], Row] = {}
        self.total: int | None = None
        self._native: bool | None = None

    # jobs (run on the pool) ------------------------------------------------------

    def _reader(self, side: Side) -> VerifyReader:
        return self.readers.get(side.engine)

    @property
    def native(self) -> bool:
        """Whether both sides hash rows with the same native hash rather than MD5."""
        if self._native is None:
            dst = self.pair.dest
            assert dst is not None
            ours, theirs = self._reader(self.pair.source).native, self._reader(dst).native
            self._native = ours is not None and ours == theirs
        return self._native

    def first_jobs(self, counted: bool) -> list[Callable[[], Outcome]]:
        """`counted`: whether to count the source's rows first (a total for progress bars)."""
        if self.pair.dest is None:
            return [self._count_source]
        if self.pair.rule is not None:
            return [self.whole]
        if not self.pair.keyed:
            return [self._multiset]
        return [self._count_source, self._first_spans] if counted else [self._first_spans]

    def whole(self) -> Outcome:
        """A filtered or masked table: every row of both sides, the source's shaped as the
        task shapes them (rules.py), compared here."""
        dst = self.pair.dest
        assert dst is not None and self.pair.rule is not None
        ours, theirs = self._both(lambda side: self._reader(side).rows(
            side.table, _names(side), side.key or _names(side), KeySpan()))
        self.throttle.spent(len(ours) + len(theirs))
        return Outcome(fetched=(self.pair.rule.shape(ours), theirs))

    def _count_source(self) -> Outcome:
        src = self.pair.source
        return Outcome(total=self._reader(src).count(src.table))

    def _first_spans(self) -> Outcome:
        src = self.pair.source
        reader = self._reader(src)
        if self.pair.in_db and self._integer_key:
            low, high = reader.bounds(src.table, src.key[0])
            if low is None:
                return Outcome(spans=[KeySpan()])
            low, high = int(low), int(high)
            pieces = max(1, min(256, (high - low) // RANGE_ROWS + 1))
            # below and above the source's keys stay open (the destination may have rows
            # there); the bounded middle is checksummed in buckets
            cuts = [(low - 1,), *_even_cuts(low, high, pieces), (high,)]
        else:
            every = RANGE_ROWS if self.pair.in_db else STREAM_ROWS
            cuts = reader.cuts(src.table, src.key, KeySpan(), every)
        return Outcome(spans=_split(KeySpan(), cuts))

    def look(self, span: KeySpan) -> Outcome:
        """Checksum the span on both sides; settle it, cut it, or fetch it."""
        src, dst = self.pair.source, self.pair.dest
        assert dst is not None
        if self.pair.in_db and self._integer_key and None not in (span.after, span.upto):
            return self._look_in_buckets(span)
        if self.pair.in_db:
            native = self.native
            ours, theirs = self._both(lambda side: self._reader(side).checksum(
                side.table, side.key, side.probes, span, native))
            self.throttle.spent(ours[0] + theirs[0])
            if ours == theirs:
                return Outcome(rows=(ours[0], theirs[0]))
            biggest = max(ours[0], theirs[0])
            if biggest > FETCH_ROWS:
                cuts = self._cuts(src if ours[0] >= theirs[0] else dst, span, biggest)
                if cuts:
                    return Outcome(spans=_split(span, cuts))
        return self._fetch(span)

    def _look_in_buckets(self, span: KeySpan) -> Outcome:
        """One scan per side checksums BUCKETS slices of an integer key's span: the slices
        that differ are fetched, or sliced again when they hold many rows."""
        assert span.after is not None and span.upto is not None
        after, upto = int(span.after[0]), int(span.upto[0])
        width = max(1, math.ceil((upto - after) / BUCKETS))
        native = self.native
        ours, theirs = self._both(lambda side: self._reader(side).bucket_checksums(
            side.table, side.key[0], side.probes, after, upto, width, native))
        outcome = Outcome()
        for label in set(ours) | set(theirs):
            mine, other = ours.get(label, (0, 0)), theirs.get(label, (0, 0))
            if mine == other:
                outcome.rows = (outcome.rows[0] + mine[0], outcome.rows[1] + other[0])
                continue
            start = after + label * width
            piece = KeySpan((start,), (min(upto, start + width),))
            many = max(mine[0], other[0]) > FETCH_ROWS and width > 1
            (outcome.spans if many else outcome.fetch).append(piece)
        self.throttle.spent(outcome.rows[0] + outcome.rows[1])
        return outcome

    @property
    def _integer_key(self) -> bool:
        src = self.pair.source
        return len(src.key) == 1 and src.table.column(src.key[0]).type.is_integer

    def _cuts(self, side: Side, span: KeySpan, rows: int) -> list[Key]:
        """Where to cut a differing span into FANOUT: by value for an integer key (two index
        lookups), else every so many rows (a scan of the span's keys)."""
        reader = self._reader(side)
        if self._integer_key:
            low, high = reader.bounds(side.table, side.key[0], span)
            if low is None or low == high:
                return []
            return _even_cuts(int(low), int(high), min(FANOUT, int(high) - int(low)))
        return reader.cuts(side.table, side.key, span, math.ceil(rows / FANOUT))

    def _both(self, query: Callable[[Side], Any]) -> tuple[Any, Any]:
        """The same query on both sides, at the same time when there is a pool for it."""
        src, dst = self.pair.source, self.pair.dest
        assert dst is not None
        if self.dest_pool is None:
            return query(src), query(dst)
        theirs = self.dest_pool.submit(query, dst)
        return query(src), theirs.result()

    def _fetch(self, span: KeySpan) -> Outcome:
        ours, theirs = self._both(lambda side: self._reader(side).rows(
            side.table, _names(side), side.key, span))
        self.throttle.spent(len(ours) + len(theirs))
        return Outcome(fetched=(ours, theirs))

    def _multiset(self) -> Outcome:
        """A table without a key: which rows (by hash) each side has how many times."""
        src, dst = self.pair.source, self.pair.dest
        assert dst is not None
        if not self.pair.in_db:
            return Outcome(fetched=(self._reader(src).rows(src.table, _names(src), _names(src),
                                                           KeySpan()),
                                    self._reader(dst).rows(dst.table, _names(dst), _names(dst),
                                                           KeySpan())))
        native = self.native
        ours = self._reader(src).hash_counts(src.table, src.probes, native)
        theirs = self._reader(dst).hash_counts(dst.table, dst.probes, native)
        self.result.rows_source, self.result.rows_dest = sum(ours.values()), sum(theirs.values())
        surplus_ours = Counter(ours) - Counter(theirs)
        surplus_theirs = Counter(theirs) - Counter(ours)
        for side, surplus, kind in ((src, surplus_ours, DiffKind.MISSING),
                                    (dst, surplus_theirs, DiffKind.EXTRA)):
            rows = self._reader(side).rows_by_hash(side.table, _names(side), side.probes,
                                                   list(surplus), native)
            for hashed, row in rows:
                if surplus[hashed] > 0:
                    surplus[hashed] -= 1
                    self._add(kind, row)
        return Outcome()

    # results (back on the scheduling thread) ---------------------------------------

    def take(self, outcome: Outcome) -> list[Callable[[], Outcome]]:
        """Record a job's outcome; the jobs it calls for next."""
        if outcome.total is not None:
            self.total = outcome.total
            if self.pair.dest is None:
                self.result.rows_source = outcome.total
        self.result.rows_source += outcome.rows[0]
        self.result.rows_dest += outcome.rows[1]
        if outcome.fetched is not None:
            self.result.rows_fetched += len(outcome.fetched[0])
            self.compare_rows(*outcome.fetched)
        jobs: list[Callable[[], Outcome]] = [partial(self.look, s) for s in outcome.spans]
        return jobs + [partial(self._fetch, span) for span in outcome.fetch]

    @property
    def done_rows(self) -> int:
        return self.result.rows_source

    def compare_rows(self, ours: list[Row], theirs: list[Row]) -> None:
        self.result.rows_source += len(ours)
        self.result.rows_dest += len(theirs)
        if not self.pair.keyed:
            self._compare_multisets(ours, theirs)
            return
        their_rows = {self._key(row): row for row in theirs}
        for row in ours:
            key = self._key(row)
            other = their_rows.pop(key, None)
            if other is None:
                self.missing[key] = row
            else:
                self._check(row, other)
        self.extra.update(their_rows)

    def _compare_multisets(self, ours: list[Row], theirs: list[Row]) -> None:
        mine = Counter(self._spelled(r) for r in ours)
        others = Counter(self._spelled(r) for r in theirs)
        by_spelling = {self._spelled(r): r for r in ours} | {self._spelled(r): r for r in theirs}
        for spelling, n in (mine - others).items():
            for _ in range(n):
                self._add(DiffKind.MISSING, by_spelling[spelling])
        for spelling, n in (others - mine).items():
            for _ in range(n):
                self._add(DiffKind.EXTRA, by_spelling[spelling])

    def _check(self, ours: Row, theirs: Row) -> None:
        a, b = self._spelled(ours), self._spelled(theirs, source=False)
        if a != b:
            columns = tuple(n for n, x, y in zip(self.pair.columns, a, b, strict=True) if x != y)
            key = tuple(ours[i] for i in self.pair.key_at)
            self.result.differences.append(
                Difference(DiffKind.DIFFERENT, key, columns, ours, theirs))

    def _add(self, kind: DiffKind, row: Row) -> None:
        key = tuple(row[i] for i in self.pair.key_at) if self.pair.keyed else row
        ours, theirs = (row, None) if kind is DiffKind.MISSING else (None, row)
        self.result.differences.append(Difference(kind, key, (), ours, theirs))

    def _spelled(self, row: Row, source: bool = True) -> tuple[str | None, ...]:
        if source and self.pair.cast:
            row = self.pair.cast(row)
        return tuple(canonical(v, f) for v, f in zip(row, self.pair.forms, strict=True))

    def _key(self, row: Row) -> tuple[str | None, ...]:
        return tuple(canonical(row[i], self.pair.forms[i]) for i in self.pair.key_at)

    def finish(self) -> TableResult:
        """Rows one range missed and another had (the two databases sort keys differently)
        are compared with each other; the rest are missing or extra."""
        for key in sorted(set(self.missing) & set(self.extra), key=repr):
            self._check(self.missing.pop(key), self.extra.pop(key))
        for row in self.missing.values():
            self._add(DiffKind.MISSING, row)
        for row in self.extra.values():
            self._add(DiffKind.EXTRA, row)
        self.result.differences.sort(key=lambda d: d.kind)
        try:
            self.result.differences.sort(key=lambda d: tuple((v is not None, v) for v in d.key))
        except TypeError:  # keys of mixed types (SQLite): an order, if not the natural one
            self.result.differences.sort(key=lambda d: repr(d.key))
        return self.result


def _even_cuts(low: int, high: int, pieces: int) -> list[Key]:
    """Keys cutting [low, high] into `pieces` ranges of equal width."""
    step = (high - low) / pieces
    return [(low + round(step * i),) for i in range(1, pieces)]


def _split(span: KeySpan, cuts: list[Key]) -> list[KeySpan]:
    """The span as consecutive sub-spans ending at each cut, and the rest after the last."""
    spans: list[KeySpan] = []
    after = span.after
    for cut in cuts:
        if cut == span.upto or (after is not None and cut == after):
            continue
        spans.append(KeySpan(after, cut))
        after = cut
    spans.append(KeySpan(after, span.upto))
    return spans


def _names(side: Side) -> tuple[str, ...]:
    return tuple(p.name for p in side.probes)
