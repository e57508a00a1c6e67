"""Verification of a key-value pair (capabilities.keyspace): the engine compares key by key,
and each database becomes one entry of the report's "tables", in the same JSON contract
(rows_* count keys; "missing", "extra", "different" list key names; "different_columns"
says what differs: type, value, ttl)."""

from __future__ import annotations

import time
from typing import Any

from turnout.engines.base import Engine
from turnout.errors import Unsupported
from turnout.spec import TaskSpec
from turnout.verify.report import Difference, DiffKind, Report, TableResult


def run(spec: TaskSpec, src: Engine, level: str, repair: str | None,
        started: float) -> dict[str, Any]:
    """The JSON report for a task whose source holds keys."""
    if repair:
        raise Unsupported(f"--repair is not built for {spec.source_endpoint.scheme} yet: "
                          "start the task with --resnapshot to copy every key afresh")
    keyspace = src.keyspace
    assert keyspace is not None  # capabilities.keyspace promised one
    results = []
    for db in keyspace.compare(spec.dest_endpoint, level, spec.narrowing()):
        diffs = [Difference(DiffKind.MISSING, (k,)) for k in db.missing]
        diffs += [Difference(DiffKind.EXTRA, (k,)) for k in db.extra]
        diffs += [Difference(DiffKind.DIFFERENT, (k,), why) for k, why in db.different]
        results.append(TableResult(db.source, db.dest, db.keys_source, db.keys_dest,
                                   differences=diffs, checked="count" if level == "count"
                                   else "content"))
    return Report(results, time.time() - started).to_dict()
