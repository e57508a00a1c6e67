"""Benchmark: where the delay of a PostgreSQL -> PostgreSQL task under `pgbench -R 1000` goes.

Why this exists: bench/pg_incremental.py reports turnout's ``delay_s`` (the speed issue's goal
is a p99 of at most 0.5 s at ``pgbench -R 1000``) but not what it is made of. This script runs
the same load against the same kind of task, with the task's worker in this process (a
``Runner`` in a thread, as ``turnout serve`` runs one) so that it can time each stage of each
batch by wrapping a few functions, without touching turnout's code:

- **stream**: from the source commit (pgoutput's commit timestamp) of a batch's oldest change
  until the worker received that commit's message;
- **read**: from then until the read that holds it returned (the rest of the batch arriving);
- **queue**: from then until the apply loop took the read (the previous batch still applying);
- **apply**: the destination transaction, commit included (with its statements counted and
  timed by kind), until the task's ``delay_s`` was reported.

It also prints the CPU seconds of the worker's threads (capture, apply, others) and of the
server per 1,000 changes, and the load average. Figures, not assertions: the box is shared.

    python bench/pg_delay_stages.py [--scale 10] [--clients 4] [--threads 2] [--duration 20]
        [--rate 1000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from _common import add_dir_option, percentile, print_table, work_dir

from turnout.testing.servers import PgServer, clean_env, start_postgres

TASK = "stages"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class ReadRec:
    """One read: when it returned, its oldest change's commit time and when its commit
    message arrived."""

    returned: float
    oldest_commit: float | None
    oldest_received: float | None
    changes: int
    last: int | None = None  # id() of its last change
    taken: float | None = None
    applied: float | None = None
    apply_s: float | None = None


class Probe:
    """The wrappers and what they saw."""

    def __init__(self) -> None:
        self.received: dict[int, float] = {}  # commit end LSN -> time its message arrived
        self.reads: list[ReadRec] = []
        self.statements: dict[str, list[float]] = defaultdict(list)
        self.apply_thread: int | None = None
        self.decode_s = 0.0
        self.socket_wait_s = 0.0
        self.delays: list[float] = []
        self.recording = False
        self.lock = threading.Lock()

    def install(self) -> None:
        from turnout.engines.postgres import capture, engine, replication
        from turnout.migrate import storeprogress

        probe = self
        take, read, decode = capture.PgCapture._take, capture.PgCapture.read, capture.decode
        message = replication.ReplicationStream.message

        def timed_decode(data: bytes) -> Any:
            began = time.perf_counter()
            try:
                return decode(data)
            finally:
                probe.decode_s += time.perf_counter() - began

        def timed_message(stream: Any, wait: float, stall: float = 30.0) -> Any:
            began = time.perf_counter()
            try:
                return message(stream, wait, stall)
            finally:
                probe.socket_wait_s += time.perf_counter() - began

        def wrapped_take(cap: Any, msg: Any, batch: Any) -> None:
            if msg.kind == "C":
                probe.received[msg.end_lsn] = time.time()
            take(cap, msg, batch)

        def wrapped_read(cap: Any, after: Any, limit: int) -> Any:
            changes, end = read(cap, after, limit)
            now = time.time()
            first = changes[0] if changes else None
            rec = ReadRec(now, first.commit_ts if first else None,
                          probe.received.get(first.position.lsn) if first else None,
                          len(changes), id(changes[-1]) if changes else None)
            with probe.lock:
                probe.reads.append(rec)
                probe.pending.append(rec)
            return changes, end

        capture.decode = timed_decode
        replication.ReplicationStream.message = timed_message
        capture.PgCapture._take = wrapped_take
        capture.PgCapture.read = wrapped_read
        self.pending: list[ReadRec] = []

        try:
            from turnout.migrate.reader import Reader
        except ImportError:  # a tree from before reader.py (to compare with)
            from turnout.migrate.incremental import _Reader as Reader  # type: ignore
        nxt = Reader.next

        def wrapped_next(thread: Any) -> Any:
            item = nxt(thread)
            probe.apply_thread = threading.get_native_id()
            if item is None or not item.changes:
                return item
            last, now = id(item.changes[-1]), time.time()
            with probe.lock:  # the reads it joined, in order, up to the one of its last change
                probe.current = None
                while probe.pending:
                    rec = probe.pending.pop(0)
                    if rec.changes and probe.current is None:
                        rec.taken, probe.current = now, rec
                    if rec.last == last:
                        break
            return item

        Reader.next = wrapped_next
        self.current: ReadRec | None = None

        apply_ = engine.PostgresEngine.apply

        def wrapped_apply(eng: Any, batch: Any, checkpoint: Any) -> None:
            began = time.time()
            apply_(eng, batch, checkpoint)
            rec = probe.current
            if rec is not None and rec.apply_s is None:
                rec.apply_s = time.time() - began

        engine.PostgresEngine.apply = wrapped_apply

        report = storeprogress.StoreProgress.incremental

        def wrapped_report(prog: Any, position: Any, delay_s: float, changes: int,
                           beat_applied: float | None = None) -> None:
            report(prog, position, delay_s, changes, beat_applied)
            rec = probe.current
            if rec is not None and rec.applied is None:
                rec.applied = time.time()
            if probe.recording:
                probe.delays.append(delay_s)

        storeprogress.StoreProgress.incremental = wrapped_report

        execute = psycopg.Cursor.execute

        def timed_execute(cur: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            if threading.get_native_id() != probe.apply_thread:
                return execute(cur, query, *args, **kwargs)
            began = time.perf_counter()
            try:
                return execute(cur, query, *args, **kwargs)
            finally:
                text = str(query) if not isinstance(query, str) else query
                kind = " ".join(text.split()[:2])[:30]
                probe.statements[kind].append(time.perf_counter() - began)

        psycopg.Cursor.execute = timed_execute  # type: ignore[method-assign]

        copy = psycopg.Cursor.copy

        def timed_copy(cur: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
            if threading.get_native_id() == probe.apply_thread:
                probe.statements["COPY (count only)"].append(0.0)
            return copy(cur, statement, *args, **kwargs)

        psycopg.Cursor.copy = timed_copy  # type: ignore[method-assign]


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process, by thread name (from /proc)."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = defaultdict(float)
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = names.get(int(task.name), "other")
        out[name] += (int(fields[11]) + int(fields[12])) / TICK
    return out


def tree_cpu(pid: int) -> float:
    """CPU seconds of process `pid`, its live children and its reaped ones."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(proc.name) == pid:
            total += sum(int(f) for f in fields[11:15]) / TICK
        elif int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def pgbench(server: PgServer, args: list[str], db: str) -> str:
    cmd = [str(server.bindir / "pgbench"), "-h", server.host, "-p", str(server.port),
           "-U", "postgres", *args, db]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=clean_env(), check=False)
    if proc.returncode != 0:
        sys.exit(f"pgbench {args} failed: {proc.stderr}")
    return proc.stdout + proc.stderr


