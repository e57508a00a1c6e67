"""Full step: copy every selected table in key-ordered chunks.

Each chunk is loaded in one destination transaction together with a
checkpoint naming the last key copied, so a crash at any moment resumes at
the first chunk not yet committed. Reading the next chunk overlaps with
loading the current one.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future, ThreadPoolExecutor

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
            if state.get("done"):
                progress.table_rows(plan.source.name, state["rows"], True)
                continue
            if direct:
                assert isinstance(dst, DirectCopy)
                finished = _copy_direct(src, dst, plan, owner, state, chunk_rows, progress, stop)
            else:
                finished = _copy_table(
                    snap, reader, dst, plan, owner, state, chunk_rows, progress, stop
                )
            if not finished:
                return False
    return True


def _state(after: Key | None, rows: int, done: bool) -> str:
    key = key_to_json(after) if after is not None else None
    return json.dumps({"after": key, "rows": rows, "done": done})


def _copy_direct(
    src: Engine,
    dst: DirectCopy,
    plan: TablePlan,
    owner: str,
    state: dict,
    chunk_rows: int,
    progress: Progress,
    stop: threading.Event,
) -> bool:
    """Same-engine copy: the destination pulls each chunk itself, checkpoint included."""
    after: Key | None = key_from_json(state["after"]) if state.get("after") else None
    copied = int(state.get("rows", 0))
    while True:
        def checkpoint(rows: int, last: Key | None, before: int = copied) -> Checkpoint:
            done = rows < chunk_rows
            return Checkpoint(owner, {checkpoint_name(plan): _state(last, before + rows, done)})

        rows, after = dst.copy_chunk_from(
            src, plan.source, plan.dest, after, chunk_rows, checkpoint
        )
        copied += rows
        done = rows < chunk_rows
        progress.table_rows(plan.source.name, copied, done)
        if done:
            return True
        if stop.is_set():
            return False


def _copy_table(
    snap: SnapshotReader,
    reader: ThreadPoolExecutor,
    dst: Engine,
    plan: TablePlan,
    owner: str,
    state: dict,
    chunk_rows: int,
    progress: Progress,
    stop: threading.Event,
) -> bool:
    after: Key | None = key_from_json(state["after"]) if state.get("after") else None
    copied = int(state.get("rows", 0))
    key_at = plan.source.key_positions()

    def fetch(start: Key | None) -> list[Row]:
        return snap.read_chunk(plan.source, start, chunk_rows)

    pending: Future[list[Row]] = reader.submit(fetch, after)
    while True:
        rows = pending.result()
        done = len(rows) < chunk_rows
        if rows:
            after = tuple(rows[-1][i] for i in key_at)
            if not done:
                pending = reader.submit(fetch, after)
        copied += len(rows)
        saved = Checkpoint(owner, {checkpoint_name(plan): _state(after, copied, done)})
        dst.load(plan.dest, rows, saved)
        progress.table_rows(plan.source.name, copied, done)
        if done:
            return True
        if stop.is_set():
            pending.result()
            return False
