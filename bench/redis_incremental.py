"""Benchmark: how far behind turnout's Redis follower runs under `redis-benchmark` write load.

Why this exists: after the full copy turnout applies the source's replication stream in
MULTI/EXEC batches, each with its checkpoint. Users need the delay that costs under a real
write load, so the issue asks for the live lag p99 under `redis-benchmark` at half its solo
rate. The script starts two private throwaway servers (never the machine's own service):

1. `redis-benchmark` alone on the source, full speed: its solo rate (write commands/s);
2. turnout (full + incremental) caught up, then `redis-benchmark` at half that rate for
   `--duration` seconds, while a thread samples every 20 ms the source's replication offset
   (`INFO replication`) and the offset of turnout's checkpoint on the destination. A sample's
   delay is the time from the source reaching an offset to the checkpoint reaching it: the
   lag of the stream's bytes end to end (read, apply, commit), measured from outside turnout.
   turnout's own figure (now minus the newest heartbeat applied) is sampled beside it.
3. the task stopped, turnout's own keys removed, and `DEBUG DIGEST` of both servers compared.

`redis-benchmark` has no rate option, so half the rate is a duty cycle: every second one run
of `rate / 2` commands, which takes about half the second at full speed, then a pause. That
is burstier than a steady half rate, so the delay figures are on the pessimistic side.
The box is noisy (2 cores shared by both servers, the load and turnout): figures, no asserts;
it exits non-zero only when the copy differs or turnout fails.

    python bench/redis_incremental.py [--keys 100000] [--duration 20] [--clients 20]
        [--tests set,incr,lpush,sadd,hset,zadd] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from typing import Any

import redis
from _common import add_dir_option, percentile, print_table, spread, work_dir

from turnout.testing.redis import RedisServer, start_redis

TASK = "inc"
CHECKPOINT = f"_turnout:checkpoint:{TASK}"
HEARTBEAT = f"_turnout:heartbeat:{TASK}"


def benchmark(server: RedisServer, opts: argparse.Namespace, requests: int) -> float:
    """Run redis-benchmark for `requests` commands of each test; its wall-clock seconds."""
    started = time.perf_counter()
    subprocess.run([opts.binary, "-h", server.host, "-p", str(server.port), "-q",
                    "-c", str(opts.clients), "-r", str(opts.keys), "-n", str(requests),
                    "-t", opts.tests], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def solo_rate(server: RedisServer, opts: argparse.Namespace) -> float:
    """Write commands per second redis-benchmark reaches alone (after a warm-up run)."""
    tests = len(opts.tests.split(","))
    benchmark(server, opts, 20_000)
    requests = 100_000
    return requests * tests / benchmark(server, opts, requests)


def paced_load(server: RedisServer, opts: argparse.Namespace, rate: float) -> float:
    """`rate` write commands/s for opts.duration seconds, one burst a second; the rate got."""
    tests = len(opts.tests.split(","))
    per_burst = max(1, int(rate / tests))
    started, sent = time.perf_counter(), 0
    for second in range(opts.duration):
        benchmark(server, opts, per_burst)
        sent += per_burst * tests
        pause = started + second + 1 - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    return sent / (time.perf_counter() - started)


class Offsets:
    """Samples the source's replication offset and turnout's checkpoint offset in a thread."""

    def __init__(self, source: RedisServer, dest: RedisServer, status: Any) -> None:
        self.src, self.dst = redis.Redis(port=source.port), redis.Redis(port=dest.port)
        self.status = status
        self.source: list[tuple[float, int]] = []
        self.applied: list[tuple[float, int]] = []
        self.beats: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last_status = 0.0
        while not self._stop.is_set():
            now = time.time()
            self.source.append((now, int(self.src.info("replication")["master_repl_offset"])))
            self.applied.append((time.time(), applied_offset(self.dst)))
            if now - last_status >= 0.2:
                beat = self.status().get("heartbeat_delay_s")
                if beat is not None:
                    self.beats.append(float(beat))
                last_status = now
            self._stop.wait(0.02)

    def __enter__(self) -> Offsets:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def delays(self, until: float) -> list[float]:
        """For each source sample before `until`: seconds until the checkpoint reached its
        offset (samples whose offset was never reached are left out and counted apart)."""
        out, j = [], 0
        for t, offset in self.source:
            if t > until:
                break
            while j < len(self.applied) and self.applied[j][1] < offset:
                j += 1
            if j == len(self.applied):
                break
            out.append(max(0.0, self.applied[j][0] - t))
        return out


def applied_offset(client: redis.Redis) -> int:
    raw = client.get(CHECKPOINT)
    state = json.loads(raw) if raw else {}
    return int(state.get("offset") or -1)


def wait_caught_up(source: RedisServer, dest: RedisServer, status: Any, timeout: float) -> None:
    src, dst = redis.Redis(port=source.port), redis.Redis(port=dest.port)
    deadline = time.monotonic() + timeout
    while True:
        st = status()
        if st["state"] == "Failed":
            sys.exit(f"turnout failed: {st['error']}")
        target = int(src.info("replication")["master_repl_offset"])
        if applied_offset(dst) >= target:
            return
        if time.monotonic() > deadline:
            sys.exit(f"turnout did not catch up within {timeout:.0f} s: status {st}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--tests", default="set,incr,lpush,sadd,hset,zadd")
    add_dir_option(parser)
    opts = parser.parse_args()
    opts.binary = shutil.which("redis-benchmark") or sys.exit(
        "redis-benchmark is not installed: apt-get install -y redis-tools")
    base = work_dir("redis-inc", opts.dir)
    debug = ["--enable-debug-command", "yes"]
    source = start_redis(base / "source", debug, backlog="256mb")
    dest = start_redis(base / "dest", debug)
    os.environ["TURNOUT_HOME"] = str(base / "home")
    from turnout import api
    from turnout.spec import TaskSpec, parse_types
    from turnout.store import Store

    store = Store(base / "home")

    def status() -> dict[str, Any]:
        found: dict[str, Any] = api.task_status(TASK, store)
        return found

    try:
        redis.Redis(port=source.port).execute_command("DEBUG", "POPULATE", opts.keys, "key", 100)
        solo = solo_rate(source, opts)
        print(f"redis-benchmark alone: {solo:,.0f} write commands/s "
              f"({opts.tests}, {opts.clients} clients)", flush=True)
        api.create_task(TaskSpec(name=TASK, source=source.url(), dest=dest.url(),
                                 types=parse_types("schema,full,incremental")), store)
        api.start_task(TASK, store)
        wait_caught_up(source, dest, status, 600)
        with Offsets(source, dest, status) as offsets:
            got = paced_load(source, opts, solo / 2)
            load_end = time.time()
            caught = time.perf_counter()
            wait_caught_up(source, dest, status, 600)
            drain = time.perf_counter() - caught
        delays = offsets.delays(load_end)
        applied = status()["changes_applied"]
        api.stop_task(TASK, store)
        redis.Redis(port=source.port).delete(HEARTBEAT)
        redis.Redis(port=dest.port).delete(CHECKPOINT)
        same = (redis.Redis(port=source.port).execute_command("DEBUG", "DIGEST") ==
                redis.Redis(port=dest.port).execute_command("DEBUG", "DIGEST"))
        print(f"Redis → Redis, following under redis-benchmark at half its solo rate "
              f"for {opts.duration} s ({opts.keys:,} keys before)")
        print_table(["figure", "value"], [
            ["redis-benchmark solo rate (write commands/s)", f"{solo:,.0f}"],
            ["rate under turnout (target: half)", f"{got:,.0f}"],
            ["stream delay p50 / p99 / max (s)", spread(delays, 3)],
            ["stream delay p99 (s)", f"{percentile(delays, 99):.3f}" if delays else "-"],
            ["turnout's heartbeat delay p50 / p99 / max (s)", spread(offsets.beats, 2)],
            ["catch-up after the load ended (s)", f"{drain:.2f}"],
            ["commands applied (task total)", f"{applied:,}"],
            ["DEBUG DIGEST equal after stop", "yes" if same else "NO"],
        ])
        if not same:
            sys.exit("the destination differs from the source (DEBUG DIGEST)")
    finally:
        try:
            api.stop_task(TASK, store)
        except Exception:  # already stopped, or never started
            pass
        source.stop()
        dest.stop()


if __name__ == "__main__":
    main()
