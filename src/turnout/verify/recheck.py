"""Looking again at the rows that differed, after a running task has caught up past them.

While a task replicates, a row changed at the source moments ago differs on
the destination only because it is still on its way. Reading just those
keys again once the task has applied everything committed before the first
look leaves only real differences.
"""

from __future__ import annotations

from turnout.verify.pairs import TablePair
from turnout.verify.ranges import TableComparison
from turnout.verify.report import TableResult
from turnout.verify.workers import Readers, Throttle


def recheck(pairs: list[TablePair], results: list[TableResult]) -> list[TableResult]:
    """The results with every differing key read again from both sides."""
    readers = Readers()
    try:
        return [_again(pair, result, readers) for pair, result in zip(pairs, results, strict=True)]
    finally:
        readers.close()


def _again(pair: TablePair, result: TableResult, readers: Readers) -> TableResult:
    src, dst = pair.source, pair.dest
    if dst is None or not pair.keyed or not result.differences:
        return result
    if pair.rule is not None:  # its keys may be hashed: compare the whole table again
        table = TableComparison(pair, readers, Throttle(None))
        table.take(table.whole())
        return table.finish()
    keys = sorted({d.key for d in result.differences}, key=repr)
    names = tuple(p.name for p in src.probes), tuple(p.name for p in dst.probes)
    ours = readers.get(src.engine).rows_by_keys(src.table, names[0], src.key, keys)
    theirs = readers.get(dst.engine).rows_by_keys(dst.table, names[1], dst.key, keys)
    table = TableComparison(pair, readers, Throttle(None))
    table.compare_rows(ours, theirs)
    fresh = table.finish()
    fresh.rows_source = readers.get(src.engine).count(src.table)  # the first counts saw the lag
    fresh.rows_dest = readers.get(dst.engine).count(dst.table)
    return fresh
