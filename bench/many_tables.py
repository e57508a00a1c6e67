"""Benchmark: turnout's copy of many small PostgreSQL tables against `pg_dump | psql`.

Why this exists: real databases hold hundreds or thousands of tables, and what turnout pays
per table (catalog reads, transactions, connections, checkpoints, index statements) adds
up there long before rows do. This script starts a private throwaway server, fills a
source database with ``--tables`` tables of ``--rows`` rows each (an integer key and one
index besides it), and times turnout (schema + full) and `pg_dump --format=plain src |
psql dst`, each into a fresh database, alternating their order. It prints per-run times,
medians and the ratio and never asserts on timing; it fails only when a copy is wrong
(number of tables and indexes, and count + sum + md5 over every table).

    python bench/many_tables.py [--tables N] [--rows M] [--repeat R] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from _common import (
    CpuMeter,
    Timer,
    add_dir_option,
    alternating,
    load_average,
    median,
    print_table,
    round_ratio,
    runs_text,
    work_dir,
)
from pg_full import psql, run_dump, run_pgcopydb, run_turnout

from turnout.testing.servers import PgServer, start_postgres

SOURCE_DB = "bench_src"
CONTENDERS = ("turnout", "pg_dump", "pgcopydb")
SHAPE_SQL = (
    "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename "
    "NOT LIKE '\\_turnout%'), (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' "
    "AND tablename NOT LIKE '\\_turnout%')"
)


def generate(server: PgServer, tables: int, rows: int) -> None:
    """``bench_src`` with ``tables`` tables t0001.. of ``rows`` rows: key, k (indexed), c."""
    server.create_database(SOURCE_DB)
    psql(server, SOURCE_DB, f"""
        SELECT setseed(0.5);
        DO $$
        BEGIN
          FOR i IN 1..{tables} LOOP
            EXECUTE format('CREATE TABLE t%s (id integer PRIMARY KEY, k integer NOT NULL, '
                           'c text NOT NULL)', lpad(i::text, 4, '0'));
            EXECUTE format('CREATE INDEX t%s_k ON t%s (k)', lpad(i::text, 4, '0'),
                           lpad(i::text, 4, '0'));
            EXECUTE format('INSERT INTO t%s SELECT g, (random() * 1000)::int, md5(g::text) '
                           'FROM generate_series(1, {rows}) g', lpad(i::text, 4, '0'));
          END LOOP;
        END $$;
    """)
    psql(server, SOURCE_DB, "VACUUM ANALYZE")


def content(server: PgServer, db: str) -> str:
    """Shape (tables, indexes) and one digest of every row of every table, in key order."""
    digest = psql(server, db, """
        SELECT md5(string_agg(d, '' ORDER BY t)) FROM (
          SELECT c.relname AS t,
                 (xpath('/row/d/text()', query_to_xml(format(
                   'SELECT count(*) || '':'' || coalesce(sum(k), 0) || '':'' || '
                   'coalesce(md5(string_agg(id || c, '''' ORDER BY id)), '''') AS d FROM %I',
                   c.relname), false, true, '')))[1]::text AS d
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname NOT LIKE '\\_turnout%'
        ) per_table""")
    return f"{psql(server, db, SHAPE_SQL)} {digest}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100, help="rows per table")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--contenders", nargs="+", choices=CONTENDERS,
                        default=["turnout", "pg_dump"],
                        help="pgcopydb needs Debian's pgcopydb (apt-get install pgcopydb)")
    add_dir_option(parser)
    args = parser.parse_args()
    work = work_dir("many_tables", args.dir)
    server: PgServer | None = None
    try:
        server = start_postgres(work / "pg")
        print(f"PostgreSQL {psql(server, 'postgres', 'SHOW server_version')} "
              f"on port {server.port}")
        with Timer() as generated:
            generate(server, args.tables, args.rows)
        expected = content(server, SOURCE_DB)
        print(f"generated {args.tables:,} tables x {args.rows:,} rows in "
              f"{generated.seconds:.1f} s; source {expected}")
        start_load = load_average()
        times, cpu = run_all(server, work, args.repeat, expected, args.contenders)
        report(args.tables, args.rows, times, cpu)
        print(f"load average (1 min) at start / end: {start_load} / {load_average()}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


def run_all(server: PgServer, work: Path, repeat: int, expected: str,
            contenders: list[str]
            ) -> tuple[dict[str, list[float]], dict[str, list[tuple[float, float]]]]:
    """Every contender ``repeat`` times, alternating, each into a fresh database, checked;
    the seconds of each run, and its CPU seconds (client side, server side)."""
    src_url = server.url(SOURCE_DB)
    times: dict[str, list[float]] = {who: [] for who in contenders}
    cpu: dict[str, list[tuple[float, float]]] = {who: [] for who in contenders}
    for r in range(repeat):
        for who in alternating(contenders, r):
            db = f"bench_dst_{who}_{r + 1}"
            dst_url = server.create_database(db)
            psql(server, "postgres", "CHECKPOINT")
            with CpuMeter(server.process.pid) as meter:
                if who == "pg_dump":
                    elapsed = run_dump(server, src_url, dst_url)
                elif who == "pgcopydb":
                    elapsed = run_pgcopydb(server, src_url, dst_url, work / "pgcopydb")
                else:
                    elapsed = run_turnout(src_url, dst_url, work / f"home-{who}-{r + 1}")
            cpu[who].append((meter.client, meter.server))
            got = content(server, db)
            if got != expected:
                sys.exit(f"{who} run {r + 1}: destination {got!r} != source {expected!r}")
            times[who].append(elapsed)
            print(f"run {r + 1} {who:<8} {elapsed:7.2f} s  CPU {meter.client:.2f} s client, "
                  f"{meter.server:.2f} s server (content check ok, load {load_average()})",
                  flush=True)
            psql(server, "postgres", f'DROP DATABASE "{db}"')
    return times, cpu


def report(tables: int, rows: int, times: dict[str, list[float]],
           cpu: dict[str, list[tuple[float, float]]]) -> None:
    med = {who: median(ts) for who, ts in times.items()}
    base = "pg_dump" if "pg_dump" in med else next(iter(med))
    print()
    print_table(["contender", "median s", "ms/table", f"this/{base}", "per round",
                 "CPU client s", "CPU server s", "runs (s)"],
                [[who, f"{med[who]:.2f}", f"{med[who] * 1000 / tables:.1f}",
                  f"{med[who] / med[base]:.2f}", f"{round_ratio(ts, times[base]):.2f}",
                  f"{median(c for c, _ in cpu[who]):.2f}",
                  f"{median(s for _, s in cpu[who]):.2f}", runs_text(ts)]
                 for who, ts in times.items()])
    print(f"{tables:,} tables x {rows:,} rows (integer key + one index each); turnout = "
          "schema + full through the Python API, in process; pg_dump = `pg_dump "
          "--format=plain src | psql -q -v ON_ERROR_STOP=1 dst`; pgcopydb = `pgcopydb clone "
          "--table-jobs 2 --index-jobs 2 --no-owner --no-acl`.")


if __name__ == "__main__":
    main()
