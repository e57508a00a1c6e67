"""Benchmark: turnout's full copy of a sysbench MySQL table against pgloader and mysqldump | mysql.

Why this exists: the issue asks how turnout's full copy of a 1,000,000-row sysbench table out of
MySQL compares with the tools people use today, and sets the targets: MySQL → PostgreSQL in at
most half of pgloader's time, MySQL → MySQL in at most half of `mysqldump | mysql`'s. This
script starts private throwaway servers (turnout.testing.servers, never the machine's own
services), fills the source with Debian's sysbench (`sysbench oltp_read_write … prepare`:
table sbtest1, primary key id, index k_1), and times, in one run, alternating the order, each
into a fresh empty database:

- MySQL → PostgreSQL: turnout (schema + full) against pgloader, given a command file that makes
  the same copy (table, rows, primary key, index k_1 under its own name, into `public`, int
  columns as integer);
- MySQL → MySQL: turnout against `mysqldump --single-transaction src | mysql dst`.

turnout runs as a user runs it: `turnout task create … --types schema,full` then `turnout task
run`, with a TURNOUT_HOME of its own, both timed. Every copy is checked (row count, sum(k), an
md5 over c || pad in id order computed by each server, primary key and k_1 present). The box is
noisy (2 cores), so the script prints per-run times, medians and ratios and never asserts on
timing; it fails only when a copy is wrong. When turnout misses a target it is run once more
under cProfile (every thread) and the top functions are printed.

    python bench/mysql_full.py [--rows N] [--repeat R] [--pairs pg,mysql]
        [--profile auto|always|never] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _mysql as my
from _common import (
    Timer,
    add_dir_option,
    alternating,
    children_cpu,
    contender_rows,
    load_average,
    median,
    need,
    print_table,
    process_cpu,
    round_ratio,
    work_dir,
)
from _mysql import TurnoutCli

from turnout.testing.servers import MariaDbServer, PgServer, clean_env, start_postgres

SOURCE_DB = "sbtest"
PAIRS = {"pg": ("MySQL → PostgreSQL", ("pgloader",)),
         "mysql": ("MySQL → MySQL", ("mysqldump", "mydumper"))}
TARGETS = {"pgloader": 0.3, "mysqldump": 0.5, "mydumper": 0.6}
"""turnout's time / the other tool's, at most (the issue's goals)."""
MYDUMPER_THREADS = 2
MYDUMPER_ROWS = 100_000  # mydumper cuts tables into chunks of this many rows (its -r)
PGLOADER_COMMAND = """LOAD DATABASE
  FROM {source}
  INTO {dest}
  WITH create tables, create indexes, reset sequences, preserve index names
  CAST type int with extra auto_increment to serial drop typemod,
       type int to integer drop typemod
  ALTER SCHEMA '{schema}' RENAME TO 'public';
"""


class Bench:
    def __init__(self, work: Path, mariadb: MariaDbServer, pg: PgServer | None) -> None:
        self.work, self.my, self.pg = work, mariadb, pg
        self.source = mariadb.url(SOURCE_DB)

    # destinations --------------------------------------------------------

    def fresh(self, pair: str, db: str) -> str:
        if pair == "mysql":
            return my.my_fresh_db(self.my, db)
        assert self.pg is not None
        self.pg.psql(f'DROP DATABASE IF EXISTS "{db}"')
        url = self.pg.create_database(db)
        self.pg.psql("CHECKPOINT")  # start each run with clean buffers
        return url

    def drop(self, pair: str, db: str) -> None:
        if pair == "mysql":
            my.my_query(self.my, None, f"DROP DATABASE `{db}`")
        else:
            assert self.pg is not None
            self.pg.psql(f'DROP DATABASE "{db}"')

    def check(self, pair: str, db: str, url: str, expected: tuple[str, ...]) -> str | None:
        """None when the copy at ``url`` equals the source, else what is wrong."""
        got = my.my_content(self.my, db) if pair == "mysql" else my.pg_content(url)
        if got != expected:
            return f"content {got} != source {expected}"
        return my.my_index_problem(self.my, db) if pair == "mysql" else my.pg_index_problem(url)

    def servers_cpu(self) -> float:
        """CPU seconds the servers have spent so far (MariaDB holds source and MySQL copies)."""
        return sum(process_cpu(server.process.pid) for server in (self.my, self.pg)
                   if server is not None)

    def run(self, pair: str, who: str, r: int) -> tuple[str, str, float, float, float]:
        """One copy by ``who`` into a fresh database: (db, url, seconds, client CPU s, servers
        CPU s). Client CPU is the tool's process tree (turnout's CLI and worker, or both
        dump and load tools); the servers' counts reading the source as well as loading."""
        db = f"dst_{pair}_{who}_{r + 1}"
        dest = self.fresh(pair, db)
        cli = TurnoutCli(self.work / f"home-{pair}-{r + 1}")  # compiles turnout once
        client, servers = children_cpu(), self.servers_cpu()
        if who == "turnout":
            seconds = cli.copy("bench", self.source, dest)
        elif who == "pgloader":
            seconds = self.pgloader(dest, str(r + 1))
        elif who == "mydumper":
            seconds = self.mydumper(db, str(r + 1))
        else:
            seconds = self.mysqldump(db)
        time.sleep(0.3)  # PostgreSQL's backends count once they have exited
        client = cli.cpu if who == "turnout" else children_cpu() - client  # not its status
        return (db, dest, seconds, client, self.servers_cpu() - servers)

    # contenders ----------------------------------------------------------

    def pgloader(self, dest: str, run: str) -> float:
        command = self.work / f"pgloader-{run}.load"
        command.write_text(PGLOADER_COMMAND.format(source=self.source, dest=dest,
                                                   schema=SOURCE_DB))
        log = self.work / f"pgloader-{run}.log"
        with Timer() as timer, log.open("wb") as out:
            proc = subprocess.run([need("pgloader"), str(command)], stdout=out,
                                  stderr=subprocess.STDOUT, env=clean_env(), check=False)
        if proc.returncode != 0:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            sys.exit(f"pgloader exited {proc.returncode}: {' | '.join(tail)}")
        return timer.seconds

    def mysqldump(self, db: str) -> float:
        args = my.my_client_args(self.my)
        with Timer() as timer:
            dump = subprocess.Popen(
                [need("mysqldump", "mariadb-dump"), *args, "--single-transaction", SOURCE_DB],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
            assert dump.stdout is not None and dump.stderr is not None
            load = subprocess.run([need("mysql", "mariadb"), *args, db], stdin=dump.stdout,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  env=clean_env(), check=False)
            dump.stdout.close()
            dump_err = dump.stderr.read().decode(errors="replace").strip()
            dump.wait()
        if dump.returncode or load.returncode:
            sys.exit(f"dump pipeline failed (mysqldump exit {dump.returncode}, mysql exit "
                     f"{load.returncode}): {dump_err} {load.stderr.decode(errors='replace')}")
        return timer.seconds

    def mydumper(self, db: str, run: str) -> float:
        """`mydumper -t 2 -r 100000` into a directory, then `myloader -t 2` into ``db``."""
        out = self.work / f"mydumper-{run}"
        shutil.rmtree(out, ignore_errors=True)
        conn = ["-h", self.my.host, "-P", str(self.my.port), "-u", "root",
                "-t", str(MYDUMPER_THREADS)]
        steps = [
            [need("mydumper"), *conn, "-B", SOURCE_DB, "-r", str(MYDUMPER_ROWS), "-o", str(out)],
            [need("myloader"), *conn, "-s", SOURCE_DB, "-B", db, "-d", str(out), "-o"],
        ]
        with Timer() as timer:
            for argv in steps:
                proc = subprocess.run(argv, capture_output=True, text=True, env=clean_env(),
                                      check=False)
                if proc.returncode != 0:
                    sys.exit(f"{Path(argv[0]).name} exited {proc.returncode}: "
                             f"{proc.stderr.strip()[-1000:]}")
        shutil.rmtree(out, ignore_errors=True)
        return timer.seconds

    def profile(self, pair: str) -> None:
        """One more turnout copy under the per-thread profiler; prints where the time went.

        It runs `turnout worker bench`, the process `turnout task start` launches, so no
        progress display is in the profile."""
        db = f"dst_profile_{pair}"
        dest = self.fresh(pair, db)
        cli = TurnoutCli(self.work / f"home-profile-{pair}")
        cli.create("bench", self.source, dest, "schema,full")
        out = self.work / f"turnout-{pair}.prof"
        with Timer() as timer:
            code = cli.profiled(out, "worker", "bench").wait()
        problem = self.check(pair, db, dest, my.my_content(self.my, SOURCE_DB))
        if code != 0 or problem:
            sys.exit(f"profiled turnout run failed (exit {code}): {problem}")
        self.drop(pair, db)
        print(f"\nprofile of turnout {PAIRS[pair][0]} (one run, {timer.seconds:.1f} s under "
              "cProfile, every thread merged; thread plumbing and waits for another thread left "
              "out):")
        print("\n".join(my.top_functions(out, "cumulative", 15)))
        print("top by own time:")
        print("\n".join(my.top_functions(out, "tottime", 10)))
        print("turnout's engine functions (read, convert, load, indexes) by cumulative time:")
        print("\n".join(my.top_functions(out, "cumulative", 10, within="turnout/engines/")))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pairs", default="pg,mysql", help="which of pg,mysql to run")
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto",
                        help="auto: profile turnout where it misses its target")
    add_dir_option(parser)
    args = parser.parse_args()
    pairs = [p for p in args.pairs.split(",") if p]
    if not pairs or any(p not in PAIRS for p in pairs):
        parser.error(f"--pairs takes any of {', '.join(PAIRS)}")
    need("sysbench")
    need("mysqldump", "mariadb-dump")
    need("mysql", "mariadb")
    if "pg" in pairs:
        need("pgloader")
    if "mysql" in pairs:
        need("mydumper")
        need("myloader")
    work = work_dir("mysql_full", args.dir)
    mariadb: MariaDbServer | None = None
    pg: PgServer | None = None
    try:
        mariadb = my.start_source(work / "mariadb")
        version = my.my_query(mariadb, None, "SELECT VERSION()")[0][0]
        print(f"MariaDB {version} on port {mariadb.port}")
        if "pg" in pairs:
            pg = start_postgres(work / "pg")
            print(f"PostgreSQL {pg.psql('SHOW server_version')} on port {pg.port}")
        bench = Bench(work, mariadb, pg)
        my.my_fresh_db(mariadb, SOURCE_DB)
        with Timer() as timer:
            my.sysbench(mariadb, SOURCE_DB, "oltp_read_write", "prepare", args.rows,
                        "--rand-seed=1")
        print(f"sysbench prepare: {args.rows:,} rows in {timer.seconds:.1f} s ({work})")
        expected = my.my_content(mariadb, SOURCE_DB)
        if problem := my.my_index_problem(mariadb, SOURCE_DB):
            sys.exit(f"the sysbench source is not as expected: {problem}")
        print(f"source check {expected}")

        times: dict[str, dict[str, list[float]]] = {
            pair: {who: [] for who in ("turnout", *PAIRS[pair][1])} for pair in pairs}
        cpu: dict[str, dict[str, list[tuple[float, float]]]] = {
            pair: {who: [] for who in by_who} for pair, by_who in times.items()}
        loads = [load_average()]
        for r in range(args.repeat):
            for pair in pairs:
                for who in alternating(list(times[pair]), r):
                    db, dest, seconds, client, servers = bench.run(pair, who, r)
                    if problem := bench.check(pair, db, dest, expected):
                        sys.exit(f"{who} {PAIRS[pair][0]} run {r + 1}: {problem}")
                    times[pair][who].append(seconds)
                    cpu[pair][who].append((client, servers))
                    print(f"run {r + 1} {PAIRS[pair][0]:<18} {who:<9} {seconds:7.2f} s  CPU "
                          f"{client:5.2f} client + {servers:5.2f} servers  (content and "
                          f"indexes ok, load {load_average()})", flush=True)
                    bench.drop(pair, db)
        loads.append(load_average())
        missed = report(args.rows, times, cpu)
        print(f"load average (1 min) at start / end: {loads[0]} / {loads[1]}")
        for pair in pairs:
            if args.profile == "always" or (args.profile == "auto" and pair in missed):
                bench.profile(pair)
    finally:
        for server in (pg, mariadb):
            if server is not None:
                server.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(rows: int, times: dict[str, dict[str, list[float]]],
           cpu: dict[str, dict[str, list[tuple[float, float]]]]) -> list[str]:
    """Print the table and the verdicts; the pairs where turnout missed a target."""
    table = []
    missed = []
    for pair, by_who in times.items():
        for who, row in zip(by_who, contender_rows(by_who, rows, "turnout"), strict=True):
            client = median(c for c, _ in cpu[pair][who])
            servers = median(s for _, s in cpu[pair][who])
            table.append([PAIRS[pair][0], *row[:4], f"{client:.2f}", f"{servers:.2f}", row[4]])
        if any(median(by_who["turnout"]) / median(by_who[other]) > TARGETS[other]
               for other in PAIRS[pair][1]):
            missed.append(pair)
    print()
    print_table(["pair", "contender", "median s", "rows/s", "turnout/this", "client CPU s",
                 "servers CPU s", "runs (s)"], table)
    print(f"rows: {rows:,} (sysbench oltp_read_write prepare, one table); median of "
          f"{len(next(iter(next(iter(times.values())).values())))} runs, alternating order.")
    print("turnout = `turnout task create --types schema,full` + `turnout task run` (CLI); "
          "pgloader = a command file (tables, indexes, keys, sequences); mysqldump = "
          "`mysqldump --single-transaction src | mysql dst`; mydumper = `mydumper -t "
          f"{MYDUMPER_THREADS} -r {MYDUMPER_ROWS}` then `myloader -t {MYDUMPER_THREADS}`.")
    for pair, by_who in times.items():
        for other in PAIRS[pair][1]:
            ratio = median(by_who["turnout"]) / median(by_who[other])
            verdict = "met" if ratio <= TARGETS[other] else "NOT met"
            print(f"target {PAIRS[pair][0]}: turnout/{other} {ratio:.2f} <= "
                  f"{TARGETS[other]:.2f}: {verdict} (median of each round's ratio "
                  f"{round_ratio(by_who['turnout'], by_who[other]):.2f})")
    return missed


if __name__ == "__main__":
    main()
