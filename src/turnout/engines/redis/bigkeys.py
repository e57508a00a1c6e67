"""A key too big for one RESTORE, rebuilt from its RDB value in batches of commands.

RESTORE carries a whole value in one argument: past the destination's
proto-max-bulk-len (512 MB by default) it is refused, and well before that it blocks
the destination while it loads. A key whose DUMP payload is over the task's
threshold is decoded here instead (the one place values are decoded) into its
elements, which go as RPUSH / SADD / ZADD / HSET / APPEND batches into a temporary
key, given its expiry, then RENAMEd over the key: readers of the destination never
see half a value, and a copy cut short leaves only the temporary key, which a
restarted copy empties with the rest.

Encodings read: plain strings, lists (linked, ziplist, quicklist, quicklist 2), sets
(hashtable, intset, listpack), sorted sets (skiplist with text or binary scores,
ziplist, listpack), hashes (hashtable, ziplist, listpack). A stream (or a zipmap,
which no Redis since 2.6 writes) is refused with the fix.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from turnout.engines.redis.rdb import _count, read_string
from turnout.errors import OperationFailed

Command = tuple[bytes, ...]


def _ints(data: bytes, width: int) -> Iterator[bytes]:
    for at in range(0, len(data), width):
        yield str(int.from_bytes(data[at:at + width], "little", signed=True)).encode()


def intset(blob: bytes) -> list[bytes]:
    """The members of an intset (encoding width, count, little-endian integers)."""
    width = int.from_bytes(blob[0:4], "little")
    size = int.from_bytes(blob[4:8], "little")
    return list(_ints(blob[8:8 + width * size], width))


def listpack(blob: bytes) -> list[bytes]:
    """The elements of a listpack, integers as decimal text."""
    out: list[bytes] = []
    p, end = 6, len(blob) - 1
    while p < end:
        b = blob[p]
        if b < 0x80:  # 7-bit unsigned
            out.append(b"%d" % b)
            size = 1
        elif b < 0xC0:  # string of up to 63 bytes
            n = b & 0x3F
            out.append(blob[p + 1:p + 1 + n])
            size = 1 + n
        elif b < 0xE0:  # 13-bit signed
            v = ((b & 0x1F) << 8) | blob[p + 1]
            out.append(b"%d" % (v - 8192 if v >= 4096 else v))
            size = 2
        elif b < 0xF0:  # string of up to 4095 bytes
            n = ((b & 0x0F) << 8) | blob[p + 1]
            out.append(blob[p + 2:p + 2 + n])
            size = 2 + n
        elif b == 0xF0:
            n = int.from_bytes(blob[p + 1:p + 5], "little")
            out.append(blob[p + 5:p + 5 + n])
            size = 5 + n
        elif 0xF1 <= b <= 0xF4:
            width = (2, 3, 4, 8)[b - 0xF1]
            out.append(b"%d" % int.from_bytes(blob[p + 1:p + 1 + width], "little", signed=True))
            size = 1 + width
        else:
            raise OperationFailed(f"a listpack in the source's RDB holds the unknown "
                                  f"encoding byte {b:#x}")
        p += size + (1 if size < 128 else 2 if size < 16384 else 3 if size < 2097152
                     else 4 if size < 268435456 else 5)
    return out


def ziplist(blob: bytes) -> list[bytes]:
    """The elements of a ziplist, integers as decimal text."""
    out: list[bytes] = []
    p = 10
    while blob[p] != 0xFF:
        p += 1 if blob[p] < 254 else 5  # the previous entry's length
        b = blob[p]
        kind = b >> 6
        if kind == 0:
            n, p = b & 0x3F, p + 1
        elif kind == 1:
            n, p = ((b & 0x3F) << 8) | blob[p + 1], p + 2
        elif b == 0x80:
            n, p = int.from_bytes(blob[p + 1:p + 5], "big"), p + 5
        else:
            width = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}.get(b)
            if width is None:  # 0xF1..0xFD: the integer 0..12 in the byte itself
                out.append(b"%d" % ((b & 0x0F) - 1))
                p += 1
            else:
                out.append(b"%d" % int.from_bytes(blob[p + 1:p + 1 + width], "little",
                                                  signed=True))
                p += 1 + width
            continue
        out.append(blob[p:p + n])
        p += n
    return out


def _strings(d: bytes, p: int, n: int) -> tuple[list[bytes], int]:
    out = []
    for _ in range(n):
        s, p = read_string(d, p)
        out.append(s)
    return out, p


def _score(value: float) -> bytes:
    return repr(value).encode()  # shortest text that reads back to the same double


def elements(kind: int, d: bytes) -> tuple[str, list[bytes]]:
    """The value of RDB type `kind` held in `d`: its Redis type and its elements (a hash's
    and a sorted set's as field, value / member, score pairs)."""
    if kind == 0:
        return "string", [read_string(d, 0)[0]]
    if kind in (1, 2, 4):
        n, p = _count(d, 0)
        items, _ = _strings(d, p, 2 * n if kind == 4 else n)
        return {1: "list", 2: "set", 4: "hash"}[kind], items
    if kind in (10, 13, 12):
        items = ziplist(read_string(d, 0)[0])
        return {10: "list", 13: "hash", 12: "zset"}[kind], items
    if kind in (16, 17, 20):
        items = listpack(read_string(d, 0)[0])
        return {16: "hash", 17: "zset", 20: "set"}[kind], items
    if kind == 11:
        return "set", intset(read_string(d, 0)[0])
    if kind in (3, 5):
        n, p = _count(d, 0)
        items = []
        for _ in range(n):
            member, p = read_string(d, p)
            if kind == 5:
                score = _score(struct.unpack("<d", d[p:p + 8])[0])
                p += 8
            else:
                size = d[p]
                score = {253: b"nan", 254: b"inf", 255: b"-inf"}.get(size) or d[p + 1:p + 1 + size]
                p += 1 + (size if size < 253 else 0)
            items += [member, score]
        return "zset", items
    if kind in (14, 18):
        n, p = _count(d, 0)
        items = []
        for _ in range(n):
            container = 2
            if kind == 18:
                container, p = _count(d, p)
            node, p = read_string(d, p)
            items += [node] if container == 1 else ziplist(node) if kind == 14 else listpack(node)
        return "list", items
    raise OperationFailed("too big for one RESTORE and of a type turnout does not rebuild in "
                          "parts (a stream): raise the destination's proto-max-bulk-len and "
                          "the task's big_key_bytes above its size")


STRING_PART = 1 << 20  # bytes per APPEND of a big string


def rebuild(kind: int, d: bytes, temp: bytes, per_command: int) -> Iterator[Command]:
    """The commands that build the value of RDB type `kind` in `d` under `temp`, each with
    at most `per_command` elements (a string: STRING_PART bytes)."""
    name, items = elements(kind, d)
    yield (b"DEL", temp)
    if name == "string":
        value = items[0]
        step = STRING_PART
        for at in range(0, max(len(value), 1), step):
            yield (b"APPEND", temp, value[at:at + step])
        return
    if name == "zset":  # ZADD takes score before member
        items = [v for pair in zip(items[1::2], items[::2], strict=True) for v in pair]
    verb = {"list": b"RPUSH", "set": b"SADD", "zset": b"ZADD", "hash": b"HSET"}[name]
    step = per_command * (2 if name in ("zset", "hash") else 1)
    for at in range(0, len(items), step):
        yield (verb, temp, *items[at:at + step])
