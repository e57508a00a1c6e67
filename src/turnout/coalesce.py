"""Turn a run of changes into one batch: the final state of each touched key.

Several changes to one key within a batch collapse into one upsert or one
delete, so the applier writes each row once and in bulk. Because apply is
"make the destination row equal this", replaying a batch is harmless.

A TRUNCATE forgets what the batch held for its table and marks the table to
be emptied first: the applier deletes every row, then writes what came after
the TRUNCATE. Replaying that is harmless too.

A table without a key is not coalesced: its rows are told apart by their
values only, two equal rows are two rows, and an update or delete acts on one
row holding the old values. So its changes stay in source order, each as a
(before, after) pair of whole rows (`TableBatch.ops`): an insert has no
before, a delete no after. Replaying these is NOT harmless (an insert
replayed is a second row): incremental.py explains why none is replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from turnout.errors import OperationFailed
from turnout.filters.rules import RowRule
from turnout.model import Change, Key, Op, Position, Row, Table


@dataclass(frozen=True)
class Route:
    """Where one source table's changes go: the destination table and its columns' source names."""

    dest: Table
    source_columns: tuple[str, ...]  # in the destination's column order
    cast: Callable[[Row], Row] | None = None  # for columns --cast to text (casts.py)
    rule: RowRule | None = None  # --where and --mask: judged before the change is folded in


@dataclass
class TableBatch:
    table: Table
    upserts: dict[Key, Row] = field(default_factory=dict)
    deletes: set[Key] = field(default_factory=set)
    truncate: bool = False  # delete every row before the deletes and upserts
    # a table without a key: (before, after) per change, in source order, instead
    ops: list[tuple[Row | None, Row | None]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.upserts) + len(self.deletes) + self.truncate + len(self.ops)


@dataclass
class Batch:
    tables: dict[str, TableBatch]  # by destination table name
    position: Position | None  # apply up to and including this position (None: a repair)
    changes: int = 0
    first_commit_ts: float | None = None
    last_commit_ts: float | None = None


def coalesce(changes: Iterable[Change], routes: dict[str, Route], position: Position) -> Batch:
    """Fold changes (in source order) into per-table upserts and deletes, ending at `position`."""
    batch = Batch(tables={}, position=position)
    for change in changes:
        route = routes.get(change.table)
        batch.changes += 1
        if batch.first_commit_ts is None:
            batch.first_commit_ts = change.commit_ts
        batch.last_commit_ts = change.commit_ts
        if route is None:
            continue  # a table the task does not move
        if route.rule is not None and (change := route.rule.change(change)) is None:  # type: ignore[assignment]
            continue  # a change to a row outside the filter, on both sides of it
        tb = batch.tables.get(route.dest.name)
        if tb is None:  # not setdefault: that built a TableBatch for every change
            tb = batch.tables[route.dest.name] = TableBatch(route.dest)
        if change.op is Op.TRUNCATE:
            tb.upserts.clear()
            tb.deletes.clear()
            tb.ops.clear()
            tb.truncate = True
            continue
        if not route.dest.key:
            tb.ops.append((_row(route, change.before), _row(route, change.after)))
            continue
        if change.old_key is not None and change.old_key != change.key:
            _delete(tb, change.old_key)
        if change.op is Op.DELETE:
            _delete(tb, change.key)
        else:
            assert change.after is not None, change
            row = tuple(change.after[c] for c in route.source_columns)
            if route.cast is not None:
                row = route.cast(row)
            tb.deletes.discard(change.key)
            tb.upserts[change.key] = row
    return batch


def _row(route: Route, values: dict[str, Any] | None) -> Row | None:
    """A captured row image as the destination table's row."""
    if values is None:
        return None
    row = tuple(values[c] for c in route.source_columns)
    return row if route.cast is None else route.cast(row)


def _delete(tb: TableBatch, key: Key) -> None:
    tb.upserts.pop(key, None)
    tb.deletes.add(key)


def parents_first(batches: list[TableBatch]) -> list[TableBatch]:
    """The batch's tables ordered so a referenced table comes before those referencing it."""
    by_name = {tb.table.name: tb for tb in batches}
    ordered: list[TableBatch] = []
    seen: set[str] = set()

    def visit(name: str, path: frozenset[str]) -> None:
        if name in seen or name in path or name not in by_name:
            return
        for fk in by_name[name].table.foreign_keys:
            visit(fk.ref_table, path | {name})
        seen.add(name)
        ordered.append(by_name[name])

    for name in by_name:
        visit(name, frozenset())
    return ordered


def no_such_row(table: Table, before: Row, updated: bool) -> OperationFailed:
    """Why a change to a table without a key cannot apply: the destination holds no row with
    the old values, so it no longer holds what the source held (a write there, say)."""
    values = ", ".join(repr(v) for v in before)
    shown = values if len(values) <= 200 else values[:200] + "…"
    return OperationFailed(
        f"table {table.name!r} has no key and the destination holds no row ({shown}) that the "
        f"source {'updated' if updated else 'deleted'}, so the two sides differ: see how with "
        f"turnout verify, then start the task again with --resnapshot")
