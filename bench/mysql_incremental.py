"""Benchmark: turnout's MySQL → MySQL incremental migration under sysbench write load, and catch-up.

Why this exists: turnout follows a live MySQL / MariaDB source by reading its ROW binlog as a
replica (python-mysql-replication). Users need to know what that costs the source, how far
behind the destination runs, and how fast a backlog is worked off, so the issue asks `bench/` to
show, on a real write load: the source's TPS with and without turnout, the p50 / p99 delay
turnout reports while it follows, and the catch-up rate over a 1,000,000-change backlog.

The script starts two private throwaway MariaDB servers (turnout.testing.servers: ROW binlog with
column names; never the machine's own services), fills the source with `sysbench
oltp_write_only prepare`, and migrates it (schema + full + incremental) to the second server:

1. sysbench without turnout (TPS), after an uncounted warm-up;
2. turnout created and started with its CLI, caught up; then the same sysbench, paced to
   --rate-share (0.5 by default: the speed issue sets its goal, delay_s p99 at most 1 s, at
   half of sysbench's rate without turnout) of the TPS of step 1, while a thread
   samples the task status every 0.25 s (`api.task_status`, the dict `turnout task status
   --json` prints: one CLI process per sample would cost this 2-core box half a core, so the
   CLI is called once to check the shape);
3. sysbench again with the task stopped (`turnout task stop`), to show the drift between runs;
   the task is then started again and its catch-up of that run is timed: that rate decides
   whether the backlog of step 4 fits the time budget, and a smaller backlog is used, and said
   so, when it would not;
4. with the task stopped, UPDATEs of --backlog rows in transactions of --txn-rows, then
   `turnout task start` timed until the task reports no delay with its position past the last
   of them;
5. what sysbench writes in --profile-load seconds with the task stopped, worked off by the
   worker under cProfile, to show where capture spends its time.

Source and destination are compared (count, sum(k), md5 over c || pad in id order) after each
phase. The box is noisy, so nothing is asserted on timing; the script exits non-zero only when a
copy is wrong or turnout fails.

    python bench/mysql_incremental.py [--table-size 100000] [--threads 4] [--duration 20]
        [--rate-share 0.5]
        [--backlog 1000000] [--txn-rows 10000] [--budget 600] [--profile-load 5]
        [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _mysql as my
from _common import (
    Timer,
    add_dir_option,
    children_cpu,
    need,
    percentile,
    print_table,
    process_cpu,
    spread,
    work_dir,
)
from _mysql import TurnoutCli

from turnout import api
from turnout.store import Store
from turnout.testing.servers import MariaDbServer

TASK = "inc"
DB = "sbtest"
TPS_RE = re.compile(r"transactions:\s+(\d+)\s+\(([\d.]+) per sec")
ERR_RE = re.compile(r"ignored errors:\s+(\d+)")
LAT_RE = re.compile(r"avg:\s+([\d.]+)\n.*\n\s+95th percentile:\s+([\d.]+)")
BACKLOG_STEPS = (1_000_000, 500_000, 200_000, 100_000, 50_000, 20_000, 10_000)


@dataclass
class LoadRun:
    tps: float
    errors: int
    latency: tuple[str, str]  # avg, 95th percentile (ms)

    def describe(self) -> str:
        return (f"{self.tps:8.1f} tps, latency avg {self.latency[0]} ms, p95 {self.latency[1]} "
                f"ms, {self.errors} ignored errors")


@dataclass
class Sampler:
    """Samples the task's status (and its worker's memory) every ``interval`` s in a thread."""

    home: Path
    interval: float = 0.25
    samples: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[tuple[float, dict[str, Any]]]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples

    def _run(self) -> None:
        store = Store(self.home)
        while not self._stop.is_set():
            self.samples.append((time.time(), api.task_status(TASK, store)))
            self._stop.wait(self.interval)
        store.close()


class Bench:
    def __init__(self, work: Path, src: MariaDbServer, dst: MariaDbServer,
                 opts: argparse.Namespace) -> None:
        self.work, self.src, self.dst, self.opts = work, src, dst, opts
        self.cli = TurnoutCli(work / "home")
        self.store = Store(self.cli.home)
        self.problems: list[str] = []

    # source load ---------------------------------------------------------

    def load(self, label: str, seconds: int | None = None, rate: int = 0) -> LoadRun:
        """One sysbench run; ``rate`` > 0 paces it to that many transactions a second."""
        out = my.sysbench(self.src, DB, "oltp_write_only", "run", self.opts.table_size,
                          f"--threads={self.opts.threads}",
                          f"--time={seconds or self.opts.duration}", "--report-interval=5",
                          *([f"--rate={rate}"] if rate else []))
        tps, err, lat = TPS_RE.search(out), ERR_RE.search(out), LAT_RE.search(out)
        if tps is None:
            sys.exit(f"no transaction count in sysbench's output:\n{out}")
        run = LoadRun(float(tps.group(2)), int(err.group(1)) if err else 0,
                      (lat.group(1), lat.group(2)) if lat else ("?", "?"))
        print(f"sysbench {label:<28} {run.describe()}", flush=True)
        return run

    def backlog(self, changes: int) -> tuple[int, float, tuple[int, int]]:
        """UPDATE ``changes`` rows (wrapping over the table) in transactions of --txn-rows;
        (rows changed, seconds, binlog position after them)."""
        size, step = self.opts.table_size, self.opts.txn_rows
        done, lo = 0, 1
        with Timer() as timer, my.my_connect(self.src, DB) as conn, conn.cursor() as cur:
            while done < changes:
                hi = min(lo + min(step, changes - done) - 1, size)
                done += cur.execute(f"UPDATE {my.TABLE} SET k = k + 1 WHERE id BETWEEN %s AND %s",
                                    (lo, hi))
                lo = hi + 1 if hi < size else 1
        return done, timer.seconds, self.binlog_end()

    def binlog_end(self) -> tuple[int, int]:
        """Where the source's binlog ends now: (file number, offset)."""
        file, pos = my.my_query(self.src, None, "SHOW MASTER STATUS")[0][:2]
        return int(str(file).rsplit(".", 1)[1]), int(pos)

    # turnout -------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return api.task_status(TASK, self.store)

    def start(self) -> None:
        self.cli("task", "start", TASK)

    def stop(self) -> dict[str, Any]:
        self.cli("task", "stop", TASK)
        return self.status()

    def caught_up(self, timeout: float) -> float:
        """Seconds until everything committed so far is applied (api.wait_caught_up)."""
        with Timer() as timer:
            api.wait_caught_up(TASK, timeout, self.store)
        return timer.seconds

    def work_off(self, changes: int, target: tuple[int, int],
                 timeout: float) -> tuple[float | None, int]:
        """Poll until the task applied ``changes`` more, has no delay and its position is past
        ``target``; (seconds or None on timeout, changes applied)."""
        before = self.status()["changes_applied"]
        timer = Timer()
        wall0, last_print, applied = time.time(), 0.0, 0
        while (spent := timer.seconds) < timeout:
            st = self.status()
            if st["state"] == "Failed":
                sys.exit(f"turnout failed during catch-up: {st['error']}")
            applied = st["changes_applied"] - before
            pos = json.loads(st["position"] or "{}")
            at = (int(pos.get("file", "x.0").rsplit(".", 1)[1]), int(pos.get("pos", 0)))
            if (st["phase"] == "incremental" and st["delay_s"] == 0 and at >= target
                    and st["updated"] > wall0 and applied >= changes):
                return spent, applied
            if spent - last_print >= 30:
                last_print = spent
                print(f"  catch-up {spent:6.0f} s: {applied:>9,} changes applied, delay "
                      f"{st['delay_s']}", flush=True)
            time.sleep(0.25)
        return None, applied

    def compare(self, when: str) -> None:
        src, dst = my.my_content(self.src, DB), my.my_content(self.dst, DB)
        if src == dst:
            print(f"check {when}: source and destination match ({src[0]} rows)", flush=True)
        else:
            self.problems.append(f"{when}: source {src} != destination {dst}")
            print(f"check {when}: MISMATCH source {src} destination {dst}", flush=True)

    def profile(self, seconds: int) -> None:
        """Work off what sysbench writes in ``seconds`` with the task stopped (transactions of
        4 row changes: the slower case) with the worker under cProfile; print where time goes."""
        self.stop()
        self.load(f"backlog for the profile ({seconds} s)", seconds)
        target = self.binlog_end()
        out = self.work / "worker.prof"
        proc = self.cli.profiled(out, "worker", TASK)
        spent, applied = self.work_off(0, target, self.opts.budget or 3600)
        proc.send_signal(signal.SIGTERM)  # the worker stops after its batch; profile dumped
        proc.wait(120)
        self.compare("after the profiled catch-up")
        rate = f"{applied / spent:,.0f} changes/s" if spent else "did not finish"
        print(f"\nprofile of the worker working off {applied:,} changes of sysbench transactions "
              f"({rate} under cProfile, worker start-up included):")
        print("\n".join(my.top_functions(out, "cumulative", 15)))
        print("top by own time:")
        print("\n".join(my.top_functions(out, "tottime", 15)))


