"""Benchmark: turnout's full copy of a PostgreSQL table against `pg_dump | psql`.

Why this exists: the project promises that copying a 1,000,000-row sysbench-shaped
table PostgreSQL→PostgreSQL with turnout (schema + full, index included) is no slower
than the obvious shell pipeline `pg_dump --format=plain src | psql dst`. This script
starts a private throwaway server (never the machine's own service), fills a source
database server-side, and times both contenders in the same run, each into a fresh
empty database, alternating their order. The box it runs on is noisy, so it prints
per-run times, medians and the ratio and never asserts on timing; it only fails when
a copy is wrong (row count, sum(k), md5 of every c || pad in id order, index k_1).

    python bench/pg_full.py [--rows N] [--repeat R] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from _common import (
    CpuMeter,
    Timer,
    add_dir_option,
    alternating,
    load_average,
    median,
    need,
    print_table,
    round_ratio,
    runs_text,
    turnout_copy,
    work_dir,
)

from turnout.store import Store
from turnout.testing.servers import PgServer, clean_env, start_postgres

TABLE = "sbtest1"
SOURCE_DB = "bench_src"
CONTENDERS = ("turnout", "pg_dump", "pgcopydb")
CHECK_SQL = f"SELECT count(*), sum(k), md5(string_agg(c || pad, '' ORDER BY id)) FROM {TABLE}"
INDEX_SQL = (
    f"SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = '{TABLE}' "
    "AND indexname = 'k_1'"
)


def psql(server: PgServer, db: str, sql: str) -> str:
    """Run ``sql`` in ``db`` with psql (no timeout: the fill and the checks take a while)."""
    proc = subprocess.run(
        [
            str(server.bindir / "psql"),
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            server.url(db),
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"psql in {db} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def sysbench_sql(groups: int) -> str:
    """SQL for ``groups`` random 11-digit groups joined by '-' (sysbench's c and pad)."""
    group = "lpad(floor(random() * 1e11)::bigint::text, 11, '0')"
    return f"concat_ws('-', {', '.join([group] * groups)})"


def generate(server: PgServer, rows: int) -> None:
    """Create ``bench_src`` with the sysbench table and fill it server-side, deterministically.

    ``c`` is 10 groups of 11 digits joined by '-' (119 chars in char(120)), ``pad`` 5 groups
    (59 chars in char(60)), as sysbench writes them; ``k`` is uniform in 0..rows. Everything
    comes from random() after setseed(0.5) in the same session (the INSERT runs serially),
    so every run of the script copies the same data.
    """
    server.create_database(SOURCE_DB)
    psql(
        server,
        SOURCE_DB,
        f"""
        CREATE TABLE {TABLE} (
            id integer PRIMARY KEY,
            k integer NOT NULL DEFAULT 0,
            c char(120) NOT NULL DEFAULT '',
            pad char(60) NOT NULL DEFAULT ''
        );
        CREATE INDEX k_1 ON {TABLE} (k);
        SELECT setseed(0.5);
        INSERT INTO {TABLE} (id, k, c, pad)
        SELECT g, (random() * {rows})::int, {sysbench_sql(10)}, {sysbench_sql(5)}
        FROM generate_series(1, {rows}) AS g;
    """,
    )
    psql(server, SOURCE_DB, f"VACUUM ANALYZE {TABLE}")


def content(server: PgServer, db: str) -> str:
    return psql(server, db, CHECK_SQL)


def run_turnout(src_url: str, dst_url: str, home: Path) -> float:
    """schema + full with turnout's Python API, in this process; returns the seconds taken."""
    store = Store(home)
    try:
        return turnout_copy(store, "bench", src_url, dst_url)
    finally:
        store.close()


def run_dump(server: PgServer, src_url: str, dst_url: str) -> float:
    """`pg_dump --format=plain src | psql -q -v ON_ERROR_STOP=1 dst`; returns the seconds taken."""
    env = clean_env()
    with Timer() as timer:
        dump = subprocess.Popen(
            [str(server.bindir / "pg_dump"), "--format=plain", src_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        assert dump.stdout is not None and dump.stderr is not None
        load = subprocess.run(
            [str(server.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dst_url],
            stdin=dump.stdout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        dump.stdout.close()
        dump_err = dump.stderr.read()
        dump.wait()
    if dump.returncode or load.returncode:
        sys.exit(
            f"dump pipeline failed (pg_dump exit {dump.returncode}, psql exit "
            f"{load.returncode}): {dump_err.decode(errors='replace').strip()} "
            f"{load.stderr.decode(errors='replace').strip()}"
        )
    return timer.seconds


def run_pgcopydb(server: PgServer, src_url: str, dst_url: str, work: Path, jobs: int = 2
                 ) -> float:
    """`pgcopydb clone --table-jobs N --index-jobs N` (Debian's pgcopydb) with the server's
    own pg_dump and pg_restore first on PATH; returns the seconds taken."""
    env = clean_env()
    env["PATH"] = f"{server.bindir}:{env.get('PATH', '/usr/bin:/bin')}"
    shutil.rmtree(work, ignore_errors=True)
    with Timer() as timer:
        proc = subprocess.run(
            [need("pgcopydb"), "clone", "--source", src_url, "--target", dst_url,
             "--dir", str(work), "--table-jobs", str(jobs), "--index-jobs", str(jobs),
             "--no-owner", "--no-acl"],
            capture_output=True, text=True, env=env, check=False,
        )
    if proc.returncode != 0:
        sys.exit(f"pgcopydb failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return timer.seconds


def check(server: PgServer, db: str, who: str, run: int, expected: str) -> None:
    got = content(server, db)
    if got != expected:
        sys.exit(f"{who} run {run}: destination {got!r} != source {expected!r}")
    indexdef = psql(server, db, INDEX_SQL)
    if not indexdef or "(k)" not in indexdef:
        sys.exit(
            f"{who} run {run}: index k_1 on {TABLE} (k) missing in the destination "
            f"(found {indexdef!r})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS,
                        default=list(CONTENDERS),
                        help="pgcopydb needs Debian's pgcopydb (apt-get install pgcopydb)")
    add_dir_option(parser)
    args = parser.parse_args()
    work = work_dir("pg_full", args.dir)
    server: PgServer | None = None
    try:
        server = start_postgres(work / "pg")
        version = psql(server, "postgres", "SHOW server_version")
        print(f"PostgreSQL {version} on port {server.port} ({server.bindir})")
        with Timer() as generated:
            generate(server, args.rows)
        size = psql(server, SOURCE_DB, f"SELECT pg_size_pretty(pg_total_relation_size('{TABLE}'))")
        print(f"generated {args.rows:,} rows ({size} with indexes) in {generated.seconds:.1f} s "
              f"({work})")
        with Timer() as checked:
            expected = content(server, SOURCE_DB)
        print(f"source check {expected} in {checked.seconds:.1f} s")
        src_url = server.url(SOURCE_DB)

        if "pgcopydb" in args.contenders:
            need("pgcopydb")
        times: dict[str, list[float]] = {who: [] for who in args.contenders}
        cpu: dict[str, list[tuple[float, float]]] = {who: [] for who in args.contenders}
        loads = [load_average()]
        for r in range(args.repeat):
            for who in alternating(args.contenders, r):
                db = f"bench_dst_{who}_{r + 1}"
                dst_url = server.create_database(db)
                psql(server, "postgres", "CHECKPOINT")  # start each run with clean buffers
                with CpuMeter(server.process.pid) as meter:
                    if who == "pg_dump":
                        elapsed = run_dump(server, src_url, dst_url)
                    elif who == "pgcopydb":
                        elapsed = run_pgcopydb(server, src_url, dst_url, work / "pgcopydb")
                    else:
                        elapsed = run_turnout(src_url, dst_url, work / f"home-{who}-{r + 1}")
                check(server, db, who, r + 1, expected)
                times[who].append(elapsed)
                cpu[who].append((meter.client, meter.server))
                print(f"run {r + 1} {who:<8} {elapsed:7.2f} s  CPU {meter.client:.2f} s client, "
                      f"{meter.server:.2f} s server (content and index check ok, "
                      f"load {load_average()})", flush=True)
                psql(server, "postgres", f'DROP DATABASE "{db}"')
        loads.append(load_average())
        report(args.rows, times, cpu)
        print(f"load average (1 min) at start / end: {loads[0]} / {loads[1]}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(rows: int, times: dict[str, list[float]],
           cpu: dict[str, list[tuple[float, float]]]) -> None:
    med = {who: median(ts) for who, ts in times.items()}
    print()
    print_table(["contender", "median s", "rows/s", "turnout/this", "per round",
                 "CPU client s", "CPU server s", "runs (s)"],
                [[who, f"{med[who]:.2f}", f"{rows / med[who]:,.0f}",
                  f"{med['turnout'] / med[who]:.2f}",
                  f"{round_ratio(times['turnout'], ts):.2f}",
                  f"{median(c for c, _ in cpu[who]):.2f}",
                  f"{median(s for _, s in cpu[who]):.2f}", runs_text(ts)]
                 for who, ts in times.items()])
    print(f"rows: {rows:,}. turnout = schema + full through the Python API, in process;")
    print("pg_dump = `pg_dump --format=plain src | psql -q -v ON_ERROR_STOP=1 dst`;")
    print("pgcopydb = `pgcopydb clone --table-jobs 2 --index-jobs 2 --no-owner --no-acl`.")
    print("turnout/this: the issue's ratio (goal <= 0.8 against each), of the medians; per "
          "round: the median of each round's ratio.")


if __name__ == "__main__":
    main()
