"""Keys too big for one RESTORE, rebuilt in parts, on real throwaway redis-server processes.

The threshold is lowered to a few kilobytes so that modest keys take the big-key path:
every encoding the server picks (listpack, intset, quicklist, hashtable, skiplist, plain
and LZF-compressed strings) is decoded from the server's own DUMP and compared with what
the server answers to reads, then a full copy rebuilds each big key under a temporary name
and RENAMEs it, with its expiry, and the two servers compare equal.
"""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
import redis

from turnout.engines.redis import bigkeys
from turnout.engines.redis.applier import Applier
from turnout.engines.redis.sync import Options, run
from turnout.engines.redis.url import RedisUrl
from turnout.engines.redis.verify import compare_db
from turnout.errors import OperationFailed
from turnout.testing.servers import start_redis


@pytest.fixture
def pair(tmp_path: Path):
    source = start_redis(tmp_path / "source")
    dest = start_redis(tmp_path / "dest")
    yield source, dest
    source.stop()
    dest.stop()


def fill(r: redis.Redis) -> None:
    """Small and big keys of every type the server encodes differently by size."""
    r.set("int", 12345)
    r.set("short", "hello")
    r.set("long", "abc" * 200_000)  # compressible: LZF in the payload
    r.set("random", random.Random(7).randbytes(1_000_000), px=600_000)  # incompressible
    r.rpush("list:small", "a", 1, -7, 300, 70_000, 2**40, "x" * 100)
    r.rpush("list:big", *[f"element {i}" for i in range(30_000)], *range(-5000, 5000))
    r.sadd("set:ints", *range(-200, 200))
    r.sadd("set:big", *[f"member {i}" for i in range(20_000)])
    r.zadd("zset:small", {"a": 1.5, "b": -2, "c": 1e300, "d": float("inf")})
    r.zadd("zset:big", {f"m{i}": i / 7 for i in range(20_000)})
    r.hset("hash:small", mapping={"f": "v", "n": 42, "neg": -1})
    r.hset("hash:big", mapping={f"field {i}": f"value {i}" * 3 for i in range(30_000)})
    r.pexpireat("hash:big", 4_102_444_800_000)  # year 2100


READS = {
    b"string": lambda r, k: [r.get(k)],
    b"list": lambda r, k: r.lrange(k, 0, -1),
    b"set": lambda r, k: sorted(r.smembers(k)),
    b"zset": lambda r, k: [(m, float(s)) for m, s in r.zrange(k, 0, -1, withscores=True)],
    b"hash": lambda r, k: sorted(r.hgetall(k).items()),
}


def decoded(kind: str, items: list[bytes]) -> list:
    if kind == "set":
        return sorted(items)
    if kind == "zset":
        pairs = [(m, float(s)) for m, s in zip(items[::2], items[1::2], strict=True)]
        return sorted(pairs, key=lambda p: (p[1], p[0]))
    if kind == "hash":
        return sorted(zip(items[::2], items[1::2], strict=True))
    return items


def test_every_encoding_decodes_to_what_the_server_reads(pair) -> None:
    source, _ = pair
    r = redis.Redis(port=source.port)
    fill(r)
    encodings = set()
    for key in r.keys():
        payload = r.dump(key)
        kind = r.type(key)
        encodings.add((kind, r.object("encoding", key)))
        name, items = bigkeys.elements(payload[0], payload[1:-10])
        assert name.encode() == kind, key
        assert decoded(name, items) == READS[kind](r, key), key
    assert {e for _, e in encodings} >= {b"int", b"embstr", b"raw", b"quicklist", b"intset",
                                         b"hashtable", b"skiplist", b"listpack"}


def test_big_keys_are_rebuilt_in_parts_and_equal(pair, monkeypatch) -> None:
    source, dest = pair
    fill(redis.Redis(port=source.port))
    r1 = redis.Redis(port=source.port, db=1)
    rng = random.Random(1)
    r1.hset("other:db", mapping={f"f{i}": rng.randbytes(20) for i in range(2000)})
    rebuilt: list[bytes] = []
    real = Applier.rebuild

    def spy(self, target, entry, *args, **kwargs):
        rebuilt.append(entry.key)
        return real(self, target, entry, *args, per_command=500)

    monkeypatch.setattr(Applier, "rebuild", spy)
    src, dst = RedisUrl.parse(source.url()), RedisUrl.parse(dest.url())
    run(src, dst, "big", threading.Event(), Options(follow=False, big_key_bytes=16_000))
    assert sorted(rebuilt) == [b"hash:big", b"list:big", b"other:db", b"random", b"set:big",
                               b"zset:big"]
    for db in (0, 1):
        found = compare_db(src, dst, db, db, "full")
        assert (found.missing, found.extra, found.different) == ([], [], []), db
    d = redis.Redis(port=dest.port)
    assert d.keys("_turnout:rebuild:*") == []
    assert d.pexpiretime("hash:big") == 4_102_444_800_000
    assert 0 < d.pttl("random") <= 600_000 and d.ttl("long") == -1


def test_a_big_stream_is_refused_with_the_fix(pair) -> None:
    source, dest = pair
    r = redis.Redis(port=source.port)
    for i in range(2000):
        r.xadd("events", {"n": i, "pad": "x" * 50})
    with pytest.raises(OperationFailed, match="proto-max-bulk-len"):
        run(RedisUrl.parse(source.url()), RedisUrl.parse(dest.url()), "big",
            threading.Event(), Options(follow=False, big_key_bytes=1000))
