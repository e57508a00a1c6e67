"""Full step: copy every selected table inside one consistent snapshot, in parallel.

The source cuts big tables into key ranges (spans, see spans.py) when it can
tell where the cuts fall. Workers take spans off one queue, so several
tables, and several ranges of one big table, copy at once; each worker has
its own source connection inside the same snapshot (SnapshotReader.share)
and its own destination connection. When the step's changes are replayed
afterwards (`replayed`), workers may instead read in views of their own
(SnapshotReader.later), for sources that cannot share one. A span is copied
in key-ordered chunks, each loaded in one destination transaction together
with the span's checkpoint, so a crash at any moment resumes every span at
its first chunk not yet committed.

A same-engine destination may pull the chunks itself (DirectCopy), so rows
never pass through Python; otherwise a worker reads the next chunk while the
current one loads. Sources that cannot share their snapshot get one worker.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import partial

from turnout import engines
from turnout.engines.base import Chunk, DirectCopy, Engine, KeySpan, SnapshotReader
from turnout.errors import OperationFailed
from turnout.migrate.plan import TablePlan
from turnout.migrate.progress import Progress
from turnout.migrate.spans import Span, initial_checkpoint, new_spans, restart, saved_spans
from turnout.migrate.throttle import Throttle, size_of
from turnout.model import Key, Position, Row

PARALLEL = min(4, os.cpu_count() or 1)  # workers at most; each holds two connections
TOGETHER = 20  # whole tables whose first chunks one destination transaction loads, at most
SPAN_FILL = 0.8  # spans aim below chunk_rows, so one usually loads in a single chunk


def copy_tables(
    src: Engine,
    dst: Engine,
    plans: list[TablePlan],
    owner: str,
    chunk_rows: int,
    progress: Progress,
    stop: threading.Event,
    allow_direct: bool = True,
    exported: str | None = None,
    parallel: int = PARALLEL,
    replayed: bool = False,
    placed: Callable[[SnapshotReader], Position | None] | None = None,
    throttle: Throttle | None = None,
) -> bool:
    """Copy what is not copied yet; False when stopped before the end.

    `exported` is the snapshot capture handed out when it started, so the
    rows read are exactly those committed before the first captured change.
    `replayed`: capture started before this step and its changes will be
    applied after it, so workers may read from later views than the snapshot
    (unless the destination could refuse what such views copy, see
    _views_must_agree). `placed` (the capture's view_position) tells where capture
    stands in a reader's view: a table without a key records it with its copy.
    """
    saved = dst.read_checkpoint(owner)
    direct = allow_direct and isinstance(dst, DirectCopy) and dst.can_copy_from(src)
    with src.snapshot(exported) as snap:
        spans = _plan(snap, dst, plans, owner, saved, int(chunk_rows * SPAN_FILL) or 1)
        tally = _Tally(progress, spans)
        pending = [s for s in spans if not s.done]
        readers = _readers(snap, min(parallel, len(pending)),
                           replayed and not _views_must_agree(
                               plans, dst.capabilities.checks_rows_adding_foreign_keys))
        job = _Job(src, dst, owner, chunk_rows, direct, stop, queue.SimpleQueue(), placed,
                   throttle)
        for span in pending:
            job.spans.put(span)
        count = partial(_count, snap, plans, progress, tally)
        try:
            if len(readers) == 1:  # the one worker reads through the snapshot's own connection
                count()
            _run(job, readers, tally, meanwhile=count if len(readers) > 1 else None)
        finally:
            progress.flush()
    return all(s.done for s in spans)


def _count(snap: SnapshotReader, plans: list[TablePlan], progress: Progress, tally: _Tally) -> None:
    """Report each table's total; while workers copy, when they read through shares."""
    for plan, rows in zip(plans, snap.count_all([p.source for p in plans]), strict=True):
        progress.table_total(plan.source.name, plan.dest.name, rows)
        tally.report(plan)


def _plan(
    snap: SnapshotReader,
    dst: Engine,
    plans: list[TablePlan],
    owner: str,
    saved: dict[str, str],
    span_rows: int,
) -> list[Span]:
    """Every table's spans: as an earlier run cut them, else cut now and saved at once."""
    spans: list[Span] = []
    fresh: list[Span] = []
    again: list[Span] = []
    olds = {plan.source.name: saved_spans(plan, saved) for plan in plans}
    keyed = [plan.source for plan in plans if plan.source.key and not olds[plan.source.name]]
    cuts = dict(zip([t.name for t in keyed], snap.split_all(keyed, span_rows), strict=True))
    for plan in plans:
        old = olds[plan.source.name]
        made = [] if old else new_spans(plan, cuts.get(plan.source.name, []))
        spans += old or made
        fresh += made
        again += [s for s in old if restart(s)]
    if again:  # tables without a key, copied in part by an earlier run: from empty again
        dst.empty_tables([s.plan.dest.name for s in again])
        fresh += again
    if fresh:  # this also creates the checkpoint table before workers could race to
        dst.load(fresh[0].plan.dest, [], initial_checkpoint(owner, fresh))
    return spans


def _views_must_agree(plans: list[TablePlan], checks_foreign_keys: bool) -> bool:
    """Whether workers must read one moment of the source although the changes are replayed,
    because the destination checks something the replay would only mend afterwards.

    Views opened a moment apart can copy one unique value twice (a row handed it to a row
    of another key range in between), which a unique index besides the key refuses; key
    ranges never overlap, so the key itself is safe. A table without a key cannot converge
    at all (a replayed insert is a second row). They can also copy a child without
    its parent, which a destination that checks rows when adding a foreign key
    (`checks_foreign_keys`) refuses.
    """
    return any(
        not plan.source.key  # rows without a key are matched by value: no replay converges
        or any(index.unique for index in plan.dest.indexes)
        or (plan.dest.foreign_keys and checks_foreign_keys)
        for plan in plans
    )


def _readers(
    snap: SnapshotReader, workers: int, replayed: bool = False
) -> list[AbstractContextManager[SnapshotReader]]:
    """One reader per worker: later views when the changes are replayed and the source has
    them, else shares of the snapshot when it has them, else the snapshot alone."""
    kinds = (snap.later, snap.share) if replayed else (snap.share,)
    for make in kinds if workers > 1 else ():
        made = [make() for _ in range(workers)]
        if all(m is not None for m in made):
            return [m for m in made if m is not None]
    return [_borrowed(snap)]


@contextmanager
def _borrowed(snap: SnapshotReader) -> Iterator[SnapshotReader]:
    """The snapshot itself, for a single worker; its owner closes it."""
    yield snap


@dataclass
class _Job:
    """What the workers share: where to copy, the spans left, and whether to go on."""

    src: Engine
    dst: Engine
    owner: str
    chunk_rows: int
    direct: bool
    stop: threading.Event
    spans: queue.SimpleQueue[Span]
    placed: Callable[[SnapshotReader], Position | None] | None = None
    throttle: Throttle | None = None  # paces the writes (throttle.py)
    results: queue.SimpleQueue[Span | None] = field(default_factory=queue.SimpleQueue)
    errors: list[BaseException] = field(default_factory=list)

    def halted(self) -> bool:
        """Stop asked, or a worker failed: the others finish their chunk and leave."""
        return self.stop.is_set() or bool(self.errors)

    def next_span(self) -> Span | None:
        if self.halted():
            return None
        try:
            return self.spans.get_nowait()
        except queue.Empty:
            return None


class _Tally:
    """Rows copied per table, summed over its spans, reported from the calling thread only."""

    def __init__(self, progress: Progress, spans: list[Span]) -> None:
        self.progress = progress
        self.by_table: dict[str, list[Span]] = {}
        for span in spans:
            self.by_table.setdefault(span.plan.source.name, []).append(span)

    def report(self, plan: TablePlan) -> None:
        spans = self.by_table[plan.source.name]
        rows, done = sum(s.rows for s in spans), all(s.done for s in spans)
        self.progress.table_rows(plan.source.name, rows, done)


def _run(
    job: _Job,
    readers: list[AbstractContextManager[SnapshotReader]],
    tally: _Tally,
    meanwhile: Callable[[], None] | None = None,
) -> None:
    """Run one worker thread per reader until the spans run out; re-raise the first failure.

    `meanwhile` runs in this thread once the workers are off.
    """
    threads = [
        threading.Thread(target=_work, args=(job, reader, len(readers) > 1), name=f"full-{n}")
        for n, reader in enumerate(readers)
    ]
    for thread in threads:
        thread.start()
    running = len(threads)
    try:
        if meanwhile is not None:
            meanwhile()
        while running:
            span = job.results.get()
            if span is None:
                running -= 1
            else:
                tally.report(span.plan)
    except BaseException as exc:  # e.g. KeyboardInterrupt: workers stop after their chunk
        job.errors.append(exc)
        raise
    finally:
        for thread in threads:
            thread.join()
    if job.errors:
        raise job.errors[0]


def _whole(span: Span) -> bool:
    """A keyed table copied as one span that has not started, with nothing to convert or
    filter: one that may load together with others like it."""
    plan = span.plan
    return (bool(plan.source.key) and plan.cast is None and plan.rule is None
            and not span.bounded and span.after is None and not span.done)


def _work(job: _Job, reader_cm: AbstractContextManager[SnapshotReader], own_dst: bool) -> None:
    """One worker: copy spans off the queue, reporting each committed chunk."""
    try:
        with ExitStack() as stack:
            reader = stack.enter_context(reader_cm)
            dst = job.dst
            if own_dst:  # the engine's own connection belongs to the caller
                dst = engines.connect(job.dst.endpoint)
                stack.callback(dst.close)
            copier = _Copier(job, reader, dst)
            stack.callback(copier.close)
            while (span := job.next_span()) is not None:
                copier.copy(span)
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
        job.errors.append(exc)
    finally:
        job.results.put(None)


class _Copier:
    """Copies spans chunk by chunk through one reader into one destination connection."""

    def __init__(self, job: _Job, reader: SnapshotReader, dst: Engine) -> None:
        self.job, self.reader, self.dst = job, reader, dst
        self.ahead = ThreadPoolExecutor(1, thread_name_prefix="read-ahead")

    def close(self) -> None:
        self.ahead.shutdown()

    def copy(self, span: Span) -> None:
        if not span.plan.source.key:
            self._stream(span)
        elif self.job.direct and span.plan.cast is None and span.plan.rule is None:
            # cast, filtered and masked rows take the row path
            group = [span, *self._companions()] if _whole(span) else [span]
            if len(group) > 1:
                self._pull_together(group)
            for one in group:
                self._pull(one)  # what is left of each (nothing, for small tables)
        else:
            self._push(span)

    def _companions(self) -> list[Span]:
        """More untouched whole tables off the queue, to load with the one taken; the
        others go back (spans have no order to keep)."""
        found: list[Span] = []
        others: list[Span] = []
        while len(found) < TOGETHER - 1 and (span := self.job.next_span()) is not None:
            (found if _whole(span) else others).append(span)
        for span in others:
            self.job.spans.put(span)
        return found

    def _pull_together(self, spans: list[Span]) -> None:
        """The first chunk of each span in one destination transaction with their
        checkpoints: a thousand small tables cost a transaction each otherwise."""
        assert isinstance(self.dst, DirectCopy)
        job = self.job
        chunks: list[Chunk] = [
            (s.plan.source, s.plan.dest, s.remaining(),
             partial(s.checkpoint, job.owner, job.chunk_rows)) for s in spans]
        copied = self.dst.copy_chunks_from(job.src, self.reader, chunks, job.chunk_rows)
        for span, (rows, last) in zip(spans, copied, strict=True):
            self._commit(span, rows, last)

    def _commit(self, span: Span, rows: int, last: Key | None,
                data: list[Row] | None = None) -> None:
        span.advance(rows, last, self.job.chunk_rows)
        self.job.results.put(span)
        throttle = self.job.throttle
        if throttle is not None:
            throttle.took(rows, size_of(data) if data and throttle.counts_bytes else 0)

    def _pull(self, span: Span) -> None:
        """Same-engine path: the destination reads each chunk from the reader itself."""
        assert isinstance(self.dst, DirectCopy)
        job, plan = self.job, span.plan
        while not span.done and not job.halted():
            rows, last = self.dst.copy_chunk_from(
                job.src, self.reader, plan.source, plan.dest, span.remaining(), job.chunk_rows,
                lambda n, key: span.checkpoint(job.owner, job.chunk_rows, n, key),
            )
            self._commit(span, rows, last)

    def _push(self, span: Span) -> None:
        """Row path: read chunks from the snapshot (one ahead) and load them."""
        job, plan = self.job, span.plan
        key_at = plan.source.key_positions()
        pending = self._fetch(plan, span.remaining())
        while not span.done:
            rows = pending.result()
            last = tuple(rows[-1][i] for i in key_at) if rows else span.after
            full = len(rows) == job.chunk_rows
            if full and not job.halted():
                pending = self._fetch(plan, KeySpan(last, span.hi))
            loaded = plan.shape(rows)
            self.dst.load(plan.dest, loaded, span.checkpoint(job.owner, job.chunk_rows,
                                                              len(rows), last))
            self._commit(span, len(rows), last, loaded)
            if job.halted():
                pending.result()  # let the read ahead finish before the snapshot closes
                return

    def _stream(self, span: Span) -> None:
        """A table without a key: one stream from the snapshot itself, chunk after chunk (a
        direct copy may read a later view, which only replay by key would mend)."""
        job, plan = self.job, span.plan
        if job.placed is not None:
            at = job.placed(self.reader)
            if at is None:
                raise OperationFailed(
                    f"table {plan.source.name!r} has no key, and capture cannot tell where "
                    f"it stands in the view this copy reads ({job.src.endpoint}), so changes "
                    f"could be applied twice to it: start the task again with --resnapshot "
                    f"(a new capture hands its own view to the copy), or leave the table out "
                    f"with --exclude {plan.source.name!r}")
            span.at = at.to_json()
        chunks = self.reader.stream(plan.source, job.chunk_rows, plan.pushed)
        try:
            while not span.done and not job.halted():
                rows = next(chunks, [])
                loaded = plan.shape(rows)
                self.dst.load(plan.dest, loaded,
                              span.checkpoint(job.owner, job.chunk_rows, len(rows), None))
                self._commit(span, len(rows), None, loaded)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _fetch(self, plan: TablePlan, keys: KeySpan) -> Future[list[Row]]:
        return self.ahead.submit(self.reader.read_range, plan.source, keys, self.job.chunk_rows,
                                 plan.pushed)
