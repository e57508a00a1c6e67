"""Decoding the pgoutput logical replication protocol (version 1) into plain tuples.

Only what turnout needs: begin, commit, relation, insert, update, delete and
truncate. Values arrive in PostgreSQL's text form; `None` is NULL and
UNCHANGED marks a TOASTed value the server did not resend.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

UNCHANGED = object()  # an unchanged TOASTed value: never write it over real data
PG_EPOCH_OFFSET = 946_684_800  # seconds from 1970-01-01 to 2000-01-01


@dataclass
class Relation:
    oid: int
    schema: str
    name: str
    columns: list[tuple[str, int, bool]]  # name, type oid, part of the replica identity


@dataclass
class Message:
    kind: str  # B, C, R, I, U, D, T, or other kinds turnout ignores
    oid: int = 0
    new: list[Any] | None = None  # column values (text, None or UNCHANGED)
    old: list[Any] | None = None  # old key or old row, when the server sent one
    commit_ts: float = 0.0
    end_lsn: int = 0
    relation: Relation | None = None
    oids: tuple[int, ...] = ()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value[0]

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        text = self.data[self.at:end].decode()
        self.at = end + 1
        return text

    def tuple_data(self) -> list[Any]:
        values: list[Any] = []
        for _ in range(self.take("!h")):
            kind = chr(self.take("!B"))
            if kind == "n":
                values.append(None)
            elif kind == "u":
                values.append(UNCHANGED)
            else:
                size = self.take("!i")
                values.append(self.data[self.at:self.at + size].decode())
                self.at += size
        return values


def decode(data: bytes) -> Message:
    r = _Reader(bytes(data))
    kind = chr(r.take("!B"))
    if kind == "B":
        r.take("!q")  # final lsn
        ts = r.take("!q") / 1e6 + PG_EPOCH_OFFSET
        return Message("B", commit_ts=ts)
    if kind == "C":
        r.take("!B")
        r.take("!q")  # commit lsn
        end = r.take("!q")
        ts = r.take("!q") / 1e6 + PG_EPOCH_OFFSET
        return Message("C", end_lsn=end, commit_ts=ts)
    if kind == "R":
        oid, schema, name = r.take("!I"), r.string(), r.string()
        r.take("!B")  # replica identity setting
        columns = []
        for _ in range(r.take("!h")):
            flags, col, type_oid = r.take("!B"), r.string(), r.take("!I")
            r.take("!i")  # type modifier
            columns.append((col, type_oid, bool(flags & 1)))
        return Message("R", oid=oid, relation=Relation(oid, schema, name, columns))
    if kind == "I":
        oid = r.take("!I")
        r.take("!B")  # 'N'
        return Message("I", oid=oid, new=r.tuple_data())
    if kind == "U":
        oid = r.take("!I")
        marker = chr(r.take("!B"))
        old = None
        if marker in ("K", "O"):
            old = r.tuple_data()
            r.take("!B")  # 'N'
        return Message("U", oid=oid, old=old, new=r.tuple_data())
    if kind == "D":
        oid = r.take("!I")
        r.take("!B")  # 'K' or 'O'
        return Message("D", oid=oid, old=r.tuple_data())
    if kind == "T":
        count = r.take("!i")
        r.take("!B")  # options
        return Message("T", oids=tuple(r.take("!I") for _ in range(count)))
    return Message(kind)
