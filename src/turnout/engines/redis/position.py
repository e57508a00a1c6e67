"""A place in a Redis's replication stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turnout.model import Position


@dataclass(frozen=True, eq=False)
class RedisPosition(Position):
    """The source's replication id and offset: the last byte of its stream applied; `db`,
    when known, the database the stream had selected there (None: the next SELECT says)."""

    replid: str
    offset: int
    db: int | None = None
    engine = "redis"

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"replid": self.replid, "offset": self.offset}
        if self.db is not None:
            found["db"] = self.db
        return found

    def _order(self) -> tuple[Any, ...]:
        return (self.offset,)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RedisPosition:
        db = data.get("db")
        return cls(str(data["replid"]), int(data["offset"]), None if db is None else int(db))
