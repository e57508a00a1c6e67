"""Key-by-key comparison of two Redis servers: type, value (a digest per key) and expiry.

Each database is read with SCAN on both sides at once; the keys both hold are then
compared in batches by THREADS workers, each with its own connections, one round trip
per batch and side: DUMP and PTTL of every key. Equal DUMP bytes are an equal value.
Where they differ, the key's digest decides: a SHA-1 of its type and its value in a
canonical order (a hash's fields, a set's members sorted), so two encodings of one value
(listpack here, hashtable there, or two RDB versions) agree where DUMP bytes would not.
Expiries are compared as absolute times (PEXPIRETIME, Redis 7 on both sides: equal
to the millisecond after RESTORE … ABSTTL or a replicated PEXPIREAT), else as PTTL
within TTL_TOLERANCE_MS, read a moment apart on a Redis 6.2 (a slow batch can make a
moment longer than that: the absolute form has no such window).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from turnout.engines.capabilities import KeyspaceComparison
from turnout.engines.redis.applier import OWN_PREFIX
from turnout.engines.redis.url import RedisUrl

TTL_TOLERANCE_MS = 2000
_BATCH = 500
_SCAN_COUNT = 5000
THREADS = 4
_READ = {
    b"string": ("GET",), b"hash": ("HGETALL",), b"list": ("LRANGE", 0, -1),
    b"set": ("SMEMBERS",), b"zset": ("ZRANGE", 0, -1, "WITHSCORES"),
    b"stream": ("XRANGE", "-", "+"),
}
Facts = tuple[bytes, str, int]  # type, value digest, PTTL


def _canonical(kind: bytes, value: Any) -> bytes:
    """The value as bytes that do not depend on its encoding or on reply order."""
    if kind == b"hash":
        items = value.items() if isinstance(value, dict) else zip(value[::2], value[1::2],
                                                                   strict=False)
        value = sorted(items)
    elif kind == b"set":
        value = sorted(value)
    return repr(value).encode()


def facts(client: Any, keys: list[bytes], expiry: str = "PTTL") -> dict[bytes, Facts]:
    """Type, digest and expiry (`expiry`: PTTL or PEXPIRETIME) of each of `keys` that
    still exists, in two round trips."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("TYPE", key)
    kinds = [k if isinstance(k, bytes) else str(k).encode() for k in pipe.execute()]
    pipe = client.pipeline(transaction=False)
    for key, kind in zip(keys, kinds, strict=True):
        command = _READ.get(kind, ("DUMP",))
        pipe.execute_command(command[0], key, *command[1:])
        pipe.execute_command(expiry, key)
    replies = pipe.execute(raise_on_error=False)
    found = {}
    for i, (key, kind) in enumerate(zip(keys, kinds, strict=True)):
        value, ttl = replies[2 * i], replies[2 * i + 1]
        if kind == b"none":
            continue
        digest = hashlib.sha1(kind + b"\0" + _canonical(kind, value)).hexdigest()
        found[key] = (kind, digest, int(ttl))
    return found


def _all_keys(url: RedisUrl, db: int, selects: Callable[[str], bool] | None) -> set[bytes]:
    client = url.client(db, name="turnout-verify")
    try:
        return {k for k in client.scan_iter(count=_SCAN_COUNT) if not k.startswith(OWN_PREFIX)
                and (selects is None or selects(_text(k)))}
    finally:
        client.close()


