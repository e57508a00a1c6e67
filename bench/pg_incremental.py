"""Benchmark: turnout's PostgreSQL incremental migration under `pgbench` load, and its catch-up.

Why this exists: turnout follows a live PostgreSQL source through logical decoding (pgoutput,
a replication slot it peeks and advances after applying). Users need to know what that costs
the source and how far behind the destination runs, so the issue asks `bench/` to show, on a
real write load: the source's TPS with and without turnout running, the p50 / p99 delay turnout
reports while it follows, and how fast it works off a 1,000,000-change backlog.

The script starts a private throwaway server (never the machine's own service) with
``synchronous_commit=on`` like a default server (turnout's capture only sees flushed WAL), fills
a source database with ``pgbench -i``, and migrates it to a second database on the same server:

1. ``pgbench`` without turnout (TPS), after an uncounted warm-up run of the same length;
2. turnout (schema + full + incremental) caught up, then the same ``pgbench`` while a thread
   samples the task's ``delay_s`` (and the slot's unconfirmed WAL) every 0.2 s;
3. ``pgbench`` again with the task stopped, to show how much the box drifts between runs;
4. with the task stopped, ``UPDATE``s of 1,000,000 account rows in transactions of 100,000,
   then the task started again and timed until it has applied them all and reports no delay.

All four pgbench tables are in the task, ``pgbench_history`` (no primary key) included, with
the ``REPLICA IDENTITY FULL`` turnout's precheck asks for on the source, and pgbench runs
with its defaults: it empties ``pgbench_history`` with TRUNCATE before each run, which the
task replays. Each table is compared between source and destination after each phase. By
default pgbench runs at ``-R 1000`` (1,000 transactions a second), the rate at which the
speed issue sets its goal (``delay_s`` p99 at most 0.5 s); ``--rate 0`` runs it flat out.
The box is noisy (2 cores shared by server, pgbench and turnout), so the script prints figures and
ratios and never asserts on timing; it exits non-zero only when a copy is wrong or turnout
fails.

    python bench/pg_incremental.py [--scale 10] [--clients 4] [--threads 2] [--duration 20]
        [--rate 1000]
        [--backlog 1000000] [--txn-rows 100000] [--catchup-timeout 600] [--dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import psycopg
from _common import Timer, add_dir_option, median, percentile, print_table, spread, work_dir

from turnout.testing.servers import PgServer, clean_env, start_postgres

ROOT = Path(__file__).resolve().parent.parent

TASK = "inc"
SOURCE_DB = "bench_src"
DEST_DB = "bench_dst"
DELAY_GOAL_S = 0.5  # the goal for delay_s p99 at pgbench -R 1000
CHECKS = {
    "pgbench_accounts": "SELECT count(*), sum(abalance), sum(hashtext(t::text)::bigint) "
    "FROM pgbench_accounts t",
    "pgbench_branches": "SELECT count(*), sum(bbalance), sum(hashtext(t::text)::bigint) "
    "FROM pgbench_branches t",
    "pgbench_tellers": "SELECT count(*), sum(tbalance), sum(hashtext(t::text)::bigint) "
    "FROM pgbench_tellers t",
    # no key: rows are compared as a bag (count, sum of deltas, sum of row hashes)
    "pgbench_history": "SELECT count(*), sum(delta), sum(hashtext(t::text)::bigint) "
    "FROM pgbench_history t",
}
INSERT_SQL = "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint"
MARKER_SQL = "UPDATE pgbench_branches SET bbalance = bbalance WHERE bid = 1"
FLUSH_SQL = "SELECT pg_wal_lsn_diff(pg_current_wal_flush_lsn(), '0/0')::bigint"
SLOT_SQL = (
    "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint "
    "FROM pg_replication_slots WHERE slot_name LIKE 'turnout\\_%'"
)
TPS_RE = re.compile(r"^tps = ([\d.]+) \(without initial connection time\)", re.M)
LAT_RE = re.compile(r"^latency average = ([\d.]+) ms", re.M)
PROGRESS_RE = re.compile(r"^progress: ([\d.]+) s, ([\d.]+) tps", re.M)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def one(conn: psycopg.Connection[Any], sql: str) -> int | None:
    """The first column of the first row of ``sql`` as an int, or None when there is no row."""
    row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row and row[0] is not None else None


def slot_lsns(url: str) -> tuple[int, int | None]:
    """(source flush LSN, slot confirmed_flush_lsn or None) as byte positions."""
    with psycopg.connect(url, autocommit=True) as conn:
        return one(conn, FLUSH_SQL) or 0, one(conn, SLOT_SQL)


def lag_seconds(samples: list[Sample]) -> list[tuple[float, float]]:
    """(time, lag) per sample that has one: how long ago the source's flushed WAL reached what
    the slot has confirmed.

    The slot is advanced only after the destination committed, so this is an end-to-end lag
    (read + apply + poll wait) measured from the source side, independent of turnout's own
    ``delay_s``; the time is interpolated linearly between the samples' flush positions.
    """
    lags: list[tuple[float, float]] = []
    for i, s in enumerate(samples):
        if s.confirmed_lsn is None:
            continue
        if s.confirmed_lsn >= s.flush_lsn:
            lags.append((s.t, 0.0))
            continue
        for j in range(i, 0, -1):
            prev, cur = samples[j - 1], samples[j]
            if prev.flush_lsn <= s.confirmed_lsn < cur.flush_lsn:
                frac = (s.confirmed_lsn - prev.flush_lsn) / (cur.flush_lsn - prev.flush_lsn)
                lags.append((s.t, s.t - (prev.t + frac * (cur.t - prev.t))))
                break
    return lags


def source_state() -> str:
    """The commit turnout's code is at, plus a digest of src/ as it is (others may be editing)."""
    digest = hashlib.sha1()
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return f"{head or '?'}{' + uncommitted changes in src/' if dirty else ''} " \
        f"(src digest {digest.hexdigest()[:10]})"


