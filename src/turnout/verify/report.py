"""What verification found, and its JSON form (a contract: scripts read it).

{"consistent": bool, "tables": [{"source", "dest", "rows_source", "rows_dest",
"missing", "extra", "different", ...}]}: a key is the list of the primary-key
values as the source shows them (the destination's, for rows only it has);
"missing" means missing on the destination.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from turnout.model import Key, Row


class DiffKind(StrEnum):
    MISSING = "missing"  # on the destination
    EXTRA = "extra"  # on the destination
    DIFFERENT = "different"


@dataclass(frozen=True)
class Difference:
    kind: DiffKind
    key: Key  # source's values (the destination's for an extra row); the whole row without a key
    columns: tuple[str, ...] = ()  # for DIFFERENT: the source names of the columns that differ
    source_row: Row | None = None  # the rows as each side holds them, for repair
    dest_row: Row | None = None


@dataclass
class TableResult:
    source: str
    dest: str
    rows_source: int = 0
    rows_dest: int = 0
    keyed: bool = True
    differences: list[Difference] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # schema level: what does not match
    checked: str = "content"  # the level reached: schema, count or content
    rows_fetched: int = 0  # source rows compared here rather than by checksum (a cost figure)

    @property
    def consistent(self) -> bool:
        return not self.differences and not self.problems and self.rows_source == self.rows_dest

    def keys(self, kind: DiffKind) -> list[list[Any]]:
        return [json_key(d.key) for d in self.differences if d.kind is kind]

    def to_dict(self) -> dict[str, Any]:
        different = [d for d in self.differences if d.kind is DiffKind.DIFFERENT]
        return {
            "source": self.source,
            "dest": self.dest,
            "rows_source": self.rows_source,
            "rows_dest": self.rows_dest,
            "missing": self.keys(DiffKind.MISSING),
            "extra": self.keys(DiffKind.EXTRA),
            "different": self.keys(DiffKind.DIFFERENT),
            "different_columns": [list(d.columns) for d in different],
            "keyed": self.keyed,
            "rows_fetched": self.rows_fetched,
            "level": self.checked,
            "problems": self.problems,
            "consistent": self.consistent,
        }


@dataclass
class Report:
    tables: list[TableResult]
    seconds: float = 0.0

    @property
    def consistent(self) -> bool:
        return all(t.consistent for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        return {
            "consistent": self.consistent,
            "tables": [t.to_dict() for t in self.tables],
            "seconds": round(self.seconds, 3),
        }


def json_value(value: Any) -> Any:
    """A key value as JSON holds it without losing it: exact numbers stay numbers where JSON
    can, times in ISO form, bytes in base64."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, dt.date | dt.time | dt.datetime):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    return str(value)


def json_key(key: Key) -> list[Any]:
    return [json_value(v) for v in key]
