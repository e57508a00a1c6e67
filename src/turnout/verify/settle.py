"""Telling rows still on their way from real differences, while a task replicates.

While the application writes, the first pass sees rows that the source has
committed and the running task has not applied yet. Waiting until the task
is idle never ends under a steady load, so each round here waits for a
point instead: a mark is taken on the source (Applied.mark: a position at or
after every read made so far) and the round waits, within a bound, until
the destination's checkpoint is at or past it. Then the differing keys are
read again, the destination first, the source last, and each key is judged
against the source's value seen in the round before:

- destination == source now: the row was in flight; it agrees.
- source unchanged since the round before (so from before the mark to
  after the destination read) and the destination still differs, although
  the task has applied everything committed before the mark: the difference
  persists, it is reported.
- the source changed in between: the row is being written right now; it
  goes to the next round with its new value.

A key still changing after the last round (or when time is up, or the task
stopped) is reported too, counted under "changing": a difference is never
dropped without proof. Re-checking a few times with a backoff instead would
have no such proof: a row that keeps changing and a row the task lost look
alike to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from turnout.model import Key, Row
from turnout.verify.pairs import TablePair
from turnout.verify.ranges import TableComparison
from turnout.verify.report import Difference, DiffKind, TableResult
from turnout.verify.workers import Readers, Throttle

ROUNDS = 5  # rounds of re-reading before a key still changing is reported as it stands
KEYS_PER_READ = 1000  # differing keys read back per query
SAY_EVERY_S = 5.0  # while waiting for the task, how often to say so


class Applied(Protocol):
    """How far whatever replicates into the destination has come."""

    def mark(self) -> Any:
        """A point on the source at or after every read made so far (None: no point)."""

    def reached(self, mark: Any) -> bool:
        """Whether the destination has applied everything up to `mark`."""

    def stalled(self) -> str | None:
        """Why the destination can no longer catch up (a stopped task), or None."""


class Immediately:
    """Nothing to wait for (two databases without a task): re-read at once."""

    def mark(self) -> None:
        return None

    def reached(self, mark: Any) -> bool:
        return True

    def stalled(self) -> str | None:
        return None


@dataclass
class Summary:
    """What the re-check did: the "recheck" object of the JSON report."""

    rows: int = 0  # differing keys after the first pass
    settled: int = 0  # of them, found in flight and equal in the end
    persisting: int = 0  # unchanged on the source while the destination stayed different
    changing: int = 0  # still changing on the source when the rounds ran out
    rounds: int = 0
    waited_s: float = 0.0
    note: str | None = None  # why the re-check stopped early

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "settled": self.settled, "persisting": self.persisting,
                "changing": self.changing, "rounds": self.rounds,
                "waited_s": round(self.waited_s, 3), "note": self.note}


@dataclass
class _Table:
    """One table's differing keys as the rounds go."""

    pair: TablePair
    result: TableResult
    spot: TableComparison
    keys: dict[tuple[Any, ...], Key] = field(default_factory=dict)  # spelled key -> key
    before: dict[tuple[Any, ...], Any] = field(default_factory=dict)  # source's last spelling
    had: dict[tuple[Any, ...], tuple[bool, bool]] = field(default_factory=dict)  # first pass
    final: dict[tuple[Any, ...], tuple[Row | None, Row | None]] = field(default_factory=dict)


def settle(pairs: list[TablePair], results: list[TableResult], applied: Applied,
           timeout: float, say: Callable[[str], None] = lambda _: None,
           ) -> tuple[list[TableResult], Summary]:
    """The results with every difference that did not persist taken out (see the module)."""
    readers = Readers()
    try:
        tables = [t for p, r in zip(pairs, results, strict=True)
                  if (t := _table(p, r, readers)) is not None]
        summary = Summary(rows=sum(len(t.keys) for t in tables))
        deadline = time.monotonic() + timeout
        while summary.rounds < ROUNDS and any(t.keys for t in tables):
            pending = sum(len(t.keys) for t in tables)
            say(f"re-checking {pending} differing row(s) once the destination has caught up "
                f"(round {summary.rounds + 1} of at most {ROUNDS})")
            try:
                mark = applied.mark()
            except Exception as exc:  # noqa: BLE001 - the first pass's differences still stand
                summary.note = f"stopped re-checking: no mark on the source ({exc})"
                break
            if not _wait(applied, mark, deadline, summary, say):
                break
            summary.rounds += 1
            for t in tables:
                _round(t, readers, summary)
        for t in tables:
            summary.changing += len(t.keys)
            _finish(t, readers)
        return results, summary
    finally:
        readers.close()