def spread(values: list[float]) -> str:
    if not values:
        return "n/a"
    return (f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 90) * 1000:.0f} / "
            f"{percentile(values, 99) * 1000:.0f} / {max(values) * 1000:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rate", type=int, default=1000)
    add_dir_option(parser)
    opts = parser.parse_args()
    work = work_dir("pg_delay_stages", opts.dir)
    server = start_postgres(work / "pg", extra_args=["-c", "synchronous_commit=on"])
    stop = threading.Event()
    worker: threading.Thread | None = None
    try:
        src, dst = server.create_database("bench_src"), server.create_database("bench_dst")
        pgbench(server, ["-i", "-q", "-s", str(opts.scale)], "bench_src")
        with psycopg.connect(src, autocommit=True) as conn:
            conn.execute("ALTER TABLE pgbench_history REPLICA IDENTITY FULL")
        os.environ["TURNOUT_HOME"] = str(work / "home")
        from turnout import api
        from turnout.spec import TaskSpec
        from turnout.store import Store
        from turnout.tasks.lifecycle import run_task

        store = Store(work / "home")
        api.create_task(TaskSpec(name=TASK, source=src, dest=dst), store)
        probe = Probe()
        probe.install()
        worker = threading.Thread(target=run_task, args=(TASK, stop, store), name="runner",
                                  daemon=True)
        worker.start()
        deadline = time.monotonic() + 600
        while api.task_status(TASK, store)["phase"] != "incremental" or \
                api.task_status(TASK, store)["delay_s"] != 0:
            if time.monotonic() > deadline or not worker.is_alive():
                sys.exit(f"not caught up: {api.task_status(TASK, store)}")
            time.sleep(0.2)
        time.sleep(1)
        cpu0, srv0, t0 = thread_cpu(), tree_cpu(server.process.pid), time.time()
        before = api.task_status(TASK, store)["changes_applied"]
        probe.recording = True
        rate = ["-R", str(opts.rate)] if opts.rate else []
        out = pgbench(server, ["-c", str(opts.clients), "-j", str(opts.threads),
                               "-T", str(opts.duration), *rate], "bench_src")
        probe.recording = False
        t1 = time.time()
        cpu1, srv1 = thread_cpu(), tree_cpu(server.process.pid)
        changes = api.task_status(TASK, store)["changes_applied"] - before
        load = os.getloadavg()
        tps = next((line for line in out.splitlines() if line.startswith("tps")), "?")
        report(probe, t0, t1, cpu0, cpu1, srv1 - srv0, changes, tps, load, opts)
    finally:
        stop.set()
        if worker is not None:
            worker.join(30)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(probe: Probe, t0: float, t1: float, cpu0: dict[str, float], cpu1: dict[str, float],
           server_cpu: float, changes: int, tps: str, load: tuple[float, ...],
           opts: argparse.Namespace) -> None:
    recs = [r for r in probe.reads if t0 <= r.returned <= t1 and r.changes
            and r.oldest_commit and r.oldest_received and r.taken and r.applied]
    stream = [r.oldest_received - r.oldest_commit for r in recs]  # type: ignore[operator]
    read = [r.returned - r.oldest_received for r in recs]  # type: ignore[operator]
    queue = [r.taken - r.returned for r in recs]  # type: ignore[operator]
    apply_ = [r.applied - r.taken for r in recs]  # type: ignore[operator]
    total = [r.applied - r.oldest_commit for r in recs]  # type: ignore[operator]
    sizes = [float(r.changes) for r in recs]
    rows = [
        ("stream: source commit -> worker received", spread(stream)),
        ("read: received -> read returned", spread(read)),
        ("queue: read returned -> apply loop took it", spread(queue)),
        ("apply: taken -> applied, committed, reported", spread(apply_)),
        ("total: oldest change's commit -> reported", spread(total)),
        ("delay_s reported (this run's samples)", spread(probe.delays)),
    ]
    print_table(["stage of a batch (ms)", "p50 / p90 / p99 / max"], rows)
    print(f"{len(recs)} batches, changes per batch p50 {percentile(sizes, 50):.0f} max "
          f"{max(sizes, default=0):.0f}")
    stmt_rows = []
    for kind, times in sorted(probe.statements.items(), key=lambda kv: -sum(kv[1])):
        stmt_rows.append((kind, str(len(times)), f"{sum(times):.2f}",
                          f"{len(times) / max(len(recs), 1):.1f}"))
    print_table(["apply statement", "count", "seconds", "per batch"], stmt_rows)
    per_k = 1000 / max(changes, 1)
    cpu = {name: cpu1.get(name, 0) - cpu0.get(name, 0) for name in cpu1}
    cpu_rows = [(name, f"{sec:.2f}", f"{sec * per_k:.3f}") for name, sec in
                sorted(cpu.items(), key=lambda kv: -kv[1]) if sec > 0]
    cpu_rows.append(("worker (all threads)", f"{sum(cpu.values()):.2f}",
                     f"{sum(cpu.values()) * per_k:.3f}"))
    cpu_rows.append(("server (source + destination)", f"{server_cpu:.2f}",
                     f"{server_cpu * per_k:.3f}"))
    print_table(["CPU", "seconds", "per 1,000 changes"], cpu_rows)
    print(f"decode {probe.decode_s:.2f} s, socket reads/waits {probe.socket_wait_s:.2f} s "
          f"(whole run); {changes:,} changes in {t1 - t0:.1f} s; pgbench {tps}; "
          f"-R {opts.rate} -c {opts.clients} -j {opts.threads} -T {opts.duration}; "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")


if __name__ == "__main__":
    main()