def rss_mb(pid: int | None) -> float | None:
    """Resident memory of process ``pid`` in MB, or None when it is gone."""
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------- pgbench


@dataclass
class PgbenchRun:
    label: str
    tps: float
    latency_ms: float
    per_second: list[float]

    def describe(self) -> str:
        ps = self.per_second
        spread = (
            f"per-second tps min {min(ps):.0f} / median {median(ps):.0f} / "
            f"max {max(ps):.0f}" if ps else "no progress lines"
        )
        return f"{self.tps:8.1f} tps, latency avg {self.latency_ms:.2f} ms ({spread})"


def pgbench(server: PgServer, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(server.bindir / "pgbench"), "-h", server.host, "-p", str(server.port),
        "-U", "postgres", *args, SOURCE_DB,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(),
                          timeout=timeout, check=False)
    if proc.returncode != 0:
        sys.exit(f"pgbench {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


def run_load(server: PgServer, label: str, opts: argparse.Namespace) -> PgbenchRun:
    """One measured pgbench run (TPC-B-like), started after a CHECKPOINT like every other."""
    server.psql("CHECKPOINT")
    rate = ["-R", str(opts.rate)] if opts.rate else []
    proc = pgbench(
        server,
        ["-c", str(opts.clients), "-j", str(opts.threads), "-T", str(opts.duration), "-P", "1",
         *rate],
        timeout=opts.duration + 300,
    )
    out = proc.stdout + proc.stderr
    tps, lat = TPS_RE.search(out), LAT_RE.search(out)
    if tps is None or lat is None:
        sys.exit(f"could not read tps / latency from pgbench output:\n{out}")
    per_second = [float(m.group(2)) for m in PROGRESS_RE.finditer(out)]
    run = PgbenchRun(label, float(tps.group(1)), float(lat.group(1)), per_second)
    print(f"pgbench {label:<26} {run.describe()}", flush=True)
    return run


# --------------------------------------------------------------------------- turnout side


@dataclass
class Sample:
    t: float
    state: str
    delay_s: float | None
    changes: int
    status_age_s: float
    flush_lsn: int
    confirmed_lsn: int | None
    rss_mb: float | None
    heartbeat_delay_s: float | None = None  # now minus the newest heartbeat applied


@dataclass
class Sampler:
    """Samples the task's status, the slot's unconfirmed WAL and the worker's RSS in a thread."""

    status: Callable[[], dict[str, Any]]
    src_url: str
    pid: int
    interval: float = 0.2
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples

    def _run(self) -> None:
        with psycopg.connect(self.src_url, autocommit=True) as conn:
            while not self._stop.is_set():
                now = time.time()
                st = self.status()
                confirmed = one(conn, SLOT_SQL)
                self.samples.append(Sample(
                    now, st["state"], st["delay_s"], st["changes_applied"],
                    now - st["updated"], one(conn, FLUSH_SQL) or 0, confirmed, rss_mb(self.pid),
                    st.get("heartbeat_delay_s"),
                ))
                self._stop.wait(self.interval)


class Turnout:
    """The benchmark's one task, driven through turnout's Python API in this process."""

    def __init__(self, home: Path, src_url: str, dst_url: str) -> None:
        os.environ["TURNOUT_HOME"] = str(home)
        from turnout import api
        from turnout.spec import TaskSpec
        from turnout.store import Store

        self.api, self.store = api, Store(home)
        self.src_url = src_url
        self.pid: int | None = None
        api.create_task(TaskSpec(name=TASK, source=src_url, dest=dst_url), self.store)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.api.task_status(TASK, self.store)
        return status

    def start(self) -> int:
        self.pid = self.api.start_task(TASK, self.store)
        return self.pid

    def stop(self) -> dict[str, Any]:
        status: dict[str, Any] = self.api.stop_task(TASK, self.store)
        self.pid = None
        return status

    def wait_caught_up(self, timeout: float) -> dict[str, Any]:
        """Wait until the slot has confirmed the source's WAL as of now, with no delay.

        turnout advances the slot only after the destination committed, and to the end of a
        commit it has read, so once the slot is past the WAL position of the call everything
        committed before it is applied. A no-op UPDATE of a captured table right after makes
        sure such a commit exists. The stored phase and ``delay_s`` alone would not do: a
        restarted task shows those of its previous run until its first progress report.
        """
        with psycopg.connect(self.src_url, autocommit=True) as conn:
            target = one(conn, INSERT_SQL) or 0
            conn.execute(MARKER_SQL)  # a commit of ours past target, whatever WAL follows
        deadline = time.monotonic() + timeout
        while True:
            status = self.status()
            if status["state"] == "Failed":
                fail(f"turnout failed: {status['error']} (status {status})")
            _, confirmed = slot_lsns(self.src_url)
            if (status["phase"] == "incremental" and status["state"] == "Migrating"
                    and status["delay_s"] == 0 and confirmed is not None and confirmed >= target):
                return status
            if time.monotonic() > deadline:
                fail(f"turnout did not catch up within {timeout:.0f} s: status {status}, "
                     f"slot at {confirmed}, target {target}")
            time.sleep(0.1)

    def sampler(self) -> Sampler:
        assert self.pid is not None
        return Sampler(self.status, self.src_url, self.pid)


def fail(message: str) -> NoReturn:
    print(f"FAILED: {message}", flush=True)
    raise SystemExit(1)


# --------------------------------------------------------------------------- checks


def table_checks(url: str) -> dict[str, tuple[Any, ...]]:
    return {table: query(url, sql)[0] for table, sql in CHECKS.items()}


def compare(src_url: str, dst_url: str, when: str, problems: list[str]) -> None:
    """Compare count, balance sum and a row-hash sum of the four tables."""
    src, dst = table_checks(src_url), table_checks(dst_url)
    bad = [t for t in CHECKS if src[t] != dst[t]]
    accounts = src["pgbench_accounts"]
    if bad:
        for t in bad:
            problems.append(f"{when}: {t} source {src[t]} != destination {dst[t]}")
        print(f"check {when}: MISMATCH in {', '.join(bad)}", flush=True)
    else:
        print(f"check {when}: {len(CHECKS)} tables match (accounts count {accounts[0]:,}, "
              f"sum(abalance) {accounts[1]:,})", flush=True)


# --------------------------------------------------------------------------- phases


@dataclass
class FollowResult:
    delays: list[float]
    slot_lag_kb: list[float]
    lag_s: list[float]
    status_age_s: list[float]
    drain_s: float
    peak_rss_mb: float | None
    changes: int
    heartbeat_delays: list[float] = field(default_factory=list)


def follow_under_load(server: PgServer, turnout: Turnout, opts: argparse.Namespace
                      ) -> tuple[PgbenchRun, FollowResult]:
    sampler = turnout.sampler()
    before = turnout.status()["changes_applied"]
    sampler.start()
    t_start = time.time()
    run = run_load(server, "with turnout following", opts)
    t_end = time.time()
    turnout.wait_caught_up(300)
    drained = time.time() - t_end
    samples = sampler.stop()
    during = [s for s in samples if t_start <= s.t <= t_end]
    delays = [s.delay_s for s in during if s.delay_s is not None]
    if not delays:
        fail(f"no delay samples while pgbench ran; status {turnout.status()}")
    lags = [(s.flush_lsn - s.confirmed_lsn) / 1024 for s in during
            if s.confirmed_lsn is not None]
    rss = [s.rss_mb for s in samples if s.rss_mb is not None]
    changes = turnout.status()["changes_applied"] - before
    lag_s = [lag for t, lag in lag_seconds(samples) if t_start <= t <= t_end]
    beats = [s.heartbeat_delay_s for s in during if s.heartbeat_delay_s is not None]
    return run, FollowResult(delays, lags, lag_s, [s.status_age_s for s in during], drained,
                             max(rss) if rss else None, changes, beats)


@dataclass
class CatchUp:
    backlog: int
    txns: int
    generate_s: float
    wal_mb: float
    seconds: float | None
    first_change_s: float | None
    applied: int
    peak_rss_mb: float | None
    timeline: list[tuple[float, int, float | None, float | None]]
    final_status: dict[str, Any]


def make_backlog(src_url: str, backlog: int, txn_rows: int, accounts: int) -> tuple[int, float]:
    """UPDATE ``backlog`` account rows in transactions of ``txn_rows``; returns (txns, WAL MB)."""
    if backlog > accounts:
        fail(f"--backlog {backlog:,} exceeds the {accounts:,} accounts: raise --scale")
    txns = 0
    with psycopg.connect(src_url, autocommit=True) as conn:
        wal0 = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        lo = 1
        while lo <= backlog:
            hi = min(lo + txn_rows - 1, backlog)
            cur = conn.execute(
                "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid BETWEEN %s AND %s",
                (lo, hi),
            )
            if cur.rowcount != hi - lo + 1:
                fail(f"backlog UPDATE of aid {lo}..{hi} touched {cur.rowcount} rows")
            txns += 1
            lo = hi + 1
        row = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint",
                           (wal0[0] if wal0 else None,)).fetchone()
    return txns, (int(row[0]) if row else 0) / 2**20


