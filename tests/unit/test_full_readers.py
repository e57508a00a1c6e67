"""Which readers the full step may use: later views only where no unique index could
refuse what views a moment apart copy (migrate/full.py)."""

from __future__ import annotations

from turnout.migrate.full import _unique_indexes
from turnout.migrate.plan import TablePlan
from turnout.model import Column, Index, Table
from turnout.types import CanonicalType, Kind


def plan(*indexes: Index) -> TablePlan:
    columns = (Column("id", CanonicalType(Kind.INT32)), Column("code", CanonicalType(Kind.TEXT)))
    table = Table("t", columns, primary_key=("id",), indexes=indexes)
    return TablePlan(table, table)


def test_only_a_unique_index_besides_the_key_rules_later_views_out() -> None:
    assert not _unique_indexes([plan()])  # the key alone: ranges never overlap
    assert not _unique_indexes([plan(Index("by_code", ("code",)))])
    assert _unique_indexes([plan(), plan(Index("one_code", ("code",), unique=True))])
