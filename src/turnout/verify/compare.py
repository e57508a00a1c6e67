"""Comparing table pairs: every query of every table is a job on one thread pool.

All tables share the pool, so both databases stay busy; the destination's
half of each query runs on a second pool at the same time as the source's.
This thread only schedules and compares (ranges.py).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from turnout.filters.sql import to_sql
from turnout.verify.pairs import TablePair
from turnout.verify.ranges import Outcome, TableComparison
from turnout.verify.report import TableResult
from turnout.verify.workers import Readers, Throttle

Progress = Callable[[str, int, int | None], None]  # (source table, rows done, rows in all)


@dataclass
class Settings:
    threads: int = 4
    level: str = "content"  # schema, count or content
    max_rows_per_second: float | None = None  # read rate on each side, to spare production


def compare(pairs: list[TablePair], settings: Settings,
            progress: Progress | None = None) -> list[TableResult]:
    """Compare every pair; all of them share one pool of `settings.threads` workers."""
    readers, throttle = Readers(), Throttle(settings.max_rows_per_second)
    threads = max(1, settings.threads)
    dest_pool = ThreadPoolExecutor(threads, "turnout-verify-dest")
    tables = [TableComparison(p, readers, throttle, dest_pool) for p in pairs]
    try:
        if settings.level == "schema":
            return [_schema_only(t) for t in tables]
        if settings.level == "count":
            return _counts(tables, readers)
        with ThreadPoolExecutor(threads, "turnout-verify") as pool:
            _run(pool, tables, progress)
        return [t.finish() for t in tables]
    finally:
        dest_pool.shutdown()
        readers.close()


def _run(pool: ThreadPoolExecutor, tables: list[TableComparison],
         progress: Progress | None) -> None:
    running: dict[Future[Outcome], TableComparison] = {}
    for table in tables:
        for job in table.first_jobs(counted=progress is not None):
            running[pool.submit(job)] = table
    while running:
        done, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in done:
            table = running.pop(future)
            for job in table.take(future.result()):
                running[pool.submit(job)] = table
            if progress:
                progress(table.result.source, table.done_rows, table.total)


def _schema_only(table: TableComparison) -> TableResult:
    table.result.checked = "schema"
    return table.result


def _counts(tables: list[TableComparison], readers: Readers) -> list[TableResult]:
    for table in tables:
        src, dst = table.pair.source, table.pair.dest
        table.result.checked = "count"
        reader = readers.get(src.engine)
        rule = table.pair.rule
        where = "" if rule is None or rule.where is None else \
            to_sql(rule.where, reader.quote, reader.text_literal)
        table.result.rows_source = reader.count(src.table, where)
        if dst is not None:
            table.result.rows_dest = readers.get(dst.engine).count(dst.table)
    return [t.result for t in tables]
