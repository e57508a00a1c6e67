"""Progress that lands in the store, where the CLI, the console and /metrics read it.

The runner's stages report through it (migrate/progress.py); it thins the writes out
while busy (a few a second), keeps the counts of earlier runs, and keeps the figures the
store has no column for (the apply batch histogram, the heartbeat applied) as checkpoints.
"""

from __future__ import annotations

import time

from turnout import checkpoints
from turnout.migrate import heartbeat
from turnout.migrate.batchtimes import BatchTimes
from turnout.model import Phase, Position
from turnout.store import Store

TABLES_EVERY_S = 0.25  # per-table counts are written at most this often, in one transaction


class StoreProgress:
    """Progress that lands in the store, where the CLI and the console read it."""

    def __init__(self, store: Store, task: str) -> None:
        self.store, self.task = store, task
        self._last_beat = 0.0
        self._changes_before = store.get(task).changes_applied  # from earlier runs
        self.reconnecting = False  # waiting for a retry, or retried and not yet moving
        self._progressed = False
        self._beat_saved: float | None = None
        self._batches = BatchTimes.from_json(checkpoints.APPLY_BATCHES.get(store, task))
        self._batches_saved = self._batches.count
        self._totals: list[tuple[str, str, int]] = []  # held back until the next flush
        self._rows: dict[str, tuple[int, bool]] = {}
        self._tables_saved = 0.0

    def new_run(self) -> None:
        """A run starts (again, after a retry): its counts add to what the store has."""
        self._changes_before = self.store.get(self.task).changes_applied

    def take_progressed(self) -> bool:
        """Whether the run made progress since the last call (the retry count starts over)."""
        progressed, self._progressed = self._progressed, False
        return progressed

    def _moved(self) -> None:
        """Progress after a retry: the connection is back."""
        self._progressed = True
        if self.reconnecting:
            self.reconnecting = False
            checkpoints.clear(self.store, self.task, checkpoints.DETAIL)
            self.event("info", "reconnected: the task goes on from its checkpoint")

    def phase(self, phase: Phase) -> None:
        self.store.update(self.task, phase=phase)
        self.event("info", f"{phase.label} started")

    def event(self, level: str, message: str) -> None:
        self.store.add_event(self.task, level, message)

    def table_total(self, source: str, dest: str, rows_total: int) -> None:
        self._totals.append((source, dest, rows_total))
        self._flush_due()

    def table_rows(self, source: str, rows_copied: int, done: bool) -> None:
        self._moved()
        self._rows[source] = (rows_copied, done)
        self._flush_due()

    def _flush_due(self) -> None:
        """Write the held-back counts when the last write is old enough: with a thousand
        small tables, a store transaction per table cost more than copying the table."""
        if time.monotonic() - self._tables_saved >= TABLES_EVERY_S:
            self.flush()

    def flush(self) -> None:
        """Totals first: a table's rows may raise the total it was registered with."""
        self._tables_saved = time.monotonic()
        totals, self._totals = self._totals, []
        rows, self._rows = self._rows, {}
        if totals:
            self.store.set_tables(self.task, totals)
        if rows:
            self.store.set_tables_progress(
                self.task, [(source, n, done) for source, (n, done) in rows.items()])

    def batch(self, seconds: float) -> None:
        """Kept in memory, saved with the next progress written (not one write per batch)."""
        self._batches.add(seconds)

    def incremental(self, position: Position, delay_s: float | None, changes: int,
                    beat_applied: float | None = None) -> None:
        self._moved()
        now = time.time()
        if beat_applied is None:  # a retry's first reads: the heartbeat applied before counts
            beat_applied = self._beat_saved
        delay_s = heartbeat.delay(now, delay_s, beat_applied)
        if now - self._last_beat < 0.25 and (delay_s is None or delay_s > 0):
            return  # keep store writes cheap while busy; always record "caught up"
        self._last_beat = now
        self.store.update(
            self.task,
            delay_s=None if delay_s is None else round(delay_s, 3),
            position=position.to_json(),
            changes_applied=self._changes_before + changes,
            heartbeat=now,
        )
        if self._batches.count != self._batches_saved:
            self._batches_saved = self._batches.count
            checkpoints.APPLY_BATCHES.set(self.store, self.task, self._batches.to_json())
        if beat_applied is not None and beat_applied != self._beat_saved:
            self._beat_saved = beat_applied
            checkpoints.HEARTBEAT_APPLIED.set(self.store, self.task, beat_applied)
