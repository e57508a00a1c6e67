"""Benchmark: the write downtime of a switchover, PostgreSQL → PostgreSQL, under load.

Why this exists: the issue asks how long writes stop when turnout switches a
workload over: from the freeze to "the workload may now move", with
`--grace 0`, for 1 and for 10 tables while an application writes. This
script starts a private PostgreSQL server (tests/servers.py, never the
machine's own), fills N tables of ROWS rows, runs a turnout task until it
follows changes, starts writer threads (each transaction on a connection of
its own, as a pooled application reconnects; writes refused by the freeze
are retried), then runs `api.switchover` and reads `write_downtime_s`. A
rollback returns to the start for the next run. The box is noisy (2 cores):
the script prints every run and the median, and never asserts on time.

    python bench/switchover.py [--tables 1,10] [--rows N] [--repeat R] [--writers W]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.servers import start_postgres  # noqa: E402

from turnout import api  # noqa: E402
from turnout.spec import TaskSpec  # noqa: E402
from turnout.store import Store  # noqa: E402


class Writers:
    """Threads updating random rows of random tables of `url` until halted; a thread whose
    write is refused (the freeze) waits until `url` changes, as a repointed application."""

    def __init__(self, url: str, tables: int, rows: int, count: int) -> None:
        self.url, self.tables, self.rows = url, tables, rows
        self.halt = threading.Event()
        self.committed = 0
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(count)]

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.halt.is_set():
            table, key = rng.randrange(self.tables), rng.randint(1, self.rows)
            url = self.url
            try:
                with psycopg.connect(url, autocommit=True, application_name="app") as c:
                    c.execute(f"UPDATE t{table} SET v = v + 1 WHERE id = %s", (key,))
                self.committed += 1
            except psycopg.Error:  # frozen: the application waits to be repointed
                while self.url == url and not self.halt.is_set():
                    time.sleep(0.01)

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(10)


def fill(url: str, tables: int, rows: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for i in range(tables):
            conn.execute(f"CREATE TABLE t{i} (id int PRIMARY KEY, v int NOT NULL)")
            conn.execute(f"INSERT INTO t{i} SELECT g, 0 FROM generate_series(1, {rows}) g")


def one_case(server: object, store: Store, tables: int, args: argparse.Namespace) -> list[float]:
    source = server.create_database(f"src{tables}")  # type: ignore[attr-defined]
    dest = server.create_database(f"dst{tables}")  # type: ignore[attr-defined]
    fill(source, tables, args.rows)
    name = f"bench{tables}"
    api.create_task(TaskSpec(name, source, dest), store)
    api.start_task(name, store)
    following = lambda s: s["state"] == "Migrating" and s["phase"] == "incremental"  # noqa: E731
    times: list[float] = []
    for run in range(args.repeat):
        api.wait_for(name, following, 300, store)
        with Writers(source, tables, args.rows, args.writers) as writers:
            time.sleep(2)
            result = api.switchover(name, store, grace=0, session_timeout=30)
            times.append(result["write_downtime_s"])
            writers.url = dest  # the workload moves
            time.sleep(1)
        print(f"{tables:>3} tables run {run + 1}: write downtime {times[-1]:.2f} s "
              f"({writers.committed} writes during the run)", flush=True)
        api.rollback(name, store, session_timeout=30)
    api.stop_task(name, store)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", default="1,10")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--writers", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="switchover-"))
    os.environ["TURNOUT_HOME"] = str(work / "home")
    server = start_postgres(work / "pg")
    try:
        store = Store()
        results = {n: one_case(server, store, n, args)
                   for n in (int(x) for x in args.tables.split(","))}
    finally:
        server.stop()
    print(f"\n{'tables':>6}  {'median s':>8}  {'max s':>6}  runs (s)")
    for tables, times in results.items():
        print(f"{tables:>6}  {statistics.median(times):>8.2f}  {max(times):>6.2f}  "
              + ", ".join(f"{t:.2f}" for t in times))
    print(f"rows per table {args.rows:,}; {args.writers} writer threads; --grace 0; "
          "PostgreSQL 15 → PostgreSQL 15 on one private server")


if __name__ == "__main__":
    main()
