"""Redis → Redis through the replication protocol, on throwaway redis-server processes.

A writer thread changes every type (strings, hashes, lists, sets, sorted sets, streams,
keys with TTLs) in two databases, with MULTI blocks and a Lua script, while the
migration runs in a process of its own; the test kills that process with kill -9 once
and starts it again, and at the end every key is equal on both sides: type, value, and
TTL within a tolerance.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from turnout.testing.servers import RedisServer, start_redis

ROOT = Path(__file__).resolve().parents[2]
TTL_TOLERANCE_MS = 3000
LUA = "redis.call('INCR', KEYS[1]); redis.call('HSET', KEYS[2], 'last', ARGV[1]); return 1"


@pytest.fixture
def pair(tmp_path: Path):
    source = start_redis(tmp_path / "source")
    dest = start_redis(tmp_path / "dest")
    yield source, dest
    source.stop()
    dest.stop()


def worker(source: RedisServer, dest: RedisServer, owner: str,
           *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.integration.redis_worker",
                             source.url(), dest.url(), owner, *extra], cwd=ROOT,
                            stderr=subprocess.PIPE)


def seed(server: RedisServer, keys: int) -> None:
    """Every type in databases 0 and 1, some keys with TTLs."""
    for db in (0, 1):
        r = redis.Redis(port=server.port, db=db)
        pipe = r.pipeline(transaction=False)
        for i in range(keys):
            pipe.set(f"s:{i}", f"value {i}" * (i % 5 + 1))
            pipe.hset(f"h:{i % 50}", f"f{i}", i)
            pipe.rpush(f"l:{i % 40}", i)
            pipe.sadd(f"set:{i % 30}", i)
            pipe.zadd(f"z:{i % 20}", {f"m{i}": i / 7})
            if i % 10 == 0:
                pipe.set(f"t:{i}", "expiring", px=600_000 + i)
                pipe.xadd(f"x:{i % 5}", {"i": i})
        pipe.execute()


class Writer(threading.Thread):
    """Random writes of every kind until halted, in both databases."""

    def __init__(self, server: RedisServer) -> None:
        super().__init__(daemon=True)
        self.clients = [redis.Redis(port=server.port, db=db) for db in (0, 1)]
        self.halt = threading.Event()
        self.writes = 0
        self.rng = random.Random(22)

    def run(self) -> None:
        script = self.clients[0].register_script(LUA)
        while not self.halt.is_set():
            r = self.rng.choice(self.clients)
            i = self.rng.randint(0, 999)
            choice = self.rng.random()
            if choice < 0.2:
                r.set(f"s:{i}", f"w{self.writes}")
            elif choice < 0.3:
                r.hset(f"h:{i % 50}", f"f{i}", self.writes)
            elif choice < 0.4:
                r.lpush(f"l:{i % 40}", self.writes)
                r.ltrim(f"l:{i % 40}", 0, 60)
            elif choice < 0.5:
                r.srem(f"set:{i % 30}", i) if i % 2 else r.sadd(f"set:{i % 30}", i)
            elif choice < 0.6:
                r.zincrby(f"z:{i % 20}", 1.25, f"m{i}")
            elif choice < 0.65:
                r.xadd(f"x:{i % 5}", {"w": self.writes})
            elif choice < 0.75:
                r.set(f"t:{i}", "ttl", ex=300 + i)
            elif choice < 0.77:
                r.pexpire(f"s:{i}", 60_000 + i)
            elif choice < 0.8:  # gone before the end: the source's DEL of it is replicated
                r.set(f"e:{self.writes}", "short", px=300)
            elif choice < 0.85:
                r.delete(f"s:{i}")
            elif choice < 0.9:
                with r.pipeline(transaction=True) as pipe:  # a MULTI block
                    pipe.rename(f"s:{i}", f"moved:{i}") if r.exists(f"s:{i}") else pipe.ping()
                    pipe.incr("counter")
                    pipe.hset("h:0", "multi", self.writes)
                    pipe.execute()
            else:
                script(keys=["counter", "h:1"], args=[self.writes])
            self.writes += 1
            time.sleep(0.0005)


def value(r: redis.Redis, key: bytes) -> tuple[str, object]:
    kind = r.type(key).decode()
    read = {
        "string": lambda: r.get(key),
        "hash": lambda: r.hgetall(key),
        "list": lambda: r.lrange(key, 0, -1),
        "set": lambda: r.smembers(key),
        "zset": lambda: r.zrange(key, 0, -1, withscores=True),
        "stream": lambda: r.xrange(key),
        "none": lambda: None,
    }[kind]
    return kind, read()


def assert_same(source: RedisServer, dest: RedisServer) -> int:
    """Every key of databases 0 and 1 equal on both sides; how many keys were compared."""
    compared = 0
    for db in (0, 1):
        a = redis.Redis(port=source.port, db=db)
        b = redis.Redis(port=dest.port, db=db)
        left = {k for k in a.scan_iter(count=1000) if not k.startswith(b"_turnout:")}
        right = {k for k in b.scan_iter(count=1000) if not k.startswith(b"_turnout:")}
        expiring = {k for k in left | right  # gone, or about to be, on both sides
                    if all(t == -2 or 0 <= t < TTL_TOLERANCE_MS for t in (a.pttl(k), b.pttl(k)))}
        assert left - expiring == right - expiring, (db, sorted(left ^ right)[:10])
        for key in left - expiring:
            assert value(a, key) == value(b, key), (db, key)
            ttl_a, ttl_b = a.pttl(key), b.pttl(key)
            assert (ttl_a < 0) == (ttl_b < 0) and abs(ttl_a - ttl_b) <= TTL_TOLERANCE_MS, key
            compared += 1
    return compared


def checkpoint(dest: RedisServer, owner: str) -> dict | None:
    raw = redis.Redis(port=dest.port).get(f"_turnout:checkpoint:{owner}")
    return json.loads(raw) if raw else None


def wait_caught_up(source: RedisServer, dest: RedisServer, owner: str,
                   timeout: float = 60) -> None:
    """Until the checkpoint reaches the source's replication offset."""
    deadline = time.monotonic() + timeout
    src = redis.Redis(port=source.port)
    while time.monotonic() < deadline:
        target = src.info("replication")["master_repl_offset"]
        state = checkpoint(dest, owner)
        if state and state.get("offset") == target:
            return
        time.sleep(0.1)
    raise AssertionError(f"not caught up: {checkpoint(dest, owner)} vs {target}")


