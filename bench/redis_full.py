"""Benchmark: turnout's full copy of a Redis keyspace against Redis's own replication and
against a SCAN + DUMP/RESTORE pipeline, in one run.

Why this exists: REPLICAOF is the physical floor (the server streams its RDB to a server
that loads it natively); a SCAN + DUMP/RESTORE client (what RIOT does) is the common
alternative. turnout reads the same RDB as a replica would and RESTOREs each key, so its
time should sit between the two. The source is filled with DEBUG POPULATE (string keys of
`--size` bytes). Contenders alternate their order each round; medians and ratios print.
It never asserts on timing; it fails only when a copy is wrong (key counts differ). The
CPU seconds of the client (this process: turnout or the SCAN loop; REPLICAOF has none)
and of the destination server show where the time goes on a busy box, where the wall
clock mostly shows how long each process waited for a core.

    python bench/redis_full.py [--keys N] [--size BYTES] [--repeat R] [--dir DIR]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import redis
from _common import (
    Timer,
    add_dir_option,
    alternating,
    contender_rows,
    median,
    print_table,
    turnout_copy,
    work_dir,
)

from turnout.store import Store
from turnout.testing.servers import RedisServer, start_redis


def replicaof(source: RedisServer, dest: RedisServer) -> None:
    """Redis's own full sync: until the replica's link is up and its load is over."""
    r = redis.Redis(port=dest.port)
    r.replicaof(source.host, source.port)
    while True:
        info = r.info("replication")
        if info.get("master_link_status") == "up" and not info.get("master_sync_in_progress"):
            break
        time.sleep(0.01)
    r.replicaof("NO", "ONE")


def dump_restore(source: RedisServer, dest: RedisServer) -> None:
    """SCAN the source, DUMP + PTTL each batch pipelined, RESTORE it pipelined."""
    a, b = redis.Redis(port=source.port), redis.Redis(port=dest.port)
    cursor = 0
    while True:
        cursor, keys = a.scan(cursor, count=1000)
        if keys:
            read = a.pipeline(transaction=False)
            for key in keys:
                read.dump(key)
                read.pttl(key)
            got = read.execute()
            write = b.pipeline(transaction=False)
            for i, key in enumerate(keys):
                payload, ttl = got[2 * i], got[2 * i + 1]
                if payload is not None:
                    write.restore(key, max(ttl, 0), payload, replace=True)
            write.execute()
        if cursor == 0:
            return


def server_cpu(server: RedisServer) -> float:
    """CPU seconds the server has used (user + system, its threads and children)."""
    info = redis.Redis(port=server.port).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    add_dir_option(parser)
    args = parser.parse_args()
    base = work_dir("redis-full", args.dir)
    debug = ["--enable-debug-command", "yes"]
    source = start_redis(base / "source", debug)
    dest = start_redis(base / "dest")
    store = Store(base / "home")
    try:
        redis.Redis(port=source.port).execute_command("DEBUG", "POPULATE", args.keys, "key",
                                                      args.size)
        runs: dict[str, Callable[[int], None]] = {
            "REPLICAOF (floor)": lambda n: replicaof(source, dest),
            "turnout": lambda n: turnout_copy(store, f"r{n}", source.url(), dest.url())
            and None,
            "SCAN+DUMP/RESTORE": lambda n: dump_restore(source, dest),
        }
        times: dict[str, list[float]] = {who: [] for who in runs}
        cpu: dict[str, list[float]] = {who: [] for who in runs}
        ours: dict[str, list[float]] = {who: [] for who in runs}
        for round_no in range(args.repeat):
            for who in alternating(list(runs), round_no):
                redis.Redis(port=dest.port).flushall()
                before, here = server_cpu(dest), time.process_time()
                with Timer() as timer:
                    runs[who](round_no)
                times[who].append(timer.seconds)
                ours[who].append(time.process_time() - here)
                cpu[who].append(server_cpu(dest) - before)
                got = redis.Redis(port=dest.port).dbsize()
                if who == "turnout":
                    got -= 1  # the task's checkpoint key
                if got != args.keys:
                    raise SystemExit(f"{who} copied {got} keys of {args.keys}")
        print(f"full copy of {args.keys:,} string keys of {args.size} bytes, Redis → Redis")
        rows = contender_rows(times, args.keys, "REPLICAOF (floor)")
        for row, who in zip(rows, runs, strict=True):
            row[4:4] = [f"{median(ours[who]):.2f}", f"{median(cpu[who]):.2f}"]
        print_table(["contender", "median s", "keys/s", "floor/this", "client CPU s",
                     "dest CPU s", "runs (s)"], rows)
    finally:
        source.stop()
        dest.stop()


if __name__ == "__main__":
    main()
