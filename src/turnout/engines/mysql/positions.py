"""Binlog positions: file and offset, and MariaDB's GTID state (the last transaction of each
replication domain), kept while reading.

A MariaDB GTID is "domain-server-sequence". Within a domain transactions are
ordered, so the last GTID of every domain says how far a stream has read, in a
form that any server of the replication topology understands: it names
transactions, not places in one server's files. That is what lets a capture
resume on a failed-over primary whose binlog files have other names and
offsets. The state is written like `@@gtid_binlog_pos` ("0-1-42,1-2-7"), which
is also what a dump connection's `@slave_connect_state` takes.

Pure bookkeeping, no I/O: capture.py feeds it the GTID event that opens each
transaction and asks for the state once the transaction has ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turnout.errors import OperationFailed
from turnout.model import Position


@dataclass(frozen=True, eq=False)
class MysqlPosition(Position):
    """A place in the binlog: file and offset, and on MariaDB the GTID state there (the
    resume point with resume_by=gtid). Stored with the GTID, ordered and compared by file
    and offset: the GTID names the same place in other words."""

    file: str
    pos: int
    gtid: str | None = None
    engine = "mysql"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file": self.file, "pos": self.pos}
        if self.gtid:
            data["gtid"] = self.gtid
        return data

    def _order(self) -> tuple[Any, ...]:
        stem, _, number = self.file.rpartition(".")
        return (stem, int(number) if number.isdigit() else 0, self.pos)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MysqlPosition) and (self.file, self.pos) == (
            other.file, other.pos)

    def __hash__(self) -> int:
        return hash((self.file, self.pos))


@dataclass(frozen=True)
class Gtid:
    """One MariaDB GTID."""

    domain: int
    server: int
    seq: int

    @classmethod
    def parse(cls, text: str) -> Gtid:
        """Read "domain-server-sequence"; ValueError for anything else (say, a MySQL GTID
        set), since a guessed position could skip or repeat transactions."""
        parts = text.strip().split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError(f"not a MariaDB GTID (domain-server-sequence): {text!r}")
        return cls(int(parts[0]), int(parts[1]), int(parts[2]))

    def __str__(self) -> str:
        return f"{self.domain}-{self.server}-{self.seq}"


class GtidState:
    """The last GTID per domain as transactions end, starting from a known state.

    The GTID of a transaction arrives before its changes, but the state may only
    include it once the transaction has ended: a position handed out in the middle
    (a piece of a large transaction) must still name the state before it, or a
    resume from there would skip the rest of the transaction.
    """

    def __init__(self, seed: str | None = None) -> None:
        self._last = parse_state(seed)
        self._pending: Gtid | None = None

    def begin(self, gtid: str) -> None:
        """A transaction starts with this GTID (MariaDB's GTID event)."""
        self._pending = Gtid.parse(gtid)

    def commit(self) -> str | None:
        """The transaction begun last has ended and was taken: the state after it."""
        if self._pending is not None:
            self._last[self._pending.domain] = self._pending
            self._pending = None
        return str(self) or None

    def discard(self) -> None:
        """The transaction begun last ended but was read before: the state stays."""
        self._pending = None

    def __str__(self) -> str:
        return ",".join(str(self._last[d]) for d in sorted(self._last))


def parse_state(text: str | None) -> dict[int, Gtid]:
    """A state string ("0-1-42,1-2-7", empty for none) as the last GTID per domain.

    Two GTIDs of one domain make no state (which of them would a resume start
    after?), so that is a ValueError like any other malformed text.
    """
    state: dict[int, Gtid] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        gtid = Gtid.parse(part)
        if gtid.domain in state:
            raise ValueError(f"GTID state {text!r} names domain {gtid.domain} twice")
        state[gtid.domain] = gtid
    return state


def tracked(seed: str | None) -> GtidState | None:
    """Bookkeeping from a stored state, or None when it cannot be read (then positions carry
    no GTID and resumes go by file and offset, rather than from a half-known state)."""
    try:
        return GtidState(seed)
    except ValueError:
        return None


def not_in_binlogs(gtid: str, endpoint: str, message: str) -> OperationFailed:
    """The failure for a GTID start the server refused (error 1236): the state is older than
    its binlogs, or not in them at all (a server of another topology)."""
    return OperationFailed(
        f"the GTID position {gtid} where this task resumes is not in the binlogs of "
        f"{endpoint} ({message}), so changes since then are gone: start the task again "
        "with --resnapshot to copy the tables afresh, and keep binlogs longer "
        "(binlog_expire_logs_seconds / expire_logs_days)"
    )