def _dumps(client: Any, keys: list[bytes], expiry: str) -> list[tuple[bytes | None, int]]:
    """DUMP and expiry of each key, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("DUMP", key)
        pipe.execute_command(expiry, key)
    replies = pipe.execute(raise_on_error=False)
    return [(replies[i], int(replies[i + 1])) for i in range(0, len(replies), 2)]


class _Worker:
    """One thread's connections to both sides, comparing batches of keys both hold."""

    def __init__(self, source: RedisUrl, dest: RedisUrl, src_db: int, dst_db: int,
                 expiry: str) -> None:
        self.a = source.client(src_db, name="turnout-verify")
        self.b = dest.client(dst_db, name="turnout-verify")
        self.expiry = expiry

    def compare(self, chunk: list[bytes]) -> list[tuple[bytes, tuple[str, ...]]]:
        ours, theirs = _dumps(self.a, chunk, self.expiry), _dumps(self.b, chunk, self.expiry)
        found, unsure = [], []
        for key, (dump_a, ttl_a), (dump_b, ttl_b) in zip(chunk, ours, theirs, strict=True):
            if dump_a is None or dump_b is None or dump_a != dump_b:
                unsure.append(key)  # gone meanwhile, or another encoding: read the value
                continue
            why = _differs((b"", "", ttl_a), (b"", "", ttl_b))
            if why:
                found.append((key, why))
        if unsure:
            ours_f = facts(self.a, unsure, self.expiry)
            theirs_f = facts(self.b, unsure, self.expiry)
            for key in unsure:
                why = _differs(ours_f.get(key), theirs_f.get(key))
                if why:
                    found.append((key, why))
        return found

    def close(self) -> None:
        self.a.close()
        self.b.close()


def _major(url: RedisUrl) -> int:
    """The server's major version (INFO server)."""
    client = url.client(0, name="turnout-verify")
    try:
        version = str(client.info("server").get("redis_version", "0"))
        return int(version.split(".")[0] or 0)
    finally:
        client.close()


def compare_db(source: RedisUrl, dest: RedisUrl, src_db: int, dst_db: int, level: str,
               selects: Callable[[str], bool] | None = None,
               threads: int = THREADS) -> KeyspaceComparison:
    """One database pair compared (only the keys `selects` names, when given)."""
    with ThreadPoolExecutor(max(2, threads)) as pool:
        scans = pool.submit(_all_keys, source, src_db, selects), \
            pool.submit(_all_keys, dest, dst_db, selects)
        left, right = scans[0].result(), scans[1].result()
        missing = sorted(left - right)
        extra = sorted(right - left)
        found: list[tuple[bytes, tuple[str, ...]]] = []
        if level != "count":
            both = sorted(left & right)
            chunks = [both[at:at + _BATCH] for at in range(0, len(both), _BATCH)]
            expiry = "PEXPIRETIME" if _major(source) >= 7 and _major(dest) >= 7 else "PTTL"
            workers = [_Worker(source, dest, src_db, dst_db, expiry) for _ in range(
                min(threads, len(chunks)))]
            try:
                for part in pool.map(lambda w: [d for c in chunks[workers.index(w)::len(workers)]
                                                for d in w.compare(c)], workers):
                    found += part
            finally:
                for worker in workers:
                    worker.close()
    found.sort()
    different = [(_text(k), why) for k, why in found]
    raw = {_text(k): k for k in missing + extra + [k for k, _ in found]}
    return KeyspaceComparison(f"db{src_db}", f"db{dst_db}", len(left), len(right),
                              [_text(k) for k in missing], [_text(k) for k in extra],
                              different, raw)


def _differs(ours: Facts | None, theirs: Facts | None) -> tuple[str, ...]:
    """What differs between two keys' facts (a key gone meanwhile on one side: "value")."""
    if ours is None or theirs is None:
        return () if ours is theirs else ("value",)
    if ours[0] != theirs[0]:
        return ("type",)
    why: tuple[str, ...] = ("value",) if ours[1] != theirs[1] else ()
    ttl_a, ttl_b = ours[2], theirs[2]
    if (ttl_a < 0) != (ttl_b < 0) or abs(ttl_a - ttl_b) > TTL_TOLERANCE_MS:
        why += ("ttl",)
    return why


def _text(key: bytes) -> str:
    return key.decode("utf-8", errors="backslashreplace")
