"""A position in PostgreSQL's change stream: the WAL position (LSN) where a committed
transaction ends, with how far a transaction handed out in pieces got (capture.py says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turnout.engines.postgres.replication import format_lsn, parse_lsn
from turnout.model import Position


@dataclass(frozen=True, eq=False)
class PgPosition(Position):
    """A WAL position (LSN): the end of a committed transaction.

    Inside a transaction handed out in pieces, `xact` (where its commit
    record starts) and `part` (its changes handed out so far) say how far it
    got; `lsn` is then still the end of the last complete transaction.
    """

    lsn: int
    xact: int = 0
    part: int = 0
    engine = "postgresql"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lsn": format_lsn(self.lsn)}
        if self.part:
            out.update(xact=format_lsn(self.xact), part=self.part)
        return out

    def _order(self) -> tuple[Any, ...]:
        return (self.lsn, self.xact, self.part)

    @classmethod
    def parse(cls, text: str) -> PgPosition:
        return cls(parse_lsn(text))
