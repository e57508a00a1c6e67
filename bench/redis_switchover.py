"""Benchmark: the write downtime of a Redis → Redis switchover and rollback under writers.

Why this exists: bench/switchover.py measures the SQL pairs; a Redis task takes other
steps (an ACL fence, replication-offset markers, per-key verify). This script starts two
private redis-server processes (turnout.testing.servers) with ACL users `turnout` and
`app`, loads KEYS keys, runs a task until it follows the stream, and starts writers that
behave like an application: a new connection per write, a refused write (NOPERM) retried
50 ms later, the side read from a file that `--on-switch` rewrites. Each run is a
switchover then a rollback with default options; it prints turnout's
`write_downtime_s` of both, and how long the verify inside them took (from the task's
events). The box is noisy: every run is printed with the median; nothing is asserted.

    python bench/redis_switchover.py [--keys 100000] [--repeat 3] [--writers 2] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from pathlib import Path

import _common as common
import redis

from turnout import api
from turnout.spec import TaskSpec
from turnout.store import Store
from turnout.testing.servers import RedisServer, start_redis

PASSWORD = "bench"


def users(server: RedisServer) -> None:
    r = redis.Redis(port=server.port)
    r.execute_command("ACL", "SETUSER", "turnout", "on", f">{PASSWORD}", "~*", "&*", "+@all")
    r.execute_command("ACL", "SETUSER", "app", "on", f">{PASSWORD}", "~*", "&*", "+@all",
                      "-acl")
    r.execute_command("ACL", "SETUSER", "default", "off")
    r.close()


def writer(servers: dict[str, RedisServer], side_file: Path, halt: threading.Event,
           seed: int) -> None:
    rng = random.Random(seed)
    while not halt.is_set():
        server = servers[side_file.read_text().strip()]
        r = redis.Redis(port=server.port, username="app", password=PASSWORD)
        try:
            r.incr(f"counter:{rng.randint(0, 99)}")
        except redis.exceptions.NoPermissionError:
            time.sleep(0.05)
        finally:
            r.close()


def verify_seconds(store: Store, name: str, since: int) -> float:
    """From the marker the reverse task (or forward task) starts at to the verify's end."""
    events = store.events(name, after_id=since, limit=1000)
    start = next((e.ts for e in events if "stopped" in e.message), None)
    done = next((e.ts for e in events if e.message.startswith("verified:")), None)
    return round(done - start, 2) if start and done else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=common.OUT / "redis_switchover")
    args = parser.parse_args()
    os.environ["TURNOUT_HOME"] = str(args.dir / "home")  # the task's worker reads it too
    source = start_redis(args.dir / "source")
    dest = start_redis(args.dir / "dest")
    store = Store()
    halt = threading.Event()
    try:
        for server in (source, dest):
            users(server)
        app = redis.Redis(port=source.port, username="app", password=PASSWORD)
        pipe = app.pipeline(transaction=False)
        for i in range(args.keys):
            pipe.set(f"k:{i}", i)
        pipe.execute()
        urls = [f"redis://turnout:{PASSWORD}@{s.host}:{s.port}" for s in (source, dest)]
        api.create_task(TaskSpec("bench", *urls), store)
        api.start_task("bench", store)
        api.wait_for("bench", lambda s: s["phase"] == "incremental", 600, store)
        side = args.dir / "side"
        side.write_text("source")
        servers = {"source": source, "dest": dest}
        threads = [threading.Thread(target=writer, args=(servers, side, halt, n), daemon=True)
                   for n in range(args.writers)]
        for thread in threads:
            thread.start()
        rows = []
        for run in range(1, args.repeat + 1):
            time.sleep(2)
            mark = store.events("bench", limit=100000)[-1].id
            over = api.switchover("bench", store, on_switch=f"echo dest > {side}")
            verify_over = verify_seconds(store, "bench", mark)
            time.sleep(2)
            mark = store.events("bench", limit=100000)[-1].id
            back = api.rollback("bench", store, on_switch=f"echo source > {side}")
            verify_back = verify_seconds(store, "bench", mark)
            rows.append((run, over["write_downtime_s"], verify_over, back["write_downtime_s"],
                         verify_back))
            print(f"run {run}: switchover {over['write_downtime_s']} s (verify {verify_over} s)"
                  f", rollback {back['write_downtime_s']} s (verify {verify_back} s)",
                  flush=True)
        print(f"median over {args.repeat} runs, {args.keys} keys: switchover "
              f"{common.median([r[1] for r in rows]):.2f} s, rollback "
              f"{common.median([r[3] for r in rows]):.2f} s")
    finally:
        halt.set()
        try:
            api.stop_task("bench", store)
            api.delete_task("bench", store)
        except Exception:  # noqa: BLE001 - a run that failed early has less to clean
            pass
        source.stop()
        dest.stop()


if __name__ == "__main__":
    main()
