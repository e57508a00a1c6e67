"""The framing of an RDB file, enough to cut it into keys without decoding values.

Each key comes out as an Entry whose `payload` is what DUMP would give for it
(type byte + value bytes as the RDB holds them + version + CRC64), so the
destination rebuilds the value itself with RESTORE. Only keys are decoded
(they are needed to filter and to name the key); values are skipped over by
their type's framing. Module values cannot be skipped without the module's own
loader and are refused with a one-line error.

The RDB is read as a stream (`entries_from`): the parser holds what it has not
yet cut into keys, never the whole file, so a source of any size fits in memory
as long as its biggest key does. A key whose framing runs past the bytes at hand
is parsed again once more have come; the read ahead grows with what is pending,
so a big key is parsed a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import NamedTuple

from turnout.engines.redis import lzf
from turnout.engines.redis.crc64 import dump_payload
from turnout.errors import OperationFailed

# Opcodes (rdb.h)
_FUNCTION2, _FUNCTION, _MODULE_AUX, _IDLE, _FREQ = 0xF5, 0xF6, 0xF7, 0xF8, 0xF9
_AUX, _RESIZEDB, _EXPIRE_MS, _EXPIRE_S, _SELECTDB, _EOF = 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF

# Value types whose whole value is one RDB string (ziplist, intset, listpack encodings).
_ONE_STRING = frozenset({0, 9, 10, 11, 12, 13, 16, 17, 20})
_STREAMS = frozenset({15, 19, 21})
TYPE_NAMES = {0: "string", 1: "list", 2: "set", 3: "zset", 4: "hash", 5: "zset", 9: "hash",
              10: "list", 11: "set", 12: "zset", 13: "hash", 14: "list", 15: "stream",
              16: "hash", 17: "zset", 18: "list", 19: "stream", 20: "set", 21: "stream"}
_READ_AHEAD = 1 << 20
_CUT = ("the source's RDB ended in the middle of a key: the transfer was cut; "
        "start the task again")

Feed = Callable[[int], bytes]
"""Gives at least one more byte of the RDB (up to about the size asked), or b"" at its end."""


class Entry(NamedTuple):
    """One key of the RDB: its database, name, DUMP payload and absolute expiry (ms, or 0)."""

    db: int
    key: bytes
    payload: bytes
    expire_ms: int
    type_name: str


class _Short(Exception):
    """The bytes at hand end inside this item: read more and parse it again."""


def _length(d: bytes, p: int) -> tuple[int, bool, int]:
    """A length at `p`, or (encoding, True) for a specially encoded string; and the next
    position."""
    first = d[p]
    kind = first >> 6
    if kind == 0:
        return first & 0x3F, False, p + 1
    if kind == 1:
        return ((first & 0x3F) << 8) | d[p + 1], False, p + 2
    if kind == 3:
        return first & 0x3F, True, p + 1
    if first == 0x80:
        if p + 5 > len(d):
            raise _Short
        return int.from_bytes(d[p + 1:p + 5], "big"), False, p + 5
    if first == 0x81:
        if p + 9 > len(d):
            raise _Short
        return int.from_bytes(d[p + 1:p + 9], "big"), False, p + 9
    raise OperationFailed(f"the source's RDB holds an unknown length byte {first:#x}")


def _count(d: bytes, p: int) -> tuple[int, int]:
    n, special, p = _length(d, p)
    if special:
        raise OperationFailed("the source's RDB holds an encoded string where a count was due")
    return n, p


def _skip_string(d: bytes, p: int) -> int:
    """The position after the RDB string at `p` (it may lie past the bytes at hand)."""
    n, special, p = _length(d, p)
    if not special:
        return p + n
    if n < 3:
        return p + (1, 2, 4)[n]
    if n == 3:
        packed, p = _count(d, p)
        _, p = _count(d, p)
        return p + packed
    raise OperationFailed(f"the source's RDB holds an unknown string encoding {n}")


def read_string(d: bytes, p: int) -> tuple[bytes, int]:
    """The RDB string at `p`, decoded (integers as decimal text, LZF expanded), and the
    position after it."""
    n, special, p = _length(d, p)
    if not special:
        if p + n > len(d):
            raise _Short
        return d[p:p + n], p + n
    if n < 3:
        size = (1, 2, 4)[n]
        if p + size > len(d):
            raise _Short
        return str(int.from_bytes(d[p:p + size], "little", signed=True)).encode(), p + size
    if n == 3:
        packed, p = _count(d, p)
        size, p = _count(d, p)
        if p + packed > len(d):
            raise _Short
        return lzf.decompress(d[p:p + packed], size), p + packed
    raise OperationFailed(f"the source's RDB holds an unknown string encoding {n}")


def _skip_value(d: bytes, p: int, kind: int) -> int:
    """The position after a value of type `kind` at `p`, by its framing."""
    if kind in _ONE_STRING:
        return _skip_string(d, p)
    if kind in (1, 2, 14, 4):
        n, p = _count(d, p)
        for _ in range(2 * n if kind == 4 else n):
            p = _skip_string(d, p)
        return p
    if kind == 3:
        n, p = _count(d, p)
        for _ in range(n):
            p = _skip_string(d, p)
            size = d[p]
            p += 1 + (size if size < 253 else 0)
        return p
    if kind == 5:
        n, p = _count(d, p)
        for _ in range(n):
            p = _skip_string(d, p) + 8
        return p
    if kind == 18:
        n, p = _count(d, p)
        for _ in range(n):
            _, p = _count(d, p)  # container kind
            p = _skip_string(d, p)
        return p
    if kind in _STREAMS:
        return _skip_stream(d, p, kind)
    raise OperationFailed(f"the source holds a value of RDB type {kind} (a module's type "
                          "or newer than turnout knows): exclude its keys with --tables")


def _skip_stream(d: bytes, p: int, kind: int) -> int:
    """Past a stream: listpacks, then its ids, consumer groups and their pending lists."""
    n, p = _count(d, p)
    for _ in range(2 * n):
        p = _skip_string(d, p)
    for _ in range(3 if kind < 19 else 8):  # length, last id; first id, max deleted, added
        _, p = _count(d, p)
    groups, p = _count(d, p)
    for _ in range(groups):
        p = _skip_string(d, p)
        for _ in range(2 if kind < 19 else 3):  # last id; entries read
            _, p = _count(d, p)
        pending, p = _count(d, p)
        for _ in range(pending):
            _, p = _count(d, p + 24)
        consumers, p = _count(d, p)
        for _ in range(consumers):
            p = _skip_string(d, p) + (8 if kind < 21 else 16)
            owned, p = _count(d, p)
            p += 16 * owned
    return p


def rdb_version(data: bytes) -> int:
    """The version an RDB's header names (a DUMP payload carries it)."""
    head = bytes(data[:9])
    if head[:5] != b"REDIS" or not head[5:].isdigit():
        raise OperationFailed("the source sent something that is not an RDB file")
    return int(head[5:])