def wait_streaming(dest: RedisServer, owner: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = checkpoint(dest, owner)
        if state and state.get("phase") == "stream":
            return
        time.sleep(0.05)
    raise AssertionError("the full copy did not finish")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()


def test_full_and_stream_under_writes_with_kill(pair) -> None:
    """Every type, several databases, MULTI and Lua under a running writer, a 50 MB key in
    the RDB and another in the stream; kill -9 of the worker once; every key equal."""
    source, dest = pair
    seed(source, 3000)
    big = redis.Redis(port=source.port)
    big.set("big:in-rdb", os.urandom(50 * 1024 * 1024))
    writer = Writer(source)
    writer.start()
    first = worker(source, dest, "t1")
    try:
        wait_streaming(dest, "t1")
        big.set("big:in-stream", os.urandom(50 * 1024 * 1024))
        time.sleep(1.5)
        os.kill(first.pid, signal.SIGKILL)  # kill -9 while the stream is applied
        first.wait(10)
        time.sleep(0.5)
        second = worker(source, dest, "t1")
        time.sleep(2)
        writer.halt.set()
        writer.join()
        wait_caught_up(source, dest, "t1")
        stop(second)
    finally:
        writer.halt.set()
        first.kill()
    assert writer.writes > 200
    assert assert_same(source, dest) > 500


def test_resume_after_backlog_overrun_is_refused(pair) -> None:
    source, dest = pair
    redis.Redis(port=source.port).config_set("repl-backlog-size", 16384)
    seed(source, 100)
    proc = worker(source, dest, "t2")
    wait_streaming(dest, "t2")
    stop(proc)
    r = redis.Redis(port=source.port)
    for i in range(2000):  # far past the 16 kB backlog
        r.set(f"over:{i}", "x" * 100)
    proc = worker(source, dest, "t2")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "--resnapshot" in err.decode() and len(err.decode().strip().splitlines()) == 1
    proc = worker(source, dest, "t2", "--resnapshot")
    wait_caught_up(source, dest, "t2")
    stop(proc)
    assert assert_same(source, dest) > 100


def following(status: dict) -> bool:
    return bool(status["phase"] == "incremental" and status["pid"])


def test_a_task_runs_the_keyspace_path_and_resumes_after_kill(pair, store) -> None:
    """Through the task API: a worker process of its own, killed with -9 once while the
    stream flows; the task reports its delay from the heartbeat key and ends equal."""
    from tests.integration.bank import kill_worker
    from turnout import api
    from turnout.spec import TaskSpec

    source, dest = pair
    seed(source, 2000)
    api.create_task(TaskSpec("kv", source.url(), dest.url()), store)
    writer = Writer(source)
    writer.start()
    try:
        api.start_task("kv", store)
        api.wait_for("kv", following, 60, store)
        time.sleep(1.5)
        kill_worker(store, "kv")
        time.sleep(0.3)
        api.start_task("kv", store)
        api.wait_for("kv", following, 60, store)
        time.sleep(1.5)
        writer.halt.set()
        writer.join()
        status = api.wait_caught_up("kv", 60, store)
        assert status["delay_s"] == 0 and status["position"], status
        api.stop_task("kv", store)
    finally:
        writer.halt.set()
        if api.task_status("kv", store)["pid"]:
            kill_worker(store, "kv")
    assert assert_same(source, dest) > 500
    report = api.verify_task("kv", store)
    assert report["consistent"], report
    assert {t["source"] for t in report["tables"]} == {"db0", "db1"}
    r1 = redis.Redis(port=dest.port, db=1)
    r1.hset("h:3", "f3", "changed")  # the destination goes its own way
    r1.delete("set:4")
    r1.set("stray", "x")
    r1.persist("t:10")
    db1 = next(t for t in api.verify_task("kv", store)["tables"] if t["source"] == "db1")
    assert (db1["missing"], db1["extra"]) == ([["set:4"]], [["stray"]]), db1
    assert sorted(zip(db1["different"], db1["different_columns"], strict=True)) == [
        (["h:3"], ["value"]), (["t:10"], ["ttl"])], db1
    status = api.task_status("kv", store)
    assert status["tables"][0]["rows_copied"] > 0 or status["changes_applied"] > 0
    assert api.delete_task("kv", store) is not None


def test_a_task_refuses_to_skip_an_overrun_backlog_and_resnapshot_recovers(pair, store) -> None:
    """The task fails with the fix when the source's backlog lost its position, and
    `start --resnapshot` copies afresh; a 50 MB key crosses both in the RDB and the stream."""
    from turnout import api
    from turnout.spec import TaskSpec

    source, dest = pair
    r = redis.Redis(port=source.port)
    r.config_set("repl-backlog-size", 16384)
    seed(source, 100)
    r.set("big:rdb", os.urandom(25 * 1024 * 1024) * 2)  # 50 MB, in the full copy
    api.create_task(TaskSpec("kv2", source.url(), dest.url()), store)
    api.start_task("kv2", store)
    api.wait_for("kv2", following, 120, store)
    r.set("big:stream", b"s" * (50 * 1024 * 1024))  # 50 MB, through the command stream
    api.wait_caught_up("kv2", 120, store)
    api.stop_task("kv2", store)
    for i in range(2000):  # far past the 16 kB backlog while the task is stopped
        r.set(f"over:{i}", "x" * 100)
    api.start_task("kv2", store)
    failed = api.wait_for("kv2", lambda s: s["state"] == "Failed", 60, store)
    assert "--resnapshot" in failed["error"], failed
    api.start_task("kv2", store, resnapshot=True)
    api.wait_for("kv2", following, 120, store)
    api.wait_caught_up("kv2", 120, store)
    api.stop_task("kv2", store)
    assert assert_same(source, dest) > 100
    api.delete_task("kv2", store)


def test_key_globs_select_keys_and_a_command_across_them_is_refused(pair, store) -> None:
    """--tables and --exclude are key globs: only those keys are copied and followed, verify
    compares only them, and a RENAME from a selected key to another stops the task."""
    from turnout import api
    from turnout.spec import TaskSpec

    source, dest = pair
    seed(source, 200)
    api.create_task(TaskSpec("kv3", source.url(), dest.url(), tables=("s:*", "z:*"),
                             exclude=("z:1",)), store)
    api.start_task("kv3", store)
    api.wait_for("kv3", following, 60, store)
    r = redis.Redis(port=source.port)
    r.set("s:new", "1")
    r.zadd("z:1", {"left": 1})
    r.zadd("z:2", {"kept": 2})
    r.rpush("l:0", "not copied")
    r.zunionstore("z:3", ["z:2", "z:4"])  # keys found by COMMAND GETKEYS, all selected
    api.wait_caught_up("kv3", 60, store)
    d = redis.Redis(port=dest.port)
    assert d.get("s:new") == b"1" and d.zscore("z:2", "kept") == 2 and d.exists("z:3")
    assert not d.exists("z:1") and not d.keys("l:*") and not d.keys("h:*")
    assert api.verify_task("kv3", store)["consistent"]
    r.rename("s:new", "other")
    failed = api.wait_for("kv3", lambda s: s["state"] == "Failed", 60, store)
    assert "inside and outside" in failed["error"] and "--resnapshot" in failed["error"]
    api.delete_task("kv3", store)
