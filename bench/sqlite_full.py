"""Benchmark: turnout's full copy of a SQLite table against `sqlite3 src.db .dump | sqlite3 dst.db`.

Why this exists: the project promises that copying a 1,000,000-row sysbench-shaped
table SQLite→SQLite with turnout (schema + full) is at least as fast as the
obvious shell pipeline. This script measures both in the same run, alternating
their order, and prints medians and the ratio. The box it runs on is noisy, so
it reports numbers and never asserts on timing; it only fails when a copy is wrong.

    python bench/sqlite_full.py [--rows N] [--repeat R] [--dir DIR]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from _common import (
    Timer,
    add_dir_option,
    alternating,
    contender_rows,
    median,
    need,
    print_table,
    turnout_copy,
    work_dir,
)

from turnout.spec import Options
from turnout.store import Store

TABLE = "sbtest1"
CHECK_SQL = f"SELECT count(*), sum(k), max(c), min(pad), sum(length(c) + length(pad)) FROM {TABLE}"


def sysbench_string(rng: random.Random, width: int) -> str:
    """Groups of 11 random digits joined by '-', cut to the column width (sysbench style)."""
    groups = width // 12 + 1
    digits = f"{rng.randrange(10 ** (11 * groups)):0{11 * groups}d}"
    return "-".join(digits[i : i + 11] for i in range(0, len(digits), 11))[:width]


def generate(path: Path, rows: int) -> None:
    rng = random.Random(1)

    def gen() -> Iterator[tuple[int, int, str, str]]:
        for i in range(1, rows + 1):
            yield i, rng.randint(1, rows), sysbench_string(rng, 120), sysbench_string(rng, 60)

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    db.execute(
        f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, k INTEGER, c CHAR(120), pad CHAR(60))"
    )
    db.execute("BEGIN")
    db.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?)", gen())
    db.execute("COMMIT")
    # turnout switches a source to WAL on its first read (the setting persists in the
    # file); do it now so every run, of either contender, reads the same kind of file.
    db.execute("PRAGMA journal_mode=WAL")
    db.close()


def content(path: Path) -> tuple[object, ...]:
    db = sqlite3.connect(path)
    try:
        return tuple(db.execute(CHECK_SQL).fetchone())
    finally:
        db.close()


def run_turnout(src: Path, dst: Path, home: Path, direct: bool = True) -> float:
    """schema + full with turnout; `direct=False` forces the row path other engine pairs use."""
    store = Store(home)
    try:
        return turnout_copy(store, "bench", f"sqlite:///{src}", f"sqlite:///{dst}",
                            Options(direct_copy=direct))
    finally:
        store.close()


def run_dump(src: Path, dst: Path) -> float:
    with Timer() as timer:
        dump = subprocess.Popen(["sqlite3", str(src), ".dump"], stdout=subprocess.PIPE)
        load = subprocess.run(["sqlite3", str(dst)], stdin=dump.stdout, capture_output=True)
        assert dump.stdout is not None
        dump.stdout.close()
        dump.wait()
    if dump.returncode or load.returncode or load.stderr:
        sys.exit(f"dump pipeline failed ({dump.returncode}, {load.returncode}): {load.stderr!r}")
    return timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_dir_option(parser)
    args = parser.parse_args()
    need("sqlite3")
    work = work_dir("sqlite_full", args.dir)
    try:
        src = work / "src.db"
        with Timer() as timer:
            generate(src, args.rows)
            expected = content(src)
        print(f"generated {args.rows:,} rows in {timer.seconds:.1f} s ({work})")

        times: dict[str, list[float]] = {"turnout": [], "turnout-rows": [], "dump": []}
        for r in range(args.repeat):
            for who in alternating(list(times), r):
                dst = work / f"dst-{who}-{r}.db"
                if who == "dump":
                    elapsed = run_dump(src, dst)
                else:
                    home = work / f"home-{who}-{r}"
                    elapsed = run_turnout(src, dst, home, direct=who == "turnout")
                got = content(dst)
                if got != expected:
                    sys.exit(f"{who} run {r + 1}: destination {got} != source {expected}")
                times[who].append(elapsed)
                print(f"run {r + 1} {who:<12} {elapsed:7.2f} s  (content check ok)")
                dst.unlink()
        report(args.rows, times)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(rows: int, times: dict[str, list[float]]) -> None:
    med = {who: median(ts) for who, ts in times.items()}
    print()
    print_table(["contender", "median s", "rows/s", "dump/this", "runs (s)"],
                contender_rows(times, rows, "dump"))
    print(f"rows: {rows:,}. turnout = same-engine direct copy (the default for SQLite to SQLite);")
    print("turnout-rows = the row path that other engine pairs use (direct_copy = false).")
    for who in ("turnout", "turnout-rows"):
        ratio = med["dump"] / med[who]
        verdict = f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"
        print(f"{who} is {verdict} than the dump")


if __name__ == "__main__":
    main()
