"""Which readers the full step may use: views opened a moment apart only where the
destination cannot refuse what they copy (migrate/full.py)."""

from __future__ import annotations

from turnout.migrate.full import _views_must_agree
from turnout.migrate.plan import TablePlan
from turnout.model import Column, ForeignKey, Index, Table
from turnout.types import CanonicalType, Kind


def plan(*indexes: Index, fk: bool = False) -> TablePlan:
    columns = (Column("id", CanonicalType(Kind.INT32)), Column("code", CanonicalType(Kind.TEXT)))
    keys = (ForeignKey(("code",), "other", ("code",)),) if fk else ()
    table = Table("t", columns, primary_key=("id",), indexes=indexes, foreign_keys=keys)
    return TablePlan(table, table)


def test_a_unique_index_besides_the_key_rules_later_views_out() -> None:
    assert not _views_must_agree([plan()], False)  # the key alone: ranges never overlap
    assert not _views_must_agree([plan(Index("by_code", ("code",)))], False)
    assert _views_must_agree([plan(), plan(Index("one", ("code",), unique=True))], False)


def test_foreign_keys_rule_them_out_where_adding_one_checks_the_rows() -> None:
    assert _views_must_agree([plan(fk=True)], True)  # PostgreSQL
    assert not _views_must_agree([plan(fk=True)], False)  # MySQL, foreign_key_checks off
