"""Benchmark: catch-up rate of the same backlog by two builds of turnout, alternating.

Usage:
    .venv/bin/python bench/catchup_ab.py --engine postgres|mysql --build new=. --build old=PATH
        [--rounds 3] [--backlog 300000] [--txn-rows N] [--sysbench SECONDS]

Each build (a source tree: PATH/src is put first on PYTHONPATH of its `turnout` commands,
and so of the workers they start) gets a task of its own from one source into a
destination database of its own, with a TURNOUT_HOME of its own. Both tasks copy, catch
up and stop; then each round UPDATEs --backlog rows on the source with both stopped and
starts the builds one after the other in alternating order, timing each from its start
until the destination's table matches the source's (builds count changes_applied
differently; the tables do not lie). Both tasks read the same changes,
so the builds are compared on the same backlog, minutes apart at most. Prints each run,
the load average, the worker's CPU seconds (user + system, read from /proc just before it
is stopped: steadier than wall clock on a shared box) per 1,000 changes and the median
rate per build; content is checked after each round. MySQL with --sysbench SECONDS: the
backlog is what `sysbench oltp_write_only` writes in that time (transactions of 4 row
changes, the shape the incremental bench follows) instead of UPDATEs of --backlog rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import Timer, add_dir_option, alternating, load_average, median, work_dir

from turnout.testing.servers import clean_env


class Build:
    def __init__(self, name: str, tree: Path, home: Path) -> None:
        self.name, self.tree, self.home = name, tree, home
        self.task = f"t_{name}"  # a slot of its own: slot names come from task names
        home.mkdir(parents=True, exist_ok=True)
        self.env = dict(clean_env(), TURNOUT_HOME=str(home),
                        PYTHONPATH=str(tree.resolve() / "src"))

    def __call__(self, *args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "turnout", *args], capture_output=True,
                              text=True, env=self.env, timeout=1800, check=False)
        if proc.returncode != 0:
            sys.exit(f"[{self.name}] turnout {' '.join(args)} exited {proc.returncode}: "
                     f"{(proc.stderr or proc.stdout).strip()}")
        return proc.stdout

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = json.loads(self("task", "status", self.task, "--json"))
        return status

    def wait(self, done: Any, timeout: float) -> float:
        """Seconds from now until `done()` (the destination holds what the source holds):
        the builds count changes_applied differently, the tables do not lie."""
        timer = Timer()
        while timer.seconds < timeout:
            if done():
                return timer.seconds
            time.sleep(0.2)
        sys.exit(f"[{self.name}] not caught up within {timeout:.0f} s: {self.status()}")

    def spy(self, out: Path, rnd: int) -> subprocess.Popen[bytes]:
        out.mkdir(parents=True, exist_ok=True)
        exe = Path(sys.executable).parent / "py-spy"
        return subprocess.Popen([str(exe), "record", "--pid", str(self.status()["pid"]),
                                 "--format", "raw", "--rate", "50", "--threads",
                                 "--output", str(out / f"{self.name}-{rnd + 1}.txt")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the task's worker so far (0 where /proc has none)."""
        try:
            fields = Path(f"/proc/{self.status()['pid']}/stat").read_text().rsplit(")", 1)[1]
        except (OSError, KeyError, TypeError):
            return 0.0
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def check_alive(self) -> None:
        st = self.status()
        if st["state"] == "Failed":
            sys.exit(f"[{self.name}] turnout failed: {st['error']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engine", choices=["postgres", "mysql"], required=True)
    parser.add_argument("--build", action="append", required=True, help="NAME=TREE")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=300_000)
    parser.add_argument("--txn-rows", type=int, default=0,
                        help="rows a source transaction (default 100,000 PG, 10,000 MySQL)")
    parser.add_argument("--sysbench", type=int, default=0, metavar="SECONDS",
                        help="MySQL: the backlog is sysbench oltp_write_only run this long")
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                        help="sample each timed worker with py-spy (beside this Python) into "
                        "DIR/NAME-ROUND.txt, collapsed stacks with --idle off")
    add_dir_option(parser)
    opts = parser.parse_args()
    work = work_dir("catchup_ab", opts.dir)
    builds = [Build(n, Path(t), work / f"home-{n}")
              for n, t in (b.split("=", 1) for b in opts.build)]
    for b in builds:
        head = subprocess.run(["git", "-C", str(b.tree), "log", "-1", "--format=%h %s"],
                              capture_output=True, text=True, check=False).stdout.strip()
        print(f"build {b.name}: {b.tree} at {head[:80]}")
    engine = Pg(work, opts) if opts.engine == "postgres" else My(work, opts)
    rates: dict[str, list[float]] = {b.name: [] for b in builds}
    cpus: dict[str, list[float]] = {b.name: [] for b in builds}
    try:
        engine.prepare()
        for b in builds:
            b("task", "create", b.task, "--source", engine.source_url(), "--dest",
              engine.dest_url(b.name), "--types", "schema,full,incremental",
              *engine.task_options)
            b("task", "start", b.task)
            b.wait(lambda b=b: engine.equal(b.name, b.check_alive), 1800)
            b("task", "stop", b.task)
        for rnd in range(opts.rounds):
            made = engine.backlog(opts.backlog)
            for b in alternating(builds, rnd):
                load0 = load_average()
                with Timer() as timer:
                    b("task", "start", b.task)
                    spy = b.spy(opts.py_spy, rnd) if opts.py_spy else None
                    b.wait(lambda b=b: engine.equal(b.name), 1800)
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(60)
                cpu = b.cpu_seconds() * 1000 / made
                b("task", "stop", b.task)
                rates[b.name].append(made / timer.seconds)
                cpus[b.name].append(cpu)
                print(f"round {rnd + 1} {b.name:>6}: {made:,} changes in {timer.seconds:6.1f} s, "
                      f"{made / timer.seconds:8,.0f} changes/s, worker CPU {cpu:.3f} s per "
                      f"1,000 changes; load {load0} -> {load_average()}", flush=True)
            engine.check(builds)
        for name, values in rates.items():
            print(f"{name:>6}: median {median(values):,.0f} changes/s "
                  f"({', '.join(f'{v:,.0f}' for v in values)}), worker CPU median "
                  f"{median(cpus[name]):.3f} s per 1,000 changes "
                  f"({', '.join(f'{v:.3f}' for v in cpus[name])})")
    finally:
        for b in builds:
            subprocess.run([sys.executable, "-m", "turnout", "task", "stop", b.task], env=b.env,
                           capture_output=True, check=False, timeout=300)
        engine.close()
        shutil.rmtree(work, ignore_errors=True)


