"""kill -9 the worker during the full step and during the incremental step, under writes.

The worker is a real detached process (`turnout task start`); the business writing to the
source is a thread of the test (tests/integration/bank.py). After each kill the task is
started again; at the end source and destination must hold the same rows, none lost, none
doubled (the destination key is only built after the full step, so a doubled row would go
unnoticed until the comparison at the end).

The cases are the pairs whose copy and capture code differ: each source's capture (SQLite
triggers, PostgreSQL logical decoding, the MySQL binlog) and each destination's apply, the
direct paths between two SQLite files and between two PostgreSQL databases (a streamed COPY),
and PostgreSQL's parallel ranges, each committing its chunks with its own checkpoint.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import pytest

from tests.integration.bank import Business, build_source, finish_and_compare, kill_worker
from tests.integration.pairs import Pair, kind, over_cases
from turnout import api, engines
from turnout.migrate import full
from turnout.spec import Options, TaskSpec
from turnout.store import Store

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Case:
    pair: Pair
    rows: int  # enough that the full step lasts through two kills
    full_kills: int = 2
    incremental_kills: int = 0
    direct: bool = False
    chunk_rows: int = 1000
    batch_changes: int = 300
    max_statements: int = 20
    # rows/s the copy may write at most (0: unpaced), so that a look between two polls finds
    # the full step part-way however fast the box copies
    pace: float = 0.0


CASES = {
    # small chunks: the direct path is fast enough to finish the whole step between two polls
    # with big ones
    "sqlite-sqlite-direct": Case(("sqlite", "sqlite"), 500_000, direct=True, chunk_rows=100),
    "sqlite-sqlite": Case(("sqlite", "sqlite"), 150_000, incremental_kills=4, pace=50_000),
    "sqlite-pg": Case(("sqlite", "postgresql"), 150_000, incremental_kills=4, pace=50_000),
    "pg-pg-streamed-copy": Case(("postgresql", "postgresql"), 300_000, direct=True,
                                chunk_rows=2000, max_statements=10),
    "pg-pg": Case(("postgresql", "postgresql"), 300_000, chunk_rows=2000, max_statements=10),
    "pg-sqlite": Case(("postgresql", "sqlite"), 5_000, full_kills=0, incremental_kills=3,
                      batch_changes=200, max_statements=10),
    "mysql-mysql": Case(("mysql", "mysql"), 60_000, incremental_kills=3),
    "mysql-sqlite": Case(("mysql", "sqlite"), 60_000, incremental_kills=3),
}


def copying(status: dict) -> bool:
    """In the full step, some table part-way."""
    return bool(status["phase"] == "full" and status["pid"] and any(
        0 < t["rows_copied"] < t["rows_total"] for t in status["tables"]))


def following(status: dict) -> bool:
    return bool(status["phase"] == "incremental" and status["pid"])


def killed(store: Store, name: str) -> None:
    kill_worker(store, name)
    status = api.task_status(name, store)
    assert status["state"] == "Failed" and "task start" in status["error"], status


@over_cases(CASES)
def test_kill_9_in_the_full_and_incremental_steps_loses_and_doubles_nothing(
    store: Store, urls: tuple[str, str], case: Case
) -> None:
    source, dest = urls
    ranges = kind(source) == "postgresql" and case.full_kills > 0
    if ranges and full.PARALLEL < 2:
        pytest.skip("one CPU: the full step runs a single worker")
    build_source(source, case.rows)
    name = "crash"
    api.create_task(TaskSpec(name, source, dest, options=Options(
        chunk_rows=case.chunk_rows, batch_changes=case.batch_changes,
        direct_copy=case.direct, max_rows_per_second=case.pace)), store)
    business = Business(source, case.rows, case.max_statements)
    business.start()
    rng = random.Random(5)
    try:
        for round_ in range(case.full_kills):
            api.start_task(name, store)
            api.wait_for(name, copying, 60, store)
            time.sleep(0.05 * round_)
            killed(store, name)
        if ranges:  # each range resumes from its own checkpoint
            assert any(k.startswith("full#") for k in engines.connect(dest).read_checkpoint(name))
        api.start_task(name, store)
        api.wait_for(name, following, 120, store)
        for _ in range(case.incremental_kills):  # at random moments while changes flow
            time.sleep(rng.uniform(0.1, 0.6))
            killed(store, name)
            time.sleep(rng.uniform(0.0, 0.3))  # the business keeps writing meanwhile
            api.start_task(name, store)
            api.wait_for(name, following, 60, store)
        finish_and_compare(store, name, source, dest, business)
    finally:
        business.halt.set()
        if api.task_status(name, store)["pid"]:  # a failed test leaves no worker behind
            kill_worker(store, name)
