"""Benchmark: `turnout verify` against reladiff on a sysbench table, MySQL → PostgreSQL and PG → PG.

Why this exists: the issue asks how turnout's verification compares with reladiff (PyPI), the
tool people use today to diff rows across two databases, on 1,000,000 sysbench rows with 0 and
with 100 differences, and sets the targets: at most half of reladiff's time, every injected
difference found, no false ones (on this data reladiff 0.6 reports about 3% of the rows as
'updated' although they are equal, because of CHAR padding).

The script starts private throwaway servers (turnout.testing.servers, never the machine's own
services), fills a MariaDB source with Debian's sysbench (`sysbench oltp_read_write … prepare`:
table sbtest1, id int primary key, k int, c char(120), pad char(60)) and copies it to
PostgreSQL with turnout itself (`turnout task create … --types schema,full` + `turnout task
run`), so the destination holds the columns exactly as turnout maps them; the PostgreSQL →
PostgreSQL pair compares two copies of that database (CREATE DATABASE … TEMPLATE), where
turnout hashes rows with PostgreSQL's own hash_record_extended instead of MD5. Then, for each
pair (--pairs) in one run:

- 0 differences: `turnout verify --json` and `reladiff --json` on the same pair of tables,
  alternating the order, each timed as a whole command;
- 100 differences injected on the PostgreSQL side (40 updates of c, 30 deletes, 30 inserts of
  new ids past the end), remembered exactly; both tools again, and every reported key is
  checked against the injected ones: found (in the right kind: missing, extra, different) and
  false (reported although not injected).

Both compare the same columns (id as key; k, c, pad) with 4 threads (turnout's --threads, a
pool shared by both sides; reladiff's -j, per database). reladiff is not installed into the
project's virtualenv (its pins may clash): on first use the script makes its own,
bench/.venv-reladiff, and runs reladiff's CLI from there. The box is noisy (2 cores), so the
script prints per-run times, medians, ratios and the load average (1 minute, before each run)
and never asserts on timing; it exits 1 only when turnout misses an injected difference or
reports a false one.

With --breakdown it first times, single-threaded on each side, what one whole-table checksum
is made of, built from turnout's own SQL (each line adds a step to the one above: scan, the
row's canonical text, MD5, its first 60 bits as an integer summed, 256 key slices): where the
time of a content comparison goes, and so how low any tool that hashes every row can go.

    python bench/verify.py [--rows N] [--repeat R] [--threads T] [--seed S] [--breakdown]
        [--pairs mysql-postgres,postgres-postgres] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _mysql as my
import psycopg
from _common import (
    Timer,
    add_dir_option,
    alternating,
    children_cpu,
    median,
    need,
    print_table,
    process_cpu,
    runs_text,
    work_dir,
)
from _mysql import TABLE, TurnoutCli

from turnout.testing.servers import MariaDbServer, PgServer, clean_env, start_postgres

SOURCE_DB = "sbtest"
DEST_DB = "verify_dst"
COPY_DBS = ("verify_pg_a", "verify_pg_b")  # the PostgreSQL → PostgreSQL pair, both untouched
PAIRS = ("mysql-postgres", "postgres-postgres")
TARGET = 0.5  # turnout's time / reladiff's, at most
UPDATES, DELETES, INSERTS = 40, 30, 30
TOOLS = ("turnout", "reladiff")
RELADIFF_PIN = "reladiff[mysql,postgresql]==0.6.0"
RELADIFF_VENV = Path(__file__).resolve().parent / ".venv-reladiff"
SHOW = 5  # rows shown side by side for each kind of turnout mistake


@dataclass
class Diff:
    """Primary keys by kind, as the destination sees them: missing, extra, different."""

    missing: set[int] = field(default_factory=set)
    extra: set[int] = field(default_factory=set)
    different: set[int] = field(default_factory=set)

    def keys(self) -> set[int]:
        return self.missing | self.extra | self.different

    def total(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.different)

    def found_in(self, got: Diff) -> int:
        """How many of these keys ``got`` reports, each under the same kind."""
        return (len(self.missing & got.missing) + len(self.extra & got.extra)
                + len(self.different & got.different))

    def summary(self) -> str:
        return (f"missing {len(self.missing):,}, extra {len(self.extra):,}, "
                f"different {len(self.different):,}")


@dataclass
class Run:
    seconds: float
    diff: Diff
    note: str = ""
    load: float = 0.0  # the 1-minute load average as the run started
    client_cpu: float = 0.0  # CPU seconds of the tool's own process
    server_cpu: float = 0.0  # CPU seconds both database servers spent meanwhile

    @property
    def cpu(self) -> float:
        return self.client_cpu + self.server_cpu


# --------------------------------------------------------------------------- reladiff


def reladiff_exe() -> str:
    """reladiff's command in bench/.venv-reladiff, made and filled on first use."""
    exe = RELADIFF_VENV / "bin" / "reladiff"
    if exe.exists():
        return str(exe)
    print(f"installing {RELADIFF_PIN} into {RELADIFF_VENV} (first use)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(RELADIFF_VENV)], check=True)
    pip = [str(RELADIFF_VENV / "bin" / "python"), "-m", "pip", "install", "-q", RELADIFF_PIN]
    proc = subprocess.run(pip, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not exe.exists():
        shutil.rmtree(RELADIFF_VENV, ignore_errors=True)
        sys.exit(f"could not install {RELADIFF_PIN}: {proc.stderr.strip()[-500:]}")
    return str(exe)


def reladiff_env() -> dict[str, str]:
    """No colours, and lines that rich does not wrap at 80 columns."""
    return dict(clean_env(), COLUMNS="1000000", NO_COLOR="1", TERM="dumb")


def parse_reladiff(out: str) -> Diff:
    """reladiff --json prints one ["-"|"+", [key, col…]] a line: "-" a row only in the
    source, "+" one only in the destination; a key on both sides is an updated row."""
    minus: set[int] = set()
    plus: set[int] = set()
    for line in out.splitlines():
        if not line.startswith("["):
            continue
        op, values = json.loads(line)
        (minus if op == "-" else plus).add(int(values[0]))
    return Diff(missing=minus - plus, extra=plus - minus, different=minus & plus)


# --------------------------------------------------------------------------- the bench


class Bench:
    def __init__(self, work: Path, mariadb: MariaDbServer, pg: PgServer, threads: int) -> None:
        self.work, self.my, self.pg, self.threads = work, mariadb, pg, threads
        self.source = mariadb.url(SOURCE_DB)
        self.dest = pg.url(DEST_DB)
        self.cli = TurnoutCli(work / "home")
        self.pair = "mysql-postgres"

    def use(self, pair: str) -> None:
        """Compare this pair from now on: MariaDB vs PostgreSQL, or PostgreSQL vs its copy."""
        self.pair = pair
        if pair == "postgres-postgres":
            self.source, self.dest = (self.pg.url(db) for db in COPY_DBS)
        else:
            self.source, self.dest = self.my.url(SOURCE_DB), self.pg.url(DEST_DB)

    def copy_pg(self) -> None:
        """The PostgreSQL → PostgreSQL pair: two copies of the copied database, made before
        the other pair's differences are injected into it."""
        for db in COPY_DBS:
            self.pg.psql(f'DROP DATABASE IF EXISTS "{db}"')
            self.pg.psql(f'CREATE DATABASE "{db}" TEMPLATE "{DEST_DB}"')
            self.pg.psql("VACUUM ANALYZE", db)

    def source_query(self, sql: str) -> list[tuple[Any, ...]]:
        if self.pair == "postgres-postgres":
            return my.pg_query(self.source, sql)
        return my.my_query(self.my, SOURCE_DB, sql)

    def copy(self) -> float:
        """The sysbench table into a fresh PostgreSQL database, by turnout; checked."""
        self.pg.psql(f'DROP DATABASE IF EXISTS "{DEST_DB}"')
        self.pg.create_database(DEST_DB)
        seconds = self.cli.copy("copy", self.source, self.dest)
        want, got = my.my_content(self.my, SOURCE_DB), my.pg_content(self.dest)
        if want != got:
            sys.exit(f"turnout's copy differs from the source: {got} != {want}")
        self.pg.psql("VACUUM ANALYZE", DEST_DB)
        return seconds

    def run(self, tool: str, expect_consistent: bool) -> Run:
        load = os.getloadavg()[0]
        client, server = children_cpu(), self.server_cpu()
        run = self.turnout(expect_consistent) if tool == "turnout" else self.reladiff()
        time.sleep(0.5)  # PostgreSQL's backends count once they have exited
        run.load = load
        run.client_cpu = children_cpu() - client
        run.server_cpu = self.server_cpu() - server
        return run

    def server_cpu(self) -> float:
        """CPU seconds both servers have spent so far: MariaDB's threads, and the PostgreSQL
        postmaster's with its exited backends'. Unlike wall time, this hardly moves with the
        load others put on the box."""
        return sum(process_cpu(process.pid) for process in (self.my.process, self.pg.process))

    def turnout(self, expect_consistent: bool) -> Run:
        cmd = [self.cli.exe, "verify", "--source", self.source, "--dest", self.dest,
               "--tables", TABLE, "--threads", str(self.threads), "--json"]
        with Timer() as timer:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=self.cli.env,
                                  check=False)
        if proc.returncode not in (0, 1):
            sys.exit(f"turnout verify exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
        report = json.loads(proc.stdout)
        if report["consistent"] != (proc.returncode == 0):
            sys.exit(f"turnout verify exited {proc.returncode} with consistent "
                     f"{report['consistent']}")
        (table,) = report["tables"]
        diff = Diff(*({k[0] for k in table[kind]} for kind in ("missing", "extra", "different")))
        columns = sorted({",".join(c) for c in table["different_columns"]})
        note = (f"rows fetched {table['rows_fetched']:,}, internal {report['seconds']:.2f} s, "
                f"different columns {columns or '-'}")
        if report["consistent"] != expect_consistent:
            note += f"; consistent={report['consistent']} (expected {expect_consistent})"
        return Run(timer.seconds, diff, note)

    def reladiff(self) -> Run:
        columns = [a for col in ("k", "c", "pad") for a in ("-c", col)]
        cmd = [reladiff_exe(), self.source, TABLE, self.dest, TABLE, "-k", "id", *columns,
               "-j", str(self.threads), "--json"]
        with Timer() as timer:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=reladiff_env(),
                                  check=False)
        if proc.returncode != 0:
            sys.exit(f"reladiff exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
        return Run(timer.seconds, parse_reladiff(proc.stdout))

    # injected differences ------------------------------------------------

    def inject(self, rows: int, seed: int) -> Diff:
        """UPDATES + DELETES + INSERTS changes on the destination; which ones, exactly."""
        rng = random.Random(seed)
        picked = rng.sample(range(1, rows + 1), UPDATES + DELETES)
        updated, deleted = set(picked[:UPDATES]), set(picked[UPDATES:])
        top = int(my.pg_query(self.dest, f"SELECT max(id) FROM {TABLE}")[0][0])
        inserted = set(range(top + 1, top + 1 + INSERTS))
        with psycopg.connect(self.dest, autocommit=True) as conn, conn.transaction():
            for key in sorted(updated):
                conn.execute(f"UPDATE {TABLE} SET c = %s WHERE id = %s", (digits(rng, 10), key))
            conn.execute(f"DELETE FROM {TABLE} WHERE id = ANY(%s)", (sorted(deleted),))
            for key in sorted(inserted):
                conn.execute(f"INSERT INTO {TABLE} (id, k, c, pad) VALUES (%s, %s, %s, %s)",
                             (key, rng.randint(1, rows), digits(rng, 10), digits(rng, 5)))
        return Diff(missing=deleted, extra=inserted, different=updated)

    # explaining turnout's mistakes ----------------------------------------

    def rows_of(self, keys: list[int]) -> tuple[dict[int, Any], dict[int, Any]]:
        """The rows with these ids on each side, by id."""
        ids = ",".join(str(k) for k in keys) or "NULL"
        sql = f"SELECT id, k, c, pad FROM {TABLE} WHERE id IN ({ids})"
        source = {r[0]: r for r in self.source_query(sql)}
        dest = {r[0]: r for r in my.pg_query(self.dest, sql)}
        return source, dest

    def explain(self, what: str, keys: set[int]) -> None:
        shown = sorted(keys)[:SHOW]
        if not shown:
            return
        source, dest = self.rows_of(shown)
        print(f"  turnout {what}: {len(keys)} ids, first {sorted(keys)[:20]}")
        for key in shown:
            print(f"    id {key}: source {source.get(key)!r}")
            print(f"    id {key}: dest   {dest.get(key)!r}")


def digits(rng: random.Random, groups: int) -> str:
    """A string like sysbench's c and pad: groups of 11 digits joined by '-'."""
    return "-".join("".join(rng.choices("0123456789", k=11)) for _ in range(groups))


# --------------------------------------------------------------------------- running


def run_case(bench: Bench, case: str, expected: Diff, repeat: int,
             results: dict[str, dict[str, list[Run]]]) -> None:
    """Both tools ``repeat`` times on the pair as it is, alternating which goes first."""
    results[case] = {tool: [] for tool in TOOLS}
    for r in range(repeat):  # turnout first in the first case's first run, then by turns
        for tool in alternating(TOOLS, r + len(results) + 1):
            run = bench.run(tool, expected.total() == 0)
            results[case][tool].append(run)
            false = len(run.diff.keys() - expected.keys())
            print(f"{case} run {r + 1} {tool:<8} {run.seconds:7.2f} s  load {run.load:.1f}  "
                  f"CPU {run.client_cpu:.2f} client + {run.server_cpu:.2f} servers  "
                  f"reported {run.diff.summary()}; found {expected.found_in(run.diff)}/"
                  f"{expected.total()}, false {false:,}" + (f"  ({run.note})" if run.note else ""),
                  flush=True)
            if tool == "turnout":
                bench.explain("missed (or under another kind)",
                              expected.keys() - _found_keys(expected, run.diff))
                bench.explain("false reports", run.diff.keys() - expected.keys())


def _found_keys(expected: Diff, got: Diff) -> set[int]:
    return ((expected.missing & got.missing) | (expected.extra & got.extra)
            | (expected.different & got.different))


def report(rows: int, threads: int, results: dict[str, dict[str, list[Run]]],
           expected: dict[str, Diff]) -> bool:
    """Print the table and the verdicts; whether turnout was right in every run."""
    table = []
    right = True
    fast = True
    for case, by_tool in results.items():
        med = {tool: median(r.seconds for r in runs) for tool, runs in by_tool.items()}
        cpu = {tool: median(r.cpu for r in runs) for tool, runs in by_tool.items()}
        want = expected[case]
        for tool, runs in by_tool.items():
            found = min(want.found_in(r.diff) for r in runs)
            false = max(len(r.diff.keys() - want.keys()) for r in runs)
            if tool == "turnout":
                right = right and found == want.total() and false == 0
            table.append([case, tool, f"{med[tool]:.2f}", f"{found}/{want.total()}",
                          f"{false:,}", f"{med['turnout'] / med[tool]:.2f}",
                          f"{median(r.client_cpu for r in runs):.2f}",
                          f"{median(r.server_cpu for r in runs):.2f}",
                          f"{cpu['turnout'] / cpu[tool]:.2f}",
                          f"{median(r.load for r in runs):.1f}",
                          runs_text(r.seconds for r in runs)])
        fast = fast and med["turnout"] / med["reladiff"] <= TARGET
    print()
    print_table(["case", "tool", "median s", "found/expected", "false", "turnout/this",
                 "client CPU s", "servers CPU s", "CPU turnout/this", "load", "runs (s)"], table)
    print(f"rows: {rows:,} (sysbench oltp_read_write prepare), MariaDB → PostgreSQL copied by "
          f"turnout, PostgreSQL → PostgreSQL a template copy of that; columns id (key), k, c, "
          f"pad; {threads} threads each; found = worst run, false = keys reported but not "
          "injected (worst run); CPU = medians of the tool's process and of both servers' "
          "processes during the run; load = median 1-minute load average before the runs.")
    print(f"target time: turnout/reladiff <= {TARGET:.2f} in every case: "
          f"{'met' if fast else 'NOT met'}")
    print(f"target correctness: turnout finds every injected difference, reports no false one: "
          f"{'met' if right else 'NOT met'}")
    return right


def start(work: Path) -> tuple[MariaDbServer, PgServer]:
    mariadb = my.start_source(work / "mariadb")
    print(f"MariaDB {my.my_query(mariadb, None, 'SELECT VERSION()')[0][0]} on port "
          f"{mariadb.port}")
    try:
        pg = start_postgres(work / "pg")
    except BaseException:
        mariadb.stop()
        raise
    print(f"PostgreSQL {pg.psql('SHOW server_version')} on port {pg.port}")
    return mariadb, pg


def prepare(bench: Bench, rows: int) -> None:
    my.my_fresh_db(bench.my, SOURCE_DB)
    with Timer() as timer:
        my.sysbench(bench.my, SOURCE_DB, "oltp_read_write", "prepare", rows, "--rand-seed=1")
    print(f"sysbench prepare: {rows:,} rows in {timer.seconds:.1f} s", flush=True)
    seconds = bench.copy()
    print(f"turnout copy to PostgreSQL: {seconds:.1f} s (content checked)", flush=True)
    types = my.pg_query(bench.dest, "SELECT column_name, data_type, character_maximum_length "
                        f"FROM information_schema.columns WHERE table_name = '{TABLE}' "
                        "ORDER BY ordinal_position")
    print("destination columns: " + ", ".join(
        f"{n} {t}" + (f"({m})" if m else "") for n, t, m in types))


def breakdown(bench: Bench) -> None:
    """Print the cost of each step of a whole-table checksum on both sides (see the module)."""
    from turnout import engines
    from turnout.spec import TaskSpec
    from turnout.verify import pairs

    spec = TaskSpec("breakdown", bench.source, bench.dest, tables=(TABLE,))
    src, dst = engines.connect(spec.source_endpoint), engines.connect(spec.dest_endpoint)
    try:
        pair = pairs.task_pairs(spec, src, dst)[0]
        assert pair.dest is not None and pair.in_db, "sysbench columns checksum in both databases"
        times = [_steps(side.engine.verify_reader(), side.table, side.probes)
                 for side in (pair.source, pair.dest)]
    finally:
        src.close()
        dst.close()
    print(f"\n{bench.pair}: single-threaded whole-table checksum, step by step (each MD5 step "
          "adds to the line above; the native hash replaces the MD5 steps where both sides "
          "have it):")
    rows = [[step, f"{a:.2f}", f"{b:.2f}"] for (step, a), (_, b) in zip(*times, strict=False)]
    print_table(["step", "source s", "destination s"], rows)


def _steps(reader: Any, table: Any, probes: Any) -> list[tuple[str, float]]:
    """(step, best of 3 seconds) for the growing checksum query on one side."""
    name, key = reader.table_sql(table), reader.quote("id")
    text = reader.row_text(table, probes)
    hashed = reader.sum_sql(reader.hash_sql(text))
    queries = [
        ("scan (count)", f"SELECT COUNT(*) FROM {name}"),
        ("+ row text", f"SELECT SUM(OCTET_LENGTH({text})) FROM {name}"),
        ("+ MD5", f"SELECT SUM(OCTET_LENGTH(MD5({text}))) FROM {name}"),
        ("+ 60-bit integer, summed", f"SELECT COUNT(*), {hashed} FROM {name}"),
        ("+ 256 key slices", f"SELECT {reader.int_div(f'{key} - 1', 3907)}, COUNT(*), "
                             f"{hashed} FROM {name} GROUP BY 1"),
    ]
    if reader.native:
        native = reader.sum_sql(reader.row_hash(table, probes, native=True))
        queries.append((f"native row hash ({reader.native}) summed, 256 slices",
                        f"SELECT {reader.int_div(f'{key} - 1', 3907)}, COUNT(*), {native} "
                        f"FROM {name} GROUP BY 1"))
    out = []
    try:
        for step, sql in queries:
            best = float("inf")
            for _ in range(3):
                with Timer() as timer:
                    reader.query(sql)
                best = min(best, timer.seconds)
            out.append((step, best))
    finally:
        reader.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1, help="picks the injected differences")
    parser.add_argument("--breakdown", action="store_true",
                        help="first time each step of a whole-table checksum on both sides")
    parser.add_argument("--pairs", default=",".join(PAIRS),
                        help=f"comma-separated, of {', '.join(PAIRS)}")
    add_dir_option(parser)
    args = parser.parse_args()
    pairs = [p for p in args.pairs.split(",") if p]
    if not pairs or set(pairs) - set(PAIRS):
        parser.error(f"--pairs takes {', '.join(PAIRS)}")
    if args.rows < UPDATES + DELETES or args.repeat < 1:
        parser.error(f"--rows must be at least {UPDATES + DELETES}, --repeat at least 1")
    need("sysbench")
    reladiff_exe()
    work = work_dir("verify", args.dir)
    mariadb, pg = start(work)
    try:
        bench = Bench(work, mariadb, pg, args.threads)
        prepare(bench, args.rows)
        if "postgres-postgres" in pairs:
            bench.copy_pg()
        results: dict[str, dict[str, list[Run]]] = {}
        expected: dict[str, Diff] = {}
        for pair in pairs:
            bench.use(pair)
            if args.breakdown:
                breakdown(bench)
            equal = f"{pair}, 0 differences"
            expected[equal] = Diff()
            run_case(bench, equal, expected[equal], args.repeat, results)
            case = f"{pair}, {UPDATES + DELETES + INSERTS} differences"
            expected[case] = bench.inject(args.rows, args.seed)
            print(f"injected on the destination: {expected[case].summary()}", flush=True)
            run_case(bench, case, expected[case], args.repeat, results)
        right = report(args.rows, args.threads, results, expected)
    finally:
        pg.stop()
        mariadb.stop()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0 if right else 1)


if __name__ == "__main__":
    main()
