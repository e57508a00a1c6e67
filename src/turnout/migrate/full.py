"""Full step: copy every selected table in key-ordered chunks.

Each chunk is loaded in one destination transaction together with a
checkpoint naming the last key copied, so a crash at any moment resumes at
the first chunk not yet committed. On the row path the next chunk is read
while the current one loads; a same-engine destination may instead pull the
chunks itself (DirectCopy), so rows never pass through Python.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from turnout.engines.base import DirectCopy, Engine, SnapshotReader
from turnout.migrate.plan import TablePlan
from turnout.migrate.progress import Progress
from turnout.model import Checkpoint, Key, Row, key_from_json, key_to_json


def checkpoint_name(plan: TablePlan) -> str:
    return f"full:{plan.source.name}"


def copy_tables(
    src: Engine,
    dst: Engine,
    plans: list[TablePlan],
    owner: str,
    chunk_rows: int,
    progress: Progress,
    stop: threading.Event,
    allow_direct: bool = True,
) -> bool:
    """Copy what is not copied yet; False when stopped before the end."""
    saved = dst.read_checkpoint(owner)
    direct = allow_direct and isinstance(dst, DirectCopy) and dst.can_copy_from(src)
    with src.snapshot() as snap, ThreadPoolExecutor(1, thread_name_prefix="reader") as reader:
        for plan in plans:
            state = json.loads(saved.get(checkpoint_name(plan), "null")) or {}
            total = snap.count_rows(plan.source)
            progress.table_total(plan.source.name, plan.dest.name, total)
            copy = TableCopy(
                plan=plan,
                owner=owner,
                chunk_rows=chunk_rows,
                after=key_from_json(state["after"]) if state.get("after") else None,
                copied=int(state.get("rows", 0)),
            )
            if state.get("done"):
                progress.table_rows(plan.source.name, copy.copied, True)
                continue
            if direct:
                assert isinstance(dst, DirectCopy)
                finished = copy.pull(src, dst, progress, stop)
            else:
                finished = copy.push(snap, reader, dst, progress, stop)
            if not finished:
                return False
    return True


@dataclass
class TableCopy:
    """One table's copy: where it stands (last key, rows so far) and how to save that."""

    plan: TablePlan
    owner: str
    chunk_rows: int
    after: Key | None
    copied: int

    def checkpoint(self, rows: int, last: Key | None) -> Checkpoint:
        """The checkpoint to commit with a chunk of `rows` rows ending at `last`."""
        done = rows < self.chunk_rows
        value = {
            "after": key_to_json(last) if last is not None else None,
            "rows": self.copied + rows,
            "done": done,
        }
        return Checkpoint(self.owner, {checkpoint_name(self.plan): json.dumps(value)})

    def _advance(self, rows: int, last: Key | None, progress: Progress) -> bool:
        """Record a committed chunk; True when it was the table's last."""
        self.copied += rows
        self.after = last
        done = rows < self.chunk_rows
        progress.table_rows(self.plan.source.name, self.copied, done)
        return done

    def pull(self, src: Engine, dst: DirectCopy, progress: Progress, stop: threading.Event) -> bool:
        """Same-engine path: the destination reads each chunk from the source itself."""
        while True:
            rows, last = dst.copy_chunk_from(
                src, self.plan.source, self.plan.dest, self.after, self.chunk_rows, self.checkpoint
            )
            if self._advance(rows, last, progress):
                return True
            if stop.is_set():
                return False

    def push(
        self,
        snap: SnapshotReader,
        reader: ThreadPoolExecutor,
        dst: Engine,
        progress: Progress,
        stop: threading.Event,
    ) -> bool:
        """Row path: read chunks from the snapshot (one ahead) and load them."""
        key_at = self.plan.source.key_positions()

        def fetch(start: Key | None) -> list[Row]:
            return snap.read_chunk(self.plan.source, start, self.chunk_rows)

        pending: Future[list[Row]] = reader.submit(fetch, self.after)
        while True:
            rows = pending.result()
            last = tuple(rows[-1][i] for i in key_at) if rows else self.after
            if len(rows) == self.chunk_rows:
                pending = reader.submit(fetch, last)
            dst.load(self.plan.dest, rows, self.checkpoint(len(rows), last))
            if self._advance(len(rows), last, progress):
                return True
            if stop.is_set():
                pending.result()  # let the read ahead finish before the snapshot closes
                return False
