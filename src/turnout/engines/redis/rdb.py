"""The framing of an RDB file, enough to cut it into keys without decoding values.

Each key comes out as an Entry whose `payload` is what DUMP would give for it
(type byte + value bytes as the RDB holds them + version + CRC64), so the
destination rebuilds the value itself with RESTORE. Only keys are decoded
(they are needed to filter and to name the key); values are skipped over by
their type's framing. Module values cannot be skipped without the module's own
loader and are refused with a one-line error.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

from turnout.engines.redis import lzf
from turnout.engines.redis.crc64 import dump_payload
from turnout.errors import OperationFailed

# Opcodes (rdb.h)
_FUNCTION2, _FUNCTION, _MODULE_AUX, _IDLE, _FREQ = 0xF5, 0xF6, 0xF7, 0xF8, 0xF9
_AUX, _RESIZEDB, _EXPIRE_MS, _EXPIRE_S, _SELECTDB, _EOF = 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF

# Value types whose whole value is one RDB string (ziplist, intset, listpack encodings).
_ONE_STRING = {0, 9, 10, 11, 12, 13, 16, 17, 20}
_STREAMS = {15, 19, 21}
TYPE_NAMES = {0: "string", 1: "list", 2: "set", 3: "zset", 4: "hash", 5: "zset", 9: "hash",
              10: "list", 11: "set", 12: "zset", 13: "hash", 14: "list", 15: "stream",
              16: "hash", 17: "zset", 18: "list", 19: "stream", 20: "set", 21: "stream"}


@dataclass(frozen=True)
class Entry:
    """One key of the RDB: its database, name, DUMP payload and absolute expiry (ms, or 0)."""

    db: int
    key: bytes
    payload: bytes
    expire_ms: int
    type_name: str


class _Cursor:
    """Reads RDB primitives from a buffer, moving forward."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise OperationFailed("the source's RDB ended in the middle of a key: "
                                  "the transfer was cut; start the task again")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def byte(self) -> int:
        return self.take(1)[0]

    def length(self) -> tuple[int, bool]:
        """A length, or (encoding, True) for a specially encoded string."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return int(struct.unpack(">I", self.take(4))[0]), False
        if first == 0x81:
            return int(struct.unpack(">Q", self.take(8))[0]), False
        raise OperationFailed(f"the source's RDB holds an unknown length byte {first:#x}")

    def count(self) -> int:
        n, special = self.length()
        if special:
            raise OperationFailed("the source's RDB holds an encoded string where a count was due")
        return n

    def string(self) -> bytes:
        """An RDB string, decoded (integers as decimal text, LZF expanded)."""
        n, special = self.length()
        if not special:
            return bytes(self.take(n))
        if n in (0, 1, 2):
            size = (1, 2, 4)[n]
            return str(int.from_bytes(self.take(size), "little", signed=True)).encode()
        if n == 3:
            packed, size = self.count(), self.count()
            return lzf.decompress(bytes(self.take(packed)), size)
        raise OperationFailed(f"the source's RDB holds an unknown string encoding {n}")

    def skip_string(self) -> None:
        """Move past an RDB string without decoding it."""
        n, special = self.length()
        if not special:
            self.pos += n
        elif n in (0, 1, 2):
            self.pos += (1, 2, 4)[n]
        elif n == 3:
            packed, _ = self.count(), self.count()
            self.pos += packed
        else:
            raise OperationFailed(f"the source's RDB holds an unknown string encoding {n}")
        if self.pos > len(self.data):
            raise OperationFailed("the source's RDB ended in the middle of a key: "
                                  "the transfer was cut; start the task again")


def _skip_value(cur: _Cursor, kind: int) -> None:
    """Move past a value of type `kind` by its framing."""
    if kind in _ONE_STRING:
        cur.skip_string()
    elif kind in (1, 2, 14):
        for _ in range(cur.count()):
            cur.skip_string()
    elif kind == 4:
        for _ in range(2 * cur.count()):
            cur.skip_string()
    elif kind == 3:
        for _ in range(cur.count()):
            cur.skip_string()
            size = cur.byte()
            if size < 253:
                cur.take(size)
    elif kind == 5:
        for _ in range(cur.count()):
            cur.skip_string()
            cur.take(8)
    elif kind == 18:
        for _ in range(cur.count()):
            cur.count()  # container kind
            cur.skip_string()
    elif kind in _STREAMS:
        _skip_stream(cur, kind)
    else:
        raise OperationFailed(f"the source holds a value of RDB type {kind} (a module's type "
                              "or newer than turnout knows): exclude its keys with --tables")


def _skip_stream(cur: _Cursor, kind: int) -> None:
    """Move past a stream: listpacks, then its ids, consumer groups and their pending lists."""
    for _ in range(cur.count()):
        cur.skip_string()
        cur.skip_string()
    for _ in range(3):  # length, last id (ms, seq)
        cur.count()
    if kind >= 19:
        for _ in range(5):  # first id, max deleted id, entries added
            cur.count()
    for _ in range(cur.count()):  # consumer groups
        cur.skip_string()
        cur.count()
        cur.count()
        if kind >= 19:
            cur.count()  # entries read
        for _ in range(cur.count()):  # the group's pending entries
            cur.take(16 + 8)
            cur.count()
        for _ in range(cur.count()):  # consumers
            cur.skip_string()
            cur.take(8)
            if kind >= 21:
                cur.take(8)
            for _ in range(cur.count()):
                cur.take(16)


def rdb_version(data: bytes | memoryview) -> int:
    """The version an RDB's header names (a DUMP payload carries it)."""
    head = bytes(data[:9])
    if head[:5] != b"REDIS" or not head[5:].isdigit():
        raise OperationFailed("the source sent something that is not an RDB file")
    return int(head[5:])


def entries(data: bytes | memoryview) -> Iterator[Entry]:
    """Every key of an RDB file, in file order, as RESTORE payloads."""
    version = rdb_version(data)
    cur = _Cursor(data)
    cur.pos = 9
    db, expire = 0, 0
    while True:
        op = cur.byte()
        if op == _EOF:
            return
        if op == _SELECTDB:
            db = cur.count()
        elif op == _RESIZEDB:
            cur.count()
            cur.count()
        elif op == _AUX:
            cur.skip_string()
            cur.skip_string()
        elif op == _EXPIRE_MS:
            expire = int.from_bytes(cur.take(8), "little")
        elif op == _EXPIRE_S:
            expire = int.from_bytes(cur.take(4), "little") * 1000
        elif op == _FREQ:
            cur.byte()
        elif op == _IDLE:
            cur.count()
        elif op == _FUNCTION2:
            cur.skip_string()  # a function library: not a key (functions are not copied)
        elif op in (_FUNCTION, _MODULE_AUX):
            raise OperationFailed("the source's RDB holds module or pre-release function data "
                                  "that turnout cannot read")
        else:
            key = cur.string()
            start = cur.pos
            _skip_value(cur, op)
            value = bytes([op]) + bytes(cur.data[start:cur.pos])
            yield Entry(db, key, dump_payload(value, version), expire, TYPE_NAMES.get(op, "?"))
            expire = 0
