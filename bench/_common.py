"""What every benchmark script does the same way: timing, medians, alternating runs, tables.

Each script in bench/ compares turnout with another tool (or with itself under other settings)
on a noisy shared box, so they all follow one method, kept here once so that their figures
mean the same thing:

- every contender runs ``--repeat`` times, and the order flips each round
  (:func:`alternating`), so that neither always runs on a warm or a cold cache;
- a figure is the median of the runs (:func:`median`), latencies are nearest-rank
  percentiles (:func:`percentile`, :func:`spread`), and the runs are printed beside it
  (:func:`runs_text`) so a reader sees the scatter;
- results print as a plain aligned table (:func:`print_table`), easy to paste into Markdown.

The scripts import it as ``import _common as common``: Python puts a script's own folder on
``sys.path``, so nothing else is needed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from turnout import api
from turnout.spec import Options, TaskSpec, parse_types
from turnout.store import Store

T = TypeVar("T")

OUT = Path(__file__).resolve().parent / "out"
"""Where a run keeps its servers and files unless ``--dir`` says otherwise (git ignores it)."""


# --------------------------------------------------------------------------- setting up


PACKAGES = {
    "sysbench": "sysbench", "pgloader": "pgloader", "sqlite3": "sqlite3",
    "mysqldump": "mariadb-client", "mariadb-dump": "mariadb-client",
    "mysql": "mariadb-client", "mariadb": "mariadb-client",
    "pgcopydb": "pgcopydb", "mydumper": "mydumper", "myloader": "mydumper",
}
"""The Debian package that provides each tool a benchmark runs."""


def need(*names: str) -> str:
    """The first of the commands ``names`` on PATH; exit with the package to install if none is.

    A benchmark that finds its tool missing halfway wastes the minutes spent filling a source.
    """
    for name in names:
        if found := shutil.which(name):
            return found
    sys.exit(f"{names[0]} is not installed: apt-get install -y {PACKAGES.get(names[0], names[0])}")


def add_dir_option(parser: argparse.ArgumentParser) -> None:
    """The ``--dir`` option every script takes: where its work dir goes."""
    parser.add_argument("--dir", type=Path, help="work dir (default: a temp dir in bench/out)")


def work_dir(prefix: str, parent: Path | None = None) -> Path:
    """A new, empty directory for one run: under ``parent`` (``--dir``), else under bench/out."""
    parent = parent or OUT
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=parent))


# --------------------------------------------------------------------------- timing


class Timer:
    """Wall-clock seconds of a ``with`` block: ``with Timer() as t: ...`` then ``t.seconds``.

    ``perf_counter`` (monotonic, sub-microsecond) is the clock; while the block runs,
    :attr:`seconds` reads the time so far, so a script can print progress with it.
    """

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self._end: float | None = None

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self._end = None
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._end = time.perf_counter()

    @property
    def seconds(self) -> float:
        """Seconds from the start to the end of the block (or to now, inside it)."""
        return (self._end if self._end is not None else time.perf_counter()) - self.start


def turnout_copy(store: Store, name: str, source: str, dest: str,
                 options: Options | None = None) -> float:
    """Seconds turnout takes to create task ``name`` and run schema + full to the end.

    Through the Python API in this process, as a user's script would; exits with the task's
    error unless it completed, since a failed copy has no time worth printing.
    """
    spec = TaskSpec(name=name, source=source, dest=dest, types=parse_types("schema,full"),
                    options=options or Options())
    with Timer() as timer:
        api.create_task(spec, store)
        state = api.run_task(name, store=store)
    if state != "Completed":
        sys.exit(f"turnout ended in state {state!r}: {api.task_status(name, store)['error']}")
    return timer.seconds


def load_average() -> str:
    """The 1-minute load average now, for the report: on a shared box it explains the scatter."""
    return f"{os.getloadavg()[0]:.1f}"


def alternating(contenders: Sequence[T], round_no: int) -> list[T]:
    """``contenders`` in their order on even rounds, reversed on odd ones.

    Whoever runs first meets a cold cache (or a warm one left by the other), so each gets
    both places equally often over an even number of rounds.
    """
    return list(contenders) if round_no % 2 == 0 else list(reversed(contenders))


# --------------------------------------------------------------------------- CPU seconds


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid``, its reaped children and its live ones.

    A PostgreSQL backend counts in its postmaster's ``cutime`` once it has exited, while the
    checkpointer and WAL writer live on: both are added, so the figure is the server's whole.
    """
    tick = os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(stat[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(child[1]) == pid:  # ppid
            total += int(child[11]) + int(child[12])
    return total / tick


def children_cpu() -> float:
    """User and system CPU seconds of this script's finished child processes (and theirs).

    A tool run as a subprocess counts once it has exited; CPU time moves far less than wall
    time with the load others put on the box."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    """CPU seconds of this script's process and its finished children (turnout runs in
    process, with threads; the shell tools run as children)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + children_cpu()


class CpuMeter:
    """CPU seconds of a ``with`` block: :attr:`client` (this process and its children) and
    :attr:`server` (the private server's process tree). Steadier than wall time on a box
    whose load swings, since others' work does not count."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.client = self.server = 0.0

    def __enter__(self) -> CpuMeter:
        self._start = (own_cpu(), process_cpu(self.server_pid))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        time.sleep(0.3)  # let the last backends exit, so they count in their parent
        self.client = own_cpu() - self._start[0]
        self.server = process_cpu(self.server_pid) - self._start[1]


# --------------------------------------------------------------------------- statistics


def median(values: Iterable[float]) -> float:
    """The median: one slow run on a shared box moves it less than it moves the mean."""
    return statistics.median(values)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty sequence.

    Nearest rank always returns a value that was measured, never one interpolated between two.
    """
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def spread(values: Sequence[float], digits: int = 2, unit: str = "samples") -> str:
    """``p50 / p99 / max (N samples)`` of ``values``, or ``no samples`` when there are none."""
    if not values:
        return f"no {unit}"
    p50, p99, top = percentile(values, 50), percentile(values, 99), max(values)
    return f"{p50:.{digits}f} / {p99:.{digits}f} / {top:.{digits}f} ({len(values)} {unit})"


def round_ratio(mine: Sequence[float], theirs: Sequence[float]) -> float:
    """The median over rounds of ``mine[i] / theirs[i]``: two contenders of one round ran a
    minute apart, so on a box whose load swings this moves less than the ratio of medians."""
    return median([a / b for a, b in zip(mine, theirs, strict=True)])


def runs_text(seconds: Iterable[float]) -> str:
    """Every run's time, in run order, for the last column of a table."""
    return ", ".join(f"{s:.2f}" for s in seconds)


# --------------------------------------------------------------------------- tables


def contender_rows(times: dict[str, list[float]], rows: int, over: str) -> list[list[str]]:
    """One table row per contender: name, median s, rows/s, ``over``'s median / this, runs.

    The header that goes with it is ``["contender", "median s", "rows/s", f"{over}/this",
    "runs (s)"]``; the ratio is above 1 where this contender beats ``over``.
    """
    med = {who: median(ts) for who, ts in times.items()}
    return [[who, f"{med[who]:.2f}", f"{rows / med[who]:,.0f}", f"{med[over] / med[who]:.2f}",
             runs_text(ts)] for who, ts in times.items()]


def print_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned table: the first and last columns left-aligned, the others right.

    Numbers line up on the right; the first column names things and the last is free text.
    """
    table = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    last = len(header) - 1
    for row in table:
        cells = [cell.ljust(width) if i in (0, last) else cell.rjust(width)
                 for i, (cell, width) in enumerate(zip(row, widths, strict=True))]
        print("  ".join(cells).rstrip())
