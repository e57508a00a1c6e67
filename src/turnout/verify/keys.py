"""Verification of a key-value pair (capabilities.keyspace): the engine compares key by key,
and each database becomes one entry of the report's "tables", in the same JSON contract
(rows_* count keys; "missing", "extra", "different" list key names; "different_columns"
says what differs: type, value, ttl)."""

from __future__ import annotations

import time
from typing import Any

from turnout.engines.base import Engine
from turnout.errors import BadInput
from turnout.spec import TaskSpec
from turnout.verify.repair import TARGETS
from turnout.verify.report import Difference, DiffKind, Report, TableResult


def run(spec: TaskSpec, src: Engine, level: str, repair: str | None, started: float,
        repair_file: str | None = None, apply: bool = False) -> dict[str, Any]:
    """The JSON report for a task whose source holds keys; with `repair` ("dest" or
    "source"), that side is made to hold what the other does for every key listed (the
    plan written to `repair_file`, carried out with `apply`)."""
    if repair is not None and repair not in TARGETS:
        raise BadInput(f"--repair takes dest or source, not {repair!r}")
    keyspace = src.keyspace
    assert keyspace is not None  # capabilities.keyspace promised one
    results = []
    found = keyspace.compare(spec.dest_endpoint, level, spec.narrowing())
    for db in found:
        diffs = [Difference(DiffKind.MISSING, (k,)) for k in db.missing]
        diffs += [Difference(DiffKind.EXTRA, (k,)) for k in db.extra]
        diffs += [Difference(DiffKind.DIFFERENT, (k,), why) for k, why in db.different]
        results.append(TableResult(db.source, db.dest, db.keys_source, db.keys_dest,
                                   differences=diffs, checked="count" if level == "count"
                                   else "content"))
    report = Report(results, time.time() - started).to_dict()
    if repair:
        report["repair"] = keyspace.repair(spec.dest_endpoint, found, repair,
                                           repair_file or f"turnout-repair-{spec.name}.txt",
                                           apply)
    return report