def pick_backlog(wanted: int, rate: float, budget: float) -> int:
    """``wanted`` when its catch-up at ``rate`` fits ``budget``, else the largest step that does."""
    if budget <= 0 or wanted / rate <= budget:
        return wanted
    fits = [s for s in BACKLOG_STEPS if s < wanted and s / rate <= budget]
    return fits[0] if fits else BACKLOG_STEPS[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--table-size", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=4, help="sysbench --threads")
    parser.add_argument("--duration", type=int, default=20, help="sysbench --time seconds")
    parser.add_argument("--rate-share", type=float, default=0.5,
                        help="sysbench paced to this share of its rate without turnout while "
                        "turnout follows (the speed issue's goal is at 0.5; 0: flat out)")
    parser.add_argument("--backlog", type=int, default=1_000_000)
    parser.add_argument("--txn-rows", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=600.0,
                        help="catch-up seconds the backlog may take at the measured rate; "
                        "a smaller backlog is used past it (0: never)")
    parser.add_argument("--profile-load", type=int, default=5,
                        help="seconds of sysbench whose changes the profiled worker works off "
                        "(0: no profile)")
    parser.add_argument("--series", action="store_true",
                        help="print every delay_s sample taken while sysbench ran")
    add_dir_option(parser)
    opts = parser.parse_args()
    need("sysbench")

    wall = Timer()
    work = work_dir("mysql_incremental", opts.dir)
    servers: list[MariaDbServer] = []
    bench: Bench | None = None
    try:
        servers.append(my.start_source(work / "source"))
        servers.append(my.start_source(work / "dest"))
        src, dst = servers
        version = my.my_query(src, None, "SELECT VERSION()")[0][0]
        print(f"MariaDB {version}: source on port {src.port}, destination on port {dst.port}")
        my.my_fresh_db(src, DB)
        with Timer() as timer:
            my.sysbench(src, DB, "oltp_write_only", "prepare", opts.table_size)
        print(f"sysbench prepare: {opts.table_size:,} rows in {timer.seconds:.1f} s "
              f"({work})", flush=True)
        bench = Bench(work, src, dst, opts)
        bench.load("warm-up (not counted)", max(5, opts.duration // 2))
        runs = {"before": bench.load("without turnout (before)")}

        with Timer() as timer:
            bench.cli.create(TASK, src.url(DB), dst.url(DB), "schema,full,incremental")
            bench.start()
            bench.caught_up(opts.budget or 3600)
        full_s = timer.seconds
        print(f"turnout: created, schema + full copied and caught up in {full_s:.1f} s", flush=True)
        bench.compare("after the full copy")
        cli_keys = set(bench.cli.status(TASK))  # the CLI also looks for leftover slots
        api_keys = set(api.task_status(TASK, bench.store, check_source=True))
        if cli_keys != api_keys:
            bench.problems.append(f"CLI status keys {cli_keys} != API keys {api_keys}")

        before = bench.status()["changes_applied"]
        sampler = Sampler(bench.cli.home).start()
        pids = {"source server": src.process.pid, "destination server": dst.process.pid,
                "turnout worker": bench.status()["pid"]}
        cpu_before = {who: process_cpu(pid) for who, pid in pids.items()}
        sysbench_before = children_cpu()
        t_start = time.time()
        rate = round(runs["before"].tps * opts.rate_share) if opts.rate_share else 0
        runs["with"] = bench.load("with turnout following" + (f" (--rate={rate})" if rate
                                                               else ""), rate=rate)
        t_end = time.time()
        cpu = {who: process_cpu(pid) - cpu_before[who] for who, pid in pids.items()}
        cpu["sysbench"] = children_cpu() - sysbench_before
        print(f"CPU seconds while sysbench ran ({t_end - t_start:.1f} s, "
              f"{2 * (t_end - t_start):.1f} CPU s on 2 cores): "
              + ", ".join(f"{who} {seconds:.1f}" for who, seconds in cpu.items())
              + f"; all {sum(cpu.values()):.1f}", flush=True)
        drain_s = bench.caught_up(opts.budget or 3600)
        samples = sampler.stop()
        followed = bench.status()["changes_applied"] - before
        delays = [s["delay_s"] for t, s in samples if t_start <= t <= t_end
                  and s["delay_s"] is not None]
        beats = [s["heartbeat_delay_s"] for t, s in samples if t_start <= t <= t_end
                 and s.get("heartbeat_delay_s") is not None]
        print(f"turnout applied {followed:,} changes; caught up {drain_s:.1f} s after the load "
              f"ended", flush=True)
        if opts.series:
            print("delay_s every 0.25 s while sysbench ran: "
                  + " ".join(f"{d:.2f}" for d in delays), flush=True)
        bench.compare("after following sysbench")
        bench.stop()

        runs["after"] = bench.load("without turnout (after)")
        before = bench.status()["changes_applied"]
        bench.start()
        probe_s = bench.caught_up(opts.budget or 3600)
        probe = bench.status()["changes_applied"] - before
        rate = probe / probe_s if probe_s else 1.0
        print(f"caught up the task-stopped run: {probe:,} changes in {probe_s:.1f} s "
              f"({rate:,.0f} changes/s, with the worker's start-up)", flush=True)
        bench.compare("after working off the stopped run")
        bench.stop()

        size = pick_backlog(opts.backlog, rate, opts.budget)
        if size != opts.backlog:
            print(f"backlog REDUCED from {opts.backlog:,} to {size:,} changes: at "
                  f"{rate:,.0f} changes/s the full backlog would take about "
                  f"{opts.backlog / rate:,.0f} s, over the {opts.budget:.0f} s budget", flush=True)
        made, gen_s, target = bench.backlog(size)
        print(f"backlog: {made:,} row updates in transactions of {opts.txn_rows:,}, made in "
              f"{gen_s:.1f} s with the task stopped", flush=True)
        with Timer() as timer:
            bench.start()
            catch_s, applied = bench.work_off(made, target,
                                              2 * opts.budget + 60 if opts.budget > 0 else 3600)
        start_s = timer.seconds if catch_s is None else catch_s
        if catch_s is None:
            bench.problems.append(f"catch-up did not finish: {applied:,} of {made:,} applied")
        else:
            bench.compare("after the catch-up")
        bench.stop()
        report(opts, runs, delays, followed, drain_s, full_s, (probe, probe_s), made, size,
               start_s, catch_s is not None, applied, beats)
        if opts.profile_load:
            bench.profile(opts.profile_load)
        print(f"total wall time {wall.seconds:.0f} s")
        if bench.problems:
            for problem in bench.problems:
                print(f"PROBLEM: {problem}")
            raise SystemExit(1)
    finally:
        if bench is not None:
            try:
                bench.stop()
            except Exception as exc:  # noqa: BLE001 - still stop the servers
                print(f"could not stop the task: {exc}")
            bench.store.close()
        for server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


DELAY_GOAL_S = 1.0  # the speed issue's goal for delay_s p99 at half of sysbench's solo rate


def report(opts: argparse.Namespace, runs: dict[str, LoadRun], delays: list[float],
           followed: int, drain_s: float, full_s: float, probe: tuple[int, float], made: int,
           size: int, catch_s: float, finished: bool, applied: int,
           beats: list[float] | None = None) -> None:
    without = (runs["before"].tps + runs["after"].tps) / 2
    rows = [
        ("source TPS without turnout (before / after)",
         f"{runs['before'].tps:,.1f} / {runs['after'].tps:,.1f}"),
        ("source TPS with turnout following", f"{runs['with'].tps:,.1f}"),
        ("TPS ratio with / without (mean of before+after)", f"{runs['with'].tps / without:.3f}"),
        ("sysbench latency avg, without -> with (ms)",
         f"{runs['before'].latency[0]} -> {runs['with'].latency[0]}"),
        ("sysbench latency p95, without -> with (ms)",
         f"{runs['before'].latency[1]} -> {runs['with'].latency[1]}"),
        ("turnout delay_s p50 / p99 / max during the load (s)", spread(delays)),
        ("turnout heartbeat_delay_s p50 / p99 / max during the load (s)", spread(beats or [])),
        ("changes applied while following", f"{followed:,}"),
        ("caught up after the load ended (s)", f"{drain_s:.1f}"),
        ("initial schema + full copy until caught up (s)", f"{full_s:.1f}"),
        ("catch-up of the sysbench run made while stopped",
         f"{probe[0]:,} changes in {probe[1]:.1f} s: {probe[0] / probe[1]:,.0f} changes/s"),
        ("backlog asked for (--backlog)", f"{opts.backlog:,}"),
        ("backlog measured", f"{made:,} row changes in txns of {opts.txn_rows:,}"
         + ("" if size == opts.backlog else "  ** REDUCED to fit the time budget **")),
    ]
    if finished:
        rows += [("catch-up: start to caught up (s)", f"{catch_s:.1f}"),
                 ("catch-up rate (changes/s)", f"{made / catch_s:,.0f}")]
    else:
        rows.append(("catch-up NOT finished", f"{applied:,} applied in {catch_s:.0f} s "
                     f"({applied / catch_s:,.0f} changes/s)"))
    print()
    print_table(["measure", "value"], rows)
    print(f"sysbench oltp_write_only: 1 table of {opts.table_size:,} rows, --threads="
          f"{opts.threads} --time={opts.duration}; turnout schema+full+incremental into a "
          "second private MariaDB server, detached worker (`turnout task start`).")
    print("delay_s as `turnout task status --json` reports it, sampled every 0.25 s while "
          "sysbench ran. 2-core noisy box shared by both servers, sysbench and turnout: "
          "figures, not assertions.")
    if delays:
        p99 = percentile(delays, 99)
        paced = f"paced to {opts.rate_share:g} of its solo rate" if opts.rate_share else "flat out"
        print(f"goal delay_s p99 <= {DELAY_GOAL_S} s at half of sysbench's solo rate: "
              f"{p99:.2f} s with sysbench {paced} ({'met' if p99 <= DELAY_GOAL_S else 'NOT met'}"
              f"{'' if opts.rate_share == 0.5 else ', but not at the goal rate'}); "
              f"load average (1 min) at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
