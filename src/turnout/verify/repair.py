"""Putting differences right: the reference side's row is upserted, extra rows deleted.

The fix is written as SQL for a person to review first; `apply()` then runs
the same changes through the engine's own batch apply (the path every
migration uses), in one transaction per table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from turnout.coalesce import Batch, TableBatch
from turnout.engines.base import Engine
from turnout.errors import BadInput
from turnout.model import Key, Row, Table
from turnout.verify.pairs import Side, TablePair
from turnout.verify.report import DiffKind, TableResult
from turnout.verify.workers import readable

TARGETS = ("dest", "source")


@dataclass
class Fix:
    """The changes one table needs on the side being repaired."""

    engine: Engine
    table: Table  # the compared columns, as that side names them
    upserts: dict[Key, Row]
    deletes: list[Key]

    def __len__(self) -> int:
        return len(self.upserts) + len(self.deletes)


def plan(pairs: list[TablePair], results: list[TableResult], target: str) -> list[Fix]:
    """What to write where so that `target` ("dest" or "source") matches the other side."""
    if target not in TARGETS:
        raise BadInput(f"--repair takes dest or source, not {target!r}")
    fixes: list[Fix] = []
    for pair, result in zip(pairs, results, strict=True):
        if pair.dest is None or not result.differences:
            continue
        if pair.rule is not None and target == "source":
            raise BadInput(f"table {result.source} is filtered or masked by the task, so "
                           "--repair source would delete the rows the filter left out or write "
                           "masked values over real ones: repair the destination instead "
                           "(--repair dest)")
        if not pair.keyed:
            raise BadInput(f"table {result.source} has no primary key, so its differing rows "
                           "are reported but not repaired (nothing tells which of equal rows to "
                           "change): fix them by hand, or copy the tables afresh with task "
                           "start --resnapshot")
        fixes.append(_fix(pair, result, target))
    return fixes


def _fix(pair: TablePair, result: TableResult, target: str) -> Fix:
    assert pair.dest is not None
    to_dest = target == "dest"
    side, other = (pair.dest, pair.source) if to_dest else (pair.source, pair.dest)
    gone = DiffKind.EXTRA if to_dest else DiffKind.MISSING  # rows only the target has
    upserts: dict[Key, Row] = {}
    deletes: list[Key] = []
    for diff in result.differences:
        own, reference = (diff.dest_row, diff.source_row) if to_dest else (diff.source_row,
                                                                          diff.dest_row)
        row = own if diff.kind is gone else reference
        assert row is not None
        key = tuple(row[i] for i in pair.key_at)
        if diff.kind is gone:
            deletes.append(key)
        else:
            upserts[key] = pair.cast(row) if to_dest and pair.cast else row
    table = _compared(side, other)
    return Fix(side.engine, table, upserts, deletes)


def _compared(side: Side, other: Side) -> Table:
    """The side's table cut to the compared columns; rows come from the other engine."""
    columns = tuple(side.table.column(p.name) for p in side.probes)
    return replace(side.table, columns=columns, origin=other.engine.scheme,
                   primary_key=side.key, indexes=(), foreign_keys=(), generated=(), checks=())


def script(fixes: list[Fix]) -> str:
    """The fix as SQL, one transaction per table, in each target engine's dialect."""
    lines = ["-- turnout verify --repair: review, then run with --apply (or by hand)"]
    for fix in fixes:
        reader = readable(fix.engine)
        try:
            names, key = fix.table.column_names, fix.table.primary_key
            lines += ["", f"-- {fix.table.name}: {len(fix.upserts)} upserts, "
                          f"{len(fix.deletes)} deletes", "BEGIN;"]
            lines += [reader.delete_sql(fix.table, key, k) for k in fix.deletes]
            lines += [reader.upsert_sql(fix.table, names, key, r) for r in fix.upserts.values()]
            lines.append("COMMIT;")
        finally:
            reader.close()
    return "\n".join(lines) + "\n"


def write_script(fixes: list[Fix], path: str | Path) -> Path:
    target = Path(path)
    target.write_text(script(fixes), encoding="utf-8")
    return target


def apply(fixes: list[Fix]) -> int:
    """Run the fixes; how many rows were written or deleted."""
    done = 0
    for fix in fixes:
        batch = TableBatch(fix.table, upserts=dict(fix.upserts), deletes=set(fix.deletes))
        fix.engine.apply(Batch(tables={fix.table.name: batch}, position=None), None)
        done += len(fix)
    return done