class Pg:
    def __init__(self, work: Path, opts: argparse.Namespace) -> None:
        self.work, self.opts = work, opts
        self.server: Any = None
        self.rows = opts.txn_rows or 100_000
        # builds before keyless tables were followed refuse pgbench_history
        self.task_options = ["--exclude", "pgbench_history"]

    def prepare(self) -> None:
        from pg_incremental import SOURCE_DB, pgbench

        from turnout.testing.servers import start_postgres
        self.server = start_postgres(self.work / "pg", extra_args=["-c", "synchronous_commit=on"])
        self.src = self.server.create_database(SOURCE_DB)
        pgbench(self.server, ["-i", "-q", "-s", str(max(1, -(-self.opts.backlog // 100_000)))],
                timeout=900)
        self.query(self.src, "ALTER TABLE pgbench_history REPLICA IDENTITY FULL")
        self.dst: dict[str, str] = {}

    def query(self, url: str, sql: str) -> list[tuple[Any, ...]]:
        import psycopg
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def source_url(self) -> str:
        return str(self.src)

    def dest_url(self, name: str) -> str:
        self.dst[name] = self.server.create_database(f"dst_{name}")
        return str(self.dst[name])

    def backlog(self, changes: int) -> int:
        from pg_incremental import make_backlog
        make_backlog(self.src, changes, self.rows, changes)
        return changes

    def equal(self, name: str, alive: Any = None) -> bool:
        sql = "SELECT count(*), sum(abalance) FROM pgbench_accounts"
        try:
            return self.query(self.src, sql) == self.query(self.dst[name], sql)
        except Exception:  # the table is not there yet
            if alive:
                alive()
            return False

    def check(self, builds: list[Build]) -> None:
        """Nothing beyond equal(): pgbench_accounts' count and sum."""

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


class My:
    def __init__(self, work: Path, opts: argparse.Namespace) -> None:
        self.work, self.opts = work, opts
        self.servers: list[Any] = []
        self.rows = opts.txn_rows or 10_000
        self.task_options: list[str] = []

    def prepare(self) -> None:
        import _mysql as my
        self.my = my
        self.servers = [my.start_source(self.work / "source"), my.start_source(self.work / "dest")]
        self.src, self.dst = self.servers
        my.my_fresh_db(self.src, "sb")
        my.sysbench(self.src, "sb", "oltp_write_only", "prepare", self.opts.backlog)

    def source_url(self) -> str:
        return str(self.src.url("sb"))

    def dest_url(self, name: str) -> str:
        return str(self.my.my_fresh_db(self.dst, f"d_{name}"))

    def backlog(self, changes: int) -> int:
        if self.opts.sysbench:  # 4 row changes a transaction: 2 updates, a delete, an insert
            out = self.my.sysbench(self.src, "sb", "oltp_write_only", "run", self.opts.backlog,
                                   "--threads=4", f"--time={self.opts.sysbench}")
            return 4 * int(out.split("transactions:", 1)[1].split()[0])
        done, lo = 0, 1
        with self.my.my_connect(self.src, "sb") as conn, conn.cursor() as cur:
            while done < changes:
                hi = lo + min(self.rows, changes - done) - 1
                done += cur.execute("UPDATE sbtest1 SET k = k + 1 WHERE id BETWEEN %s AND %s",
                                    (lo, hi))
                lo = hi + 1
        return done

    def equal(self, name: str, alive: Any = None) -> bool:
        sql = "SELECT count(*), sum(k) FROM sbtest1"
        try:
            return bool(self.my.my_query(self.src, "sb", sql)
                        == self.my.my_query(self.dst, f"d_{name}", sql))
        except Exception:  # the table is not there yet
            if alive:
                alive()
            return False

    def check(self, builds: list[Build]) -> None:
        """Every row's content, not only count and sum(k): exit on a difference."""
        want = self.my.my_content(self.src, "sb")
        for b in builds:
            got = self.my.my_content(self.dst, f"d_{b.name}")
            if got != want:
                sys.exit(f"[{b.name}] destination differs from the source: {got} != {want}")

    def close(self) -> None:
        for server in self.servers:
            server.stop()


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)
    main()
