"""Benchmark: the write downtime of a switchover under an application that keeps retrying.

Why this exists: the issue asks how long writes stop when turnout switches a
workload over, with default options, for PostgreSQL → PostgreSQL and MySQL →
PostgreSQL with 10 tables. This script starts private servers
(turnout.testing.servers, never the machine's own), fills N tables of ROWS rows,
runs a turnout task until it follows changes, and starts writer threads
that behave like a web application: a new connection per transaction, a
refused write retried 50 ms later, the side written to read from a config
file that `--on-switch` rewrites (as an env file would). It then runs
`api.switchover` with default options and reports two figures: turnout's
`write_downtime_s` (freeze to the moment the workload may write on the
destination) and the longest gap between two commits the writers saw. A
rollback returns to the start for the next run. The box is noisy (2 cores):
the script prints every run and the median, and never asserts on time.

    python bench/switchover.py [--pairs postgres-postgres,mysql-postgres] [--tables 10] [--rows N]
                               [--repeat R] [--writers W] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pymysql
from _common import add_dir_option, median, print_table, work_dir

from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import start_mariadb, start_postgres

RETRY_S = 0.05  # a refused request tried again this much later: the gaps' resolution


def app_write(url: str, sql: str, params: tuple[Any, ...]) -> None:
    """One transaction on a connection of its own, as a web application makes it."""
    if url.startswith("postgres"):
        with psycopg.connect(url, autocommit=True, application_name="app") as conn:
            conn.execute(sql, params)
        return
    parts = urlsplit(url)
    with closing(pymysql.connect(host=parts.hostname, port=parts.port, user=parts.username,
                                 password=parts.password or "", autocommit=True,
                                 database=parts.path.lstrip("/"))) as conn:
        conn.cursor().execute(sql, params)


class Writers:
    """Threads updating random rows of random tables on the side `config` names; a refused
    write is retried, and every commit's time is kept."""

    def __init__(self, urls: dict[str, str], config: Path, tables: int, rows: int,
                 count: int) -> None:
        self.urls, self.config, self.tables, self.rows = urls, config, tables, rows
        self.halt = threading.Event()
        self.commits: list[float] = []
        self.refused = 0
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(count)]

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        while not self.halt.is_set():
            table, key = rng.randrange(self.tables), rng.randint(1, self.rows)
            url = self.urls[self.config.read_text().strip()]
            try:
                app_write(url, f"UPDATE t{table} SET v = v + 1 WHERE id = %s", (key,))
                self.commits.append(time.time())
            except (psycopg.Error, pymysql.err.MySQLError):
                self.refused += 1
                time.sleep(RETRY_S)

    def longest_gap(self) -> float:
        times = sorted(self.commits)
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)

    def __enter__(self) -> Writers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.halt.set()
        for thread in self.threads:
            thread.join(10)


def repoint(config: Path, side: str) -> str:
    """--on-switch: the writers' config file replaced whole (never read half written)."""
    return f"echo {side} > {config}.new && mv {config}.new {config}"


def fill(url: str, tables: int, rows: int) -> None:
    if url.startswith("postgres"):
        with psycopg.connect(url, autocommit=True) as conn:
            for i in range(tables):
                conn.execute(f"CREATE TABLE t{i} (id int PRIMARY KEY, v int NOT NULL)")
                conn.execute(f"INSERT INTO t{i} SELECT g, 0 FROM generate_series(1, {rows}) g")
        return
    parts = urlsplit(url)
    with closing(pymysql.connect(host=parts.hostname, port=parts.port, user=parts.username,
                                 autocommit=True, database=parts.path.lstrip("/"))) as conn:
        cur = conn.cursor()
        for i in range(tables):
            cur.execute(f"CREATE TABLE t{i} (id int PRIMARY KEY, v int NOT NULL)")
            cur.execute(f"INSERT INTO t{i} SELECT seq, 0 FROM seq_1_to_{rows}")


def mysql_app(server: Any, url: str) -> str:
    """An application account on the database of `url` (root passes read_only)."""
    database = urlsplit(url).path.lstrip("/")
    server.sql("CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY 'app'; "
               f"GRANT ALL ON `{database}`.* TO 'app'@'%'")
    return url.replace("root@", "app:app@", 1)


def one_case(servers: dict[str, Any], store: Store, pair: str, args: argparse.Namespace,
             work: Path) -> list[tuple[float, float]]:
    kinds = dict(zip(("source", "dest"), pair.split("-"), strict=True))
    urls = {side: servers[kind].create_database(f"{pair.replace('-', '_')}_{side}")
            for side, kind in kinds.items()}
    fill(urls["source"], args.tables, args.rows)
    apps = {side: mysql_app(servers["mysql"], url) if url.startswith("mysql") else url
            for side, url in urls.items()}
    name = f"bench-{pair}"
    api.create_task(TaskSpec(name, urls["source"], urls["dest"]), store)
    api.start_task(name, store)
    following = lambda s: s["state"] == "Migrating" and s["phase"] == "incremental"  # noqa: E731
    config = work / f"{pair}.side"
    results = []
    for run in range(args.repeat):
        api.wait_for(name, following, 600, store)
        config.write_text("source")
        with Writers(apps, config, args.tables, args.rows, args.writers) as writers:
            deadline = time.time() + 60
            while time.time() < deadline:  # a known delay of at most 2 s (0 included)
                delay = api.task_status(name, store)["delay_s"]
                if delay is not None and delay <= 2:
                    break
                time.sleep(0.5)
            time.sleep(2)
            result = api.switchover(name, store, on_switch=repoint(config, "dest"))
            time.sleep(2)
        results.append((result["write_downtime_s"], writers.longest_gap()))
        print(f"{pair} {args.tables} tables run {run + 1}: write downtime "
              f"{results[-1][0]:.2f} s, longest gap between commits {results[-1][1]:.2f} s "
              f"({len(writers.commits)} commits, {writers.refused} refused)", flush=True)
        api.rollback(name, store, on_switch=repoint(config, "source"))
    api.stop_task(name, store)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pairs", default="postgres-postgres,mysql-postgres")
    parser.add_argument("--tables", type=int, default=10)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--writers", type=int, default=4)
    add_dir_option(parser)
    args = parser.parse_args()
    work = work_dir("switchover", args.dir)
    os.environ["TURNOUT_HOME"] = str(work / "home")
    pairs = args.pairs.split(",")
    servers: dict[str, Any] = {"postgres": start_postgres(work / "pg")}
    if any("mysql" in p for p in pairs):
        servers["mysql"] = start_mariadb(work / "mariadb", ["--binlog-row-metadata=FULL",
                                                            "--max-connections=300"])
    try:
        store = Store()
        results = {pair: one_case(servers, store, pair, args, work) for pair in pairs}
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print()
    print_table(["pair", "median downtime s", "median gap s", "runs (downtime/gap)"],
                [[pair, f"{median(r[0] for r in runs):.2f}", f"{median(r[1] for r in runs):.2f}",
                  ", ".join(f"{a:.2f}/{b:.2f}" for a, b in runs)]
                 for pair, runs in results.items()])
    print(f"{args.tables} tables of {args.rows:,} rows; {args.writers} retrying writers; "
          "default options (--grace 0); private PostgreSQL 15 and MariaDB 10.11 servers")


if __name__ == "__main__":
    main()
