"""One verification run from a spec: connect, pair, compare, recheck, repair, report.

`verify_urls` (tables of the same names in two databases) and task.py's `verify_task` (a
task's tables, with its renames and casts) are what the faces call through turnout.api.
This module needs no task store, so comparing two URLs loads none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from turnout import engines
from turnout.errors import BadInput
from turnout.spec import TaskSpec
from turnout.verify import compare, keys, pairs, recheck, settle
from turnout.verify import repair as fixing
from turnout.verify.report import Report

LEVELS = ("schema", "count", "content")


def run(spec: TaskSpec, *, caught_up: Callable[[float], object] | None = None,
        level: str = "content", threads: int = 4, max_rows_per_second: float | None = None,
        repair: str | None = None, repair_file: str | None = None, apply: bool = False,
        progress: compare.Progress | None = None, applied: settle.Applied | None = None,
        settle_timeout: float = 120.0, say: Callable[[str], None] = lambda _: None,
        ) -> dict[str, Any]:
    """The JSON report.

    `applied` tells how far a running task has come: differing keys are then read again
    in rounds until each is shown in flight or persisting (settle.py), for at most
    `settle_timeout` seconds, and the report gains "recheck" (what that found); `say`
    hears each round and each long wait. `caught_up(since)` is the older, single re-read:
    it returns once the destination has applied what the source committed before `since`.
    """
    if level not in LEVELS:
        raise BadInput(f"--level takes schema, count or content, not {level!r}")
    if (repair or apply) and level != "content":
        raise BadInput("--repair needs --level content: it fixes rows it has compared")
    if apply and not repair:
        raise BadInput("--apply needs --repair dest or --repair source: say which side to fix")
    if threads < 1:
        raise BadInput(f"--threads must be at least 1, not {threads}")
    started = time.time()
    src = engines.connect(spec.source_endpoint)
    dst = engines.connect(spec.dest_endpoint)
    try:
        if src.capabilities.keyspace:  # keys, not tables: the engine compares them
            return keys.run(spec, src, level, repair, started, repair_file, apply)
        table_pairs = pairs.task_pairs(spec, src, dst)
        settings = compare.Settings(threads=threads, level=level,
                                    max_rows_per_second=max_rows_per_second)
        results = compare.compare(table_pairs, settings, progress)
        summary = None
        if applied is not None and any(r.differences for r in results):
            results, summary = settle.settle(table_pairs, results, applied, settle_timeout, say)
        elif caught_up is not None and any(r.differences for r in results):
            caught_up(time.time())
            results = recheck.recheck(table_pairs, results)
        report = Report(results, time.time() - started).to_dict()
        if summary is not None:
            report["recheck"] = summary.to_dict()
        if repair:
            fixes = fixing.plan(table_pairs, results, repair)
            path = fixing.write_script(fixes, repair_file or f"turnout-repair-{spec.name}.sql")
            report["repair"] = {"target": repair, "file": str(path),
                                "rows": sum(len(f) for f in fixes),
                                "applied": fixing.apply(fixes) if apply else 0}
        return report
    finally:
        src.close()
        dst.close()


def verify_urls(source: str, dest: str, tables: list[str] | None = None,
                **options: Any) -> dict[str, Any]:
    """Compare tables of the same names in two databases (no task needed)."""
    spec = TaskSpec(name="verify", source=source, dest=dest, tables=tuple(tables or ("*",)))
    recheck = options.pop("recheck", False)
    return run(spec, applied=settle.Immediately() if recheck else None, **options)
