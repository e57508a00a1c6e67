"""`turnout verify --repair` between two throwaway redis-server processes: every kind of
difference verify reports (a key missing, an extra one, another value, another type,
another expiry, a key that is not UTF-8) is put right on the side named, from the other
side's DUMP with its absolute expiry, and verify then finds both sides equal. Also: a
destination that differs in a way the stream trips over (a key of another type) stops
the task for good, not just once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from turnout import api
from turnout.testing.servers import start_redis


@pytest.fixture
def pair(tmp_path: Path):
    source = start_redis(tmp_path / "source")
    dest = start_redis(tmp_path / "dest")
    yield source, dest
    source.stop()
    dest.stop()


def differ(a: redis.Redis, b: redis.Redis) -> None:
    for r in (a, b):
        r.set("same", "1")
        r.hset("h", mapping={"f": "v"})
        r.execute_command("SELECT", 2)
        r.set("other db", "x")
        r.execute_command("SELECT", 0)
    a.set("only here", "a", px=900_000)
    a.rpush(b"\xff\xfe binary", "x", "y")
    b.set("extra", "b")
    a.set("value", "old")
    b.set("value", "new")
    a.sadd("kind", "m")
    b.set("kind", "m")
    a.set("ttl", "t", px=800_000)
    b.set("ttl", "t")


@pytest.mark.parametrize("target", ["dest", "source"])
def test_repair_makes_the_side_named_equal(pair, tmp_path: Path, target: str) -> None:
    source, dest = pair
    a, b = redis.Redis(port=source.port), redis.Redis(port=dest.port)
    differ(a, b)
    plan = tmp_path / "plan.txt"
    report = api.verify_urls(source.url(), dest.url(), repair=target,
                             repair_file=str(plan))
    db0 = next(t for t in report["tables"] if t["source"] == "db0")
    assert not report["consistent"] and len(db0["missing"]) == 2 and db0["extra"] == [["extra"]]
    assert sorted(k for (k,) in db0["different"]) == ["kind", "ttl", "value"]
    assert report["repair"] == {"target": target, "file": str(plan), "rows": 6, "applied": 0}
    assert ("DEL 'extra'" if target == "dest" else "DEL 'only here'") in plan.read_text()
    report = api.verify_urls(source.url(), dest.url(), repair=target,
                             repair_file=str(plan), apply=True)
    assert report["repair"]["applied"] == 6
    assert api.verify_urls(source.url(), dest.url())["consistent"]
    fixed, reference = (b, a) if target == "dest" else (a, b)
    assert fixed.type("kind") == reference.type("kind")
    assert fixed.pexpiretime("ttl") == reference.pexpiretime("ttl")
    assert fixed.exists(b"\xff\xfe binary") == reference.exists(b"\xff\xfe binary")


def test_one_value_in_two_encodings_is_equal(pair) -> None:
    """DUMP bytes differ (hashtable here, intset there), the value does not: verify reads
    the value when the DUMPs differ, and finds nothing to report."""
    source, dest = pair
    a, b = redis.Redis(port=source.port), redis.Redis(port=dest.port)
    a.sadd("h", *range(1000))
    a.srem("h", *range(2, 1000))  # stays a hashtable
    b.sadd("h", 1, 0)
    assert a.object("encoding", "h") != b.object("encoding", "h")
    assert a.dump("h") != b.dump("h")
    assert api.verify_urls(source.url(), dest.url())["consistent"]
    b.sadd("h", 2)
    report = api.verify_urls(source.url(), dest.url())
    assert report["tables"][0]["different"] == [["h"]]


def test_a_command_the_destination_refuses_stops_the_task_for_good(pair) -> None:
    """A replicated command refused inside the batch's MULTI/EXEC (a key of another type
    on the destination) leaves the rest of the batch and its checkpoint applied: the task
    stops, and a restart refuses to go on past the lost command, naming --resnapshot."""
    from tests.integration.test_redis import stop, wait_streaming, worker

    source, dest = pair
    a, b = redis.Redis(port=source.port), redis.Redis(port=dest.port)
    a.set("a", 1)
    proc = worker(source, dest, "clash")
    wait_streaming(dest, "clash")
    b.hset("clash", "f", "v")  # written behind the task's back
    with a.pipeline(transaction=True) as pipe:
        pipe.set("x", 1).lpush("clash", "v").set("y", 2).execute()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "WRONGTYPE" in err.decode(), err
    proc = worker(source, dest, "clash")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--resnapshot" in err.decode()
    assert "LPUSH clash" in err.decode() and len(err.decode().strip().splitlines()) == 1
    b.delete("clash")
    proc = worker(source, dest, "clash", "--resnapshot")
    try:
        deadline = time.monotonic() + 60
        while b.type("clash") != b"list" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert b.lrange("clash", 0, -1) == [b"v"]
    finally:
        stop(proc)