def catch_up(turnout: Turnout, opts: argparse.Namespace, accounts: int) -> CatchUp:
    stopped = turnout.status()
    before = stopped["changes_applied"]
    with Timer() as timer:
        txns, wal_mb = make_backlog(turnout.src_url, opts.backlog, opts.txn_rows, accounts)
    generate_s = timer.seconds
    print(f"backlog: {opts.backlog:,} row updates in {txns} transactions, {wal_mb:.0f} MB of WAL, "
          f"made in {generate_s:.1f} s with the task stopped (state {stopped['state']})",
          flush=True)

    timeline: list[tuple[float, int, float | None, float | None]] = []
    timer = Timer()
    pid = turnout.start()
    first: float | None = None
    done: float | None = None
    peak: float | None = None
    last_print = 0.0
    status = turnout.status()
    while True:
        elapsed = timer.seconds
        status = turnout.status()
        applied = status["changes_applied"] - before
        rss = rss_mb(pid)
        if rss is not None:
            peak = rss if peak is None else max(peak, rss)
        timeline.append((elapsed, applied, status["delay_s"], rss))
        if first is None and applied > 0:
            first = elapsed
        if status["state"] == "Failed":
            print(f"catch-up: turnout FAILED after {elapsed:.1f} s: {status['error']}")
            break
        if applied >= opts.backlog and status["delay_s"] == 0 and status["phase"] == "incremental":
            done = elapsed
            break
        if elapsed - last_print >= 15:
            last_print = elapsed
            print(f"  catch-up {elapsed:6.1f} s: {applied:>9,} changes applied, delay "
                  f"{status['delay_s']}, worker RSS {rss or 0:.0f} MB", flush=True)
        if elapsed > opts.catchup_timeout:
            print(f"catch-up: still not caught up after {elapsed:.0f} s: stopping the task")
            break
        time.sleep(0.5)
    return CatchUp(opts.backlog, txns, generate_s, wal_mb, done, first,
                   status["changes_applied"] - before, peak, timeline, status)


