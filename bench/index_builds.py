"""Benchmark: building the destination's indexes for several tables at once, against one table
at a time.

Why this exists: after the full step turnout builds secondary indexes (and PostgreSQL's
primary keys), and an index is built by one server thread on MariaDB (PostgreSQL sorts with
parallel workers), so one table after another leaves cores idle. turnout builds up to
`schema.INDEX_BUILDERS` tables at once, each on a connection of its own. This script starts
private throwaway servers (turnout.testing.servers), fills a MariaDB source with `sysbench
oltp_read_write prepare --tables=4` (index k_N on each), and copies it with turnout
(`schema,full`, in process) into MariaDB and into PostgreSQL, with one index builder and with
the default, alternating the order. It prints the whole copy's median time per setting: the
difference is the index step. Figures, not assertions (2-core noisy box).

    python bench/index_builds.py [--rows N] [--tables T] [--repeat R] [--dir DIR]
"""

from __future__ import annotations

import argparse
import shutil

import _mysql as my
from _common import (
    add_dir_option,
    alternating,
    median,
    need,
    print_table,
    turnout_copy,
    work_dir,
)

from turnout.migrate import schema
from turnout.store import Store
from turnout.testing.servers import start_postgres


def copy_once(store: Store, name: str, source: str, dest: str, builders: int) -> float:
    """One schema + full copy with ``builders`` tables' indexes built at once."""
    schema.INDEX_BUILDERS = builders
    return turnout_copy(store, name, source, dest)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=400_000, help="rows per table")
    parser.add_argument("--tables", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    add_dir_option(parser)
    args = parser.parse_args()
    need("sysbench")
    work = work_dir("index_builds", args.dir)
    default = schema.INDEX_BUILDERS
    mariadb = my.start_source(work / "mariadb")
    pg = start_postgres(work / "pg")
    try:
        my.my_fresh_db(mariadb, "sbtest")
        my.sysbench(mariadb, "sbtest", "oltp_read_write", "prepare", args.rows,
                    f"--tables={args.tables}")
        store = Store(work / "home")
        times: dict[tuple[str, int], list[float]] = {}
        run = 0
        for r in range(args.repeat):
            for dest_kind in ("mysql", "postgresql"):
                for builders in alternating((1, default), r):
                    run += 1
                    db = f"dst_{run}"
                    dest = (my.my_fresh_db(mariadb, db) if dest_kind == "mysql"
                            else pg.create_database(db))
                    seconds = copy_once(store, f"copy{run}", mariadb.url("sbtest"), dest,
                                        builders)
                    times.setdefault((dest_kind, builders), []).append(seconds)
                    print(f"run {r + 1} → {dest_kind:<10} {builders} builder(s) {seconds:6.2f} s",
                          flush=True)
        rows = []
        for dest_kind in ("mysql", "postgresql"):
            one, many = (median(times[(dest_kind, b)]) for b in (1, default))
            rows.append([f"MySQL → {'MySQL' if dest_kind == 'mysql' else 'PostgreSQL'}",
                         f"{one:.2f}", f"{many:.2f}", f"{one - many:.2f}"])
        print()
        print_table(["copy (schema + full)", "1 builder s", f"{default} builders s",
                        "saved s"], rows)
        print(f"{args.tables} sysbench tables of {args.rows:,} rows (index k_N each); median "
              f"of {args.repeat} runs, alternating order.")
    finally:
        pg.stop()
        mariadb.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