def entries(data: bytes) -> Iterator[Entry]:
    """Every key of an RDB file held whole, in file order, as RESTORE payloads."""
    chunks = [bytes(data)]
    return entries_from(lambda size: chunks.pop() if chunks else b"")


def entries_from(feed: Feed, tail: list[bytes] | None = None) -> Iterator[Entry]:
    """Every key of the RDB that `feed` gives, in file order, as RESTORE payloads. It stops
    after the RDB's EOF opcode and its checksum; bytes `feed` gave past them are appended
    to `tail` when given (what follows the RDB on the link)."""
    d, p = b"", 0

    def more() -> None:
        nonlocal d, p
        got = feed(max(_READ_AHEAD, len(d) - p))
        if not got:
            raise OperationFailed(_CUT)
        d, p = d[p:] + got, 0

    while len(d) < 9:
        more()
    version = rdb_version(d)
    p = 9
    db, expire = 0, 0
    while True:
        try:
            op = d[p]
            if op == _EOF:
                if p + 9 > len(d) and version >= 5:
                    raise _Short
                if tail is not None:
                    tail.append(d[p + 9:])
                return
            q = p + 1
            if op == _SELECTDB:
                db, q = _count(d, q)
            elif op == _RESIZEDB:
                _, q = _count(d, q)
                _, q = _count(d, q)
            elif op == _AUX:
                q = _skip_string(d, _skip_string(d, q))
            elif op == _EXPIRE_MS:
                q += 8
                if q > len(d):
                    raise _Short
                expire = int.from_bytes(d[p + 1:q], "little")
            elif op == _EXPIRE_S:
                q += 4
                if q > len(d):
                    raise _Short
                expire = int.from_bytes(d[p + 1:q], "little") * 1000
            elif op == _FREQ:
                q += 1
            elif op == _IDLE:
                _, q = _count(d, q)
            elif op == _FUNCTION2:
                q = _skip_string(d, q)  # a function library: not a key (not copied)
            elif op in (_FUNCTION, _MODULE_AUX):
                raise OperationFailed("the source's RDB holds module or pre-release function "
                                      "data that turnout cannot read")
            else:
                first = d[q]  # a key of fewer than 64 bytes, uncompressed: most keys
                if first < 0x40:
                    start = q + 1 + first
                    key = d[q + 1:start]
                else:
                    key, start = read_string(d, q)
                first = d[start]  # a short string value, inline: most values
                if op == 0 and first < 0x80:
                    q = (start + 1 + first if first < 0x40 else
                         start + 2 + (((first & 0x3F) << 8) | d[start + 1]))
                elif op == 0 and first == 0xC3:  # LZF: packed size, size, packed bytes
                    packed, q = _count(d, start + 1)
                    _, q = _count(d, q)
                    q += packed
                else:
                    q = _skip_value(d, start, op)
                if q > len(d):
                    raise _Short
                yield Entry(db, key, dump_payload(d[p:p + 1] + d[start:q], version), expire,
                            TYPE_NAMES.get(op, "?"))
                expire = 0
            if q > len(d):
                raise _Short
            p = q
        except (_Short, IndexError):
            more()