# --------------------------------------------------------------------------- report


def report(opts: argparse.Namespace, runs: dict[str, PgbenchRun], follow: FollowResult,
           full_s: float, cu: CatchUp, problems: list[str]) -> None:
    without = statistics.mean([runs["before"].tps, runs["after"].tps])
    with_t = runs["with"].tps
    rows: list[tuple[str, str]] = [
        ("source TPS without turnout (before)", f"{runs['before'].tps:,.1f}"),
        ("source TPS with turnout following", f"{with_t:,.1f}"),
        ("source TPS without turnout (after, task stopped)", f"{runs['after'].tps:,.1f}"),
        ("TPS ratio with / without (mean of before+after)", f"{with_t / without:.3f}"),
        ("TPS ratio with / without (before only)", f"{with_t / runs['before'].tps:.3f}"),
        ("pgbench latency avg without / with (ms)",
         f"{runs['before'].latency_ms:.2f} / {runs['with'].latency_ms:.2f}"),
        ("turnout delay_s p50 / p99 / max (s)", spread(follow.delays, 3)),
        ("turnout heartbeat_delay_s p50 / p99 / max (s)", spread(follow.heartbeat_delays, 3)),
    ]
    if follow.slot_lag_kb:
        lag = follow.slot_lag_kb
        rows.append(("slot unconfirmed WAL p50 / p99 / max (kB)",
                     f"{percentile(lag, 50):,.0f} / {percentile(lag, 99):,.0f} / {max(lag):,.0f}"))
    if follow.lag_s:
        rows.append(("slot lag behind source flush p50 / p99 / max (s)",
                     spread(follow.lag_s, 3)))
    rows += [
        ("status age p50 / max while loaded (s)",
         f"{percentile(follow.status_age_s, 50):.2f} / {max(follow.status_age_s):.2f}"),
        ("changes applied during the loaded run", f"{follow.changes:,}"),
        ("caught up after pgbench stopped (s)", f"{follow.drain_s:.2f}"),
        ("worker peak RSS while following (MB)",
         f"{follow.peak_rss_mb:.0f}" if follow.peak_rss_mb else "n/a"),
        ("initial schema + full copy until delay 0 (s)", f"{full_s:.1f}"),
        ("backlog (row changes, transactions)", f"{cu.backlog:,} in {cu.txns} txns "
         f"of {opts.txn_rows:,} ({cu.wal_mb:.0f} MB WAL)"),
        ("catch-up: first change applied after start (s)",
         f"{cu.first_change_s:.1f}" if cu.first_change_s is not None else "never"),
    ]
    if cu.seconds is not None:
        rows += [
            ("catch-up until caught up (s)", f"{cu.seconds:.1f}"),
            ("catch-up rate (changes/s, start to caught up)", f"{cu.backlog / cu.seconds:,.0f}"),
        ]
        if cu.first_change_s is not None and cu.seconds > cu.first_change_s:
            rate = cu.backlog / (cu.seconds - cu.first_change_s)
            rows.append(("catch-up rate from first change (changes/s)", f"{rate:,.0f}"))
    else:
        last = cu.timeline[-1] if cu.timeline else (0.0, 0, None, None)
        rate = last[1] / last[0] if last[0] else 0.0
        rows.append(("catch-up NOT finished", f"{last[1]:,} applied in {last[0]:.0f} s "
                     f"({rate:,.0f} changes/s)"))
    rows.append(("worker peak RSS during catch-up (MB)",
                 f"{cu.peak_rss_mb:.0f}" if cu.peak_rss_mb else "n/a"))

    print()
    print_table(["measure", "value"], rows)
    rate = f" -R {opts.rate}" if opts.rate else ""
    print(f"pgbench -s {opts.scale}: -c {opts.clients} -j {opts.threads} -T {opts.duration}"
          f"{rate} (TPC-B-like, its defaults: pgbench_history emptied by TRUNCATE before each "
          "run); turnout schema+full+incremental into another database of the same server, "
          "detached worker; all four tables in the task and compared after each phase.")
    p99 = percentile(follow.delays, 99)
    verdict = "met" if p99 <= DELAY_GOAL_S else "NOT met"
    print(f"goal delay_s p99 <= {DELAY_GOAL_S} s at -R 1000: {p99:.3f} s "
          f"({verdict}{'' if opts.rate == 1000 else ', but this run was not at -R 1000'}); "
          f"load average (1 min) at the end {os.getloadavg()[0]:.1f}")
    print("delay_s is what turnout reports after each batch it applies: the age of the "
          "oldest change of that batch (source commit to destination commit) or of the oldest "
          "change not read yet, whichever is older, 0 only once a read drains the slot; 'slot "
          "unconfirmed WAL' is the source's flushed WAL past the slot's confirmed_flush_lsn and "
          "'slot lag' how long ago the source flushed what the slot has confirmed (turnout "
          "confirms after the destination commits): an end-to-end lag seen from the source.")
    print("2-core noisy box shared by server, pgbench and turnout: figures, not assertions.")
    if problems:
        print()
        for p in problems:
            print(f"PROBLEM: {p}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=20, help="pgbench -T seconds")
    parser.add_argument("--rate", type=int, default=1000,
                        help="pgbench -R transactions a second (0: as fast as it can)")
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--txn-rows", type=int, default=100_000)
    parser.add_argument("--catchup-timeout", type=float, default=600.0)
    add_dir_option(parser)
    opts = parser.parse_args()

    wall = Timer()
    code = source_state()
    print(f"turnout {code}")
    work = work_dir("pg_incremental", opts.dir)
    server: PgServer | None = None
    turnout: Turnout | None = None
    problems: list[str] = []
    finished = False
    try:
        server = start_postgres(work / "pg", extra_args=["-c", "synchronous_commit=on"])
        if not (server.bindir / "pgbench").is_file():
            fail(f"no pgbench in {server.bindir} (Debian: apt-get install postgresql-contrib)")
        settings = server.psql(
            "SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings "
            "WHERE name IN ('synchronous_commit', 'fsync', 'full_page_writes', 'wal_level', "
            "'shared_buffers', 'logical_decoding_work_mem')"
        )
        version = server.psql("SHOW server_version")
        print(f"PostgreSQL {version} on port {server.port} ({server.bindir}); {settings}")
        src_url = server.create_database(SOURCE_DB)
        dst_url = server.create_database(DEST_DB)
        with Timer() as timer:
            pgbench(server, ["-i", "-q", "-s", str(opts.scale)], timeout=900)
        # What turnout's precheck asks of a keyless table (its updates and deletes would
        # otherwise be refused by the source once published): the fix a user applies.
        with psycopg.connect(src_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE pgbench_history REPLICA IDENTITY FULL")
        accounts = int(query(src_url, "SELECT count(*) FROM pgbench_accounts")[0][0])
        print(f"pgbench -i -s {opts.scale}: {accounts:,} accounts in "
              f"{timer.seconds:.1f} s ({work})", flush=True)

        # The first run after -i is slower (hint bits, first HOT updates): warm up uncounted.
        run_load(server, "warm-up (not counted)", opts)
        runs: dict[str, PgbenchRun] = {}
        runs["before"] = run_load(server, "without turnout (before)", opts)

        turnout = Turnout(work / "home", src_url, dst_url)
        with Timer() as timer:
            turnout.start()
            turnout.wait_caught_up(1800)
        full_s = timer.seconds
        print(f"turnout: schema + full copied and caught up in {full_s:.1f} s", flush=True)
        compare(src_url, dst_url, "after the full copy", problems)

        runs["with"], follow = follow_under_load(server, turnout, opts)
        compare(src_url, dst_url, "after following pgbench", problems)
        stopped = turnout.stop()
        print(f"task stopped: state {stopped['state']}, "
              f"{stopped['changes_applied']:,} changes applied in all", flush=True)

        runs["after"] = run_load(server, "without turnout (after)", opts)
        turnout.start()
        turnout.wait_caught_up(600)
        compare(src_url, dst_url, "after working off the second run", problems)
        turnout.stop()

        cu = catch_up(turnout, opts, accounts)
        if cu.seconds is not None:
            print(f"catch-up: {cu.applied:,} changes applied and caught up in {cu.seconds:.1f} s",
                  flush=True)
            compare(src_url, dst_url, "after the catch-up", problems)
        else:
            problems.append(f"catch-up did not finish: last status {cu.final_status}")
        turnout.stop()
        report(opts, runs, follow, full_s, cu, problems)
        if source_state() != code:
            print(f"WARNING: turnout's source changed during the run (now {source_state()}): "
                  "workers started later ran other code")
        print(f"total wall time {wall.seconds:.0f} s")
        finished = True
        if problems:
            raise SystemExit(1)
    finally:
        try:
            if turnout is not None:
                stop_for_good(turnout)
                log = work / "home" / "logs" / f"{TASK}.log"
                if (problems or not finished) and log.exists():
                    print(f"--- tail of {log}")
                    print("\n".join(log.read_text(errors="replace").splitlines()[-20:]))
        finally:  # even when printing fails (a closed pipe), stop the server and clean up
            if server is not None:
                server.stop()
            shutil.rmtree(work, ignore_errors=True)


def stop_for_good(turnout: Turnout) -> None:
    """Stop the task; kill the worker this script started if it won't stop."""
    try:
        turnout.stop()
    except Exception as exc:  # never leave the worker behind the server
        print(f"could not stop the task: {exc}")
        if turnout.pid:
            try:
                os.kill(turnout.pid, signal.SIGKILL)
            except OSError:
                pass


if __name__ == "__main__":
    main()
