"""Key ranges of a table (spans) and their checkpoints, for the full step.

A table is copied as one or more spans. Each span keeps its own progress in
the destination, saved with every chunk it loads, so that a crash resumes
every span at its first chunk not yet committed.

Checkpoint names and values are checkpoints.py's (whole_table_key, span_key,
SpanState): a table read as one span (how every table was copied before spans
existed), or span n of a table the source cut into ranges, which also keeps its
bounds. Every span of a table is saved before its first row is copied, so a
resumed run cuts the table exactly as before, whatever the source holds by then.

A table without a key is one span read as one stream (SnapshotReader.stream):
it has no order to resume a read from, so its "after" stays null, and a run
that finds it begun but not done empties the destination table and copies it
again from the first row (restart(), below). Resuming part-way could only
guess which rows the committed chunks held, and a guess duplicates or loses
rows that no key would ever reconcile. When capture runs, its value also
holds "at": where capture stood in the view the table was read from
(Capture.view_position), so the incremental step leaves out the changes
the copy already holds (checkpoints.copied_at()).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count, pairwise, takewhile

from turnout.checkpoints import SpanState, span_key, whole_table_key
from turnout.engines.base import KeySpan
from turnout.migrate.plan import TablePlan
from turnout.model import Checkpoint, Key


def checkpoint_name(plan: TablePlan) -> str:
    """The checkpoint of a table read as one span."""
    return whole_table_key(plan.source.name)


def span_name(plan: TablePlan, n: int) -> str:
    """The checkpoint of span `n` of a table cut into ranges."""
    return span_key(plan.source.name, n)


@dataclass
class Span:
    """One key range of a table: its bounds, how far its copy got, and its checkpoint name."""

    plan: TablePlan
    name: str
    lo: Key | None = None  # exclusive; None: from the first key
    hi: Key | None = None  # inclusive; None: to the last key
    after: Key | None = None  # the last key committed; None: nothing yet
    rows: int = 0
    done: bool = False
    # a table without a key copied while capture runs: where capture stood in the view it
    # was read from (a Position's JSON); changes up to there are in the copy already
    at: str | None = None

    @property
    def bounded(self) -> bool:
        """Whether this span is one of several (its checkpoint then holds its bounds)."""
        return self.name != checkpoint_name(self.plan)

    def remaining(self) -> KeySpan:
        """The keys still to copy."""
        return KeySpan(self.after if self.after is not None else self.lo, self.hi)

    def state(self, rows: int, last: Key | None, done: bool) -> str:
        """The checkpoint value after `rows` more rows ending at key `last`."""
        bounds = (self.lo, self.hi) if self.bounded else None
        return SpanState(last, rows, done, self.at, bounds).to_text()

    def checkpoint(self, owner: str, chunk_rows: int, rows: int, last: Key | None) -> Checkpoint:
        """The checkpoint to commit with a chunk of `rows` rows ending at `last`.

        A chunk short of `chunk_rows` is the span's last: nothing in the
        span is left past it.
        """
        done = rows < chunk_rows
        return Checkpoint(owner, {self.name: self.state(self.rows + rows, last, done)})

    def advance(self, rows: int, last: Key | None, chunk_rows: int) -> None:
        """Record a committed chunk."""
        self.rows += rows
        self.after = last
        self.done = rows < chunk_rows

    @classmethod
    def load(cls, plan: TablePlan, name: str, text: str) -> Span:
        state = SpanState.from_text(text, bounded=name != checkpoint_name(plan))
        lo, hi = state.bounds or (None, None)
        return cls(plan, name, lo=lo, hi=hi, after=state.after, rows=state.rows,
                   done=state.done, at=state.at)


def saved_spans(plan: TablePlan, saved: dict[str, str]) -> list[Span]:
    """The table's spans as an earlier run left them ([] when it never started)."""
    whole = checkpoint_name(plan)
    if whole in saved:
        return [Span.load(plan, whole, saved[whole])]
    names = takewhile(lambda name: name in saved, (span_name(plan, n) for n in count()))
    return [Span.load(plan, name, saved[name]) for name in names]


def new_spans(plan: TablePlan, split: list[Key]) -> list[Span]:
    """Cut the table at the keys `split` (the source's SnapshotReader.split)."""
    if not plan.source.key:  # one stream, see the module's docstring
        return [Span(plan, checkpoint_name(plan))]
    cuts: list[Key | None] = list(split)
    if not cuts:
        return [Span(plan, checkpoint_name(plan))]
    bounds = pairwise([None, *cuts, None])
    return [Span(plan, span_name(plan, n), lo, hi) for n, (lo, hi) in enumerate(bounds)]


def initial_checkpoint(owner: str, spans: list[Span]) -> Checkpoint:
    """Every new span's starting state, to save before any of them copies a row."""
    return Checkpoint(owner, {s.name: s.state(0, None, False) for s in spans})


def restart(span: Span) -> bool:
    """Whether the span must be copied again from empty: a table without a key whose
    copy began and did not end. Its progress goes back to nothing."""
    if span.plan.source.key or span.done:
        return False
    span.rows, span.after, span.at = 0, None, None
    return True