def _table(pair: TablePair, result: TableResult, readers: Readers) -> _Table | None:
    if pair.dest is None or not pair.keyed or not result.differences or pair.rule is not None:
        return None
    t = _Table(pair, result, TableComparison(pair, readers, Throttle(None)))
    for d in result.differences:
        spelled = _spelled_of(t, d)
        t.keys[spelled] = d.key
        t.before[spelled] = _spell(t, d.source_row)
        t.had[spelled] = (d.source_row is not None, d.dest_row is not None)
    return t


def _wait(applied: Applied, mark: Any, deadline: float, summary: Summary,
          say: Callable[[str], None]) -> bool:
    """Until the destination has applied `mark`; False (noted) when it cannot in time."""
    began = time.monotonic()
    told = began
    try:
        while not applied.reached(mark):
            why = applied.stalled()
            if why:
                summary.note = f"stopped re-checking: {why}"
                return False
            now = time.monotonic()
            if now >= deadline:
                summary.note = ("stopped re-checking: the destination did not catch up with "
                                "the source in time")
                return False
            if now - told >= SAY_EVERY_S:
                say(f"still waiting for the destination to apply source position {mark} "
                    f"({now - began:.0f} s)")
                told = now
            time.sleep(0.1)
        return True
    finally:
        summary.waited_s += time.monotonic() - began


def _round(t: _Table, readers: Readers, summary: Summary) -> None:
    """Destination first, source last: a source unchanged across the round brackets the read
    of the destination."""
    if not t.keys:
        return
    theirs, ours = _read(t, readers)
    for spelled in list(t.keys):
        source_row, dest_row = ours.get(spelled), theirs.get(spelled)
        now = _spell(t, source_row)
        verdict = judge(t.before[spelled], now, _spell(t, dest_row, source=False))
        t.final[spelled] = (source_row, dest_row)
        if verdict == CHANGING:
            t.before[spelled] = now
            continue
        if verdict == SETTLED:
            summary.settled += 1
        else:
            summary.persisting += 1
        del t.keys[spelled]


SETTLED, PERSISTING, CHANGING = "settled", "persisting", "changing"


def judge(before: Any, now: Any, dest: Any) -> str:
    """One key after a round: `before` is the source's row (spelled; None: absent) read before
    the mark, `dest` the destination's read after the task applied the mark, `now` the
    source's read after that."""
    if now == dest:
        return SETTLED
    if now == before:
        return PERSISTING  # the source held it all along, the task went past it: not in flight
    return CHANGING


def _read(t: _Table, readers: Readers) -> tuple[dict[Any, Row], dict[Any, Row]]:
    src, dst = t.pair.source, t.pair.dest
    assert dst is not None
    keys = sorted(t.keys.values(), key=repr)
    theirs: list[Row] = []
    ours: list[Row] = []
    for side, rows in ((dst, theirs), (src, ours)):  # the destination first, all of it
        names = tuple(p.name for p in side.probes)
        for at in range(0, len(keys), KEYS_PER_READ):
            rows += readers.get(side.engine).rows_by_keys(
                side.table, names, side.key, keys[at:at + KEYS_PER_READ])
    return ({t.spot._key(r): r for r in theirs}, {t.spot._key(r): r for r in ours})


def _finish(t: _Table, readers: Readers) -> None:
    """The table's differences as the last reads left them; its row counts moved by what
    the re-reads found instead of the first pass's."""
    if not t.final:
        return
    fresh = TableComparison(t.pair, readers, Throttle(None))
    for spelled, (source_row, dest_row) in t.final.items():
        fresh.compare_rows([] if source_row is None else [source_row],
                           [] if dest_row is None else [dest_row])
        was = t.had[spelled]
        t.result.rows_source += (source_row is not None) - was[0]
        t.result.rows_dest += (dest_row is not None) - was[1]
    fresh.result.differences[:0] = [d for d in t.result.differences
                                    if _spelled_of(t, d) not in t.final]
    t.result.differences = fresh.finish().differences


def _spelled_of(t: _Table, d: Difference) -> tuple[Any, ...]:
    """The key of a first-pass difference as compare spells it (its row, not its key, since
    only the row holds the key's values alike on both sides)."""
    row = d.dest_row if d.kind is DiffKind.EXTRA else d.source_row
    assert row is not None
    return t.spot._key(row)


def _spell(t: _Table, row: Row | None, source: bool = True) -> tuple[Any, ...] | None:
    return None if row is None else t.spot._spelled(row, source=source)
