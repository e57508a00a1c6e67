"""Key-by-key comparison of two Redis servers: type, value (a digest per key) and expiry.

Each database is read with SCAN in pipelined batches on both sides; a key's digest is a
SHA-1 of its type and its value in a canonical order (a hash's fields, a set's members
sorted), so two encodings of one value (listpack here, hashtable there) agree where
DUMP bytes would not. Expiries agree within TTL_TOLERANCE_MS: both sides hold the same
absolute time, read a moment apart.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from turnout.engines.capabilities import KeyspaceComparison
from turnout.engines.redis.applier import OWN_PREFIX
from turnout.engines.redis.url import RedisUrl

TTL_TOLERANCE_MS = 2000
_BATCH = 500
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


def facts(client: Any, keys: list[bytes]) -> dict[bytes, Facts]:
    """Type, digest and PTTL of each of `keys` that still exists, in two round trips."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("TYPE", key)
    kinds = [k if isinstance(k, bytes) else str(k).encode() for k in pipe.execute()]
    pipe = client.pipeline(transaction=False)
    for key, kind in zip(keys, kinds, strict=True):
        command = _READ.get(kind, ("DUMP",))
        pipe.execute_command(command[0], key, *command[1:])
        pipe.execute_command("PTTL", key)
    replies = pipe.execute(raise_on_error=False)
    found = {}
    for i, (key, kind) in enumerate(zip(keys, kinds, strict=True)):
        value, ttl = replies[2 * i], replies[2 * i + 1]
        if kind == b"none":
            continue
        digest = hashlib.sha1(kind + b"\0" + _canonical(kind, value)).hexdigest()
        found[key] = (kind, digest, int(ttl))
    return found


def _all_keys(client: Any, selects: Callable[[str], bool] | None) -> set[bytes]:
    return {k for k in client.scan_iter(count=_BATCH) if not k.startswith(OWN_PREFIX)
            and (selects is None or selects(_text(k)))}


def compare_db(source: RedisUrl, dest: RedisUrl, src_db: int, dst_db: int, level: str,
               selects: Callable[[str], bool] | None = None) -> KeyspaceComparison:
    """One database pair compared (only the keys `selects` names, when given)."""
    a = source.client(src_db, name="turnout-verify")
    b = dest.client(dst_db, name="turnout-verify")
    try:
        left, right = _all_keys(a, selects), _all_keys(b, selects)
        missing = sorted(left - right)
        extra = sorted(right - left)
        different: list[tuple[str, tuple[str, ...]]] = []
        differing: list[bytes] = []
        if level != "count":
            both = sorted(left & right)
            for start in range(0, len(both), _BATCH):
                chunk = both[start:start + _BATCH]
                ours, theirs = facts(a, chunk), facts(b, chunk)
                for key in chunk:
                    why = _differs(ours.get(key), theirs.get(key))
                    if why:
                        different.append((_text(key), why))
                        differing.append(key)
        raw = {_text(k): k for k in missing + extra}
        raw.update({_text(k): k for k in differing})
        return KeyspaceComparison(f"db{src_db}", f"db{dst_db}", len(left), len(right),
                                  [_text(k) for k in missing], [_text(k) for k in extra],
                                  different, raw)
    finally:
        a.close()
        b.close()


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
