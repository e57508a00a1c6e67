"""Which row hash a pair uses: an engine's native one only when both sides name the same.

A server that names none, or two servers naming different ones (another engine, another
version), must keep MD5 over the canonical text, which every engine computes alike.
"""

from __future__ import annotations

from typing import Any

import pytest

from turnout.engines.forms import Form
from turnout.model import Column, Table
from turnout.types import CanonicalType, Kind
from turnout.verify.pairs import Side, TablePair
from turnout.verify.ranges import TableComparison
from turnout.verify.workers import Throttle


class Reader:
    def __init__(self, native: str | None) -> None:
        self.native = native


class Readers:
    """Each side's 'engine' here is its reader."""

    def get(self, engine: Any) -> Any:
        return engine


def comparison(ours: str | None, theirs: str | None) -> TableComparison:
    table = Table("t", (Column("id", CanonicalType(Kind.INT32), nullable=False),), ("id",))
    src = Side(Reader(ours), table, [], ("id",))  # type: ignore[arg-type]
    dst = Side(Reader(theirs), table, [], ("id",))  # type: ignore[arg-type]
    pair = TablePair(src, dst, ("id",), (Form.NUMBER,), (0,))
    return TableComparison(pair, Readers(), Throttle(None))  # type: ignore[arg-type]


@pytest.mark.parametrize(("ours", "theirs", "native"), [
    ("postgresql hash_record_extended", "postgresql hash_record_extended", True),
    ("mariadb crc32 crc32c", "mariadb crc32 crc32c", True),
    ("postgresql hash_record_extended", None, False),  # PostgreSQL 13 on the other side
    (None, "mariadb crc32 crc32c", False),  # MySQL 8 or MariaDB 10.6 against MariaDB 10.11
    ("postgresql hash_record_extended", "mariadb crc32 crc32c", False),
    (None, None, False),
])
def test_a_native_hash_only_when_both_sides_name_the_same(
        ours: str | None, theirs: str | None, native: bool) -> None:
    assert comparison(ours, theirs).native is native
