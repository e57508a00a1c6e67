"""Names that fit a destination: shortening, clashes per schema or per table, case folding."""

from __future__ import annotations

from turnout.migrate.identifiers import identifier_problems, named, renamed_objects
from turnout.migrate.plan import TablePlan
from turnout.naming import Naming, Owned, clashes, shortened, unique_names

PG = Naming("PostgreSQL", limit=63, limit_in_bytes=True, indexes_per_schema=True)
MY = Naming("MySQL", limit=64, fold_columns=True, foreign_keys_per_schema=True)


def test_a_name_that_fits_is_kept() -> None:
    assert shortened("users_email_key", PG) == "users_email_key"
    assert shortened("x" * 63, PG) == "x" * 63


def test_long_names_sharing_their_start_come_out_different_and_the_same_every_time() -> None:
    a, b = "t" * 63 + "_a", "t" * 63 + "_b"
    assert shortened(a, PG) != shortened(b, PG)
    assert shortened(a, PG) == shortened(a, PG)
    assert len(shortened(a, PG)) == 63 and len(shortened(a, MY)) == 64


def test_the_limit_counts_bytes_where_the_engine_does() -> None:
    name = "é" * 40  # 40 characters, 80 bytes
    assert not MY.too_long(name) and PG.too_long(name)
    short = shortened(name, PG)
    assert len(short.encode()) <= 63 and short.startswith("é")


def test_same_index_name_on_two_tables_is_per_table_in_mysql_per_schema_in_postgres() -> None:
    owned = [Owned("a", "email"), Owned("b", "email"), Owned("c", "other")]
    assert unique_names(owned, MY, per_schema=False) == ["email", "email", "other"]
    names = unique_names(owned, PG, per_schema=True)
    assert names == ["a_email", "b_email", "other"]  # every clashing one, not the later one


def test_an_index_named_like_a_table_is_renamed_where_they_share_a_namespace() -> None:
    owned = [Owned("orders", "users"), Owned("orders", "by_day")]
    names = unique_names(owned, PG, per_schema=True, taken=["users", "orders"])
    assert names == ["orders_users", "by_day"]


def test_a_prefixed_name_that_still_clashes_gets_a_digest() -> None:
    owned = [Owned("z", "a_email"), Owned("a", "email"), Owned("b", "email")]
    names = unique_names(owned, PG, per_schema=True)
    assert names[0] == "a_email" and names[2] == "b_email"
    assert names[1].startswith("a_email_") and len(set(names)) == 3
    assert names == unique_names(owned, PG, per_schema=True)


def test_case_folding_engines_see_one_name_where_case_differs() -> None:
    owned = [Owned("t", "Email"), Owned("t", "email")]
    assert len({n.lower() for n in unique_names(owned, MY, per_schema=False)}) == 2
    assert clashes(["Id", "id", "name"], folds=True) == [["Id", "id"]]
    assert clashes(["Id", "id"], folds=False) == []


def test_over_long_source_names_are_shortened_deterministically() -> None:
    long = "fk_" + "order_line_" * 7
    first = unique_names([Owned("t", long)], PG, per_schema=False)
    assert first == unique_names([Owned("t", long)], PG, per_schema=False)
    assert len(first[0]) == 63


def _plan(name: str, *indexes: tuple[str, tuple[str, ...]], fks: tuple[str, ...] = (),
          columns: tuple[str, ...] = ("id",)) -> TablePlan:
    from turnout.model import Column, ForeignKey, Index, Table
    from turnout.types import CanonicalType, Kind

    table = Table(
        name, tuple(Column(c, CanonicalType(Kind.INT32)) for c in columns), ("id",),
        indexes=tuple(Index(n, cols, unique=True) for n, cols in indexes),
        foreign_keys=tuple(ForeignKey(("id",), "other", ("id",), name=f) for f in fks),
        origin="mysql")
    return TablePlan(table, table)


def test_a_plan_names_indexes_and_foreign_keys_for_the_destination() -> None:
    planned = [_plan("a", ("email", ("id",))), _plan("b", ("email", ("id",)), fks=("b_fk", ""))]
    dests = named([p.dest for p in planned], PG)
    plans = [TablePlan(p.source, d) for p, d in zip(planned, dests, strict=True)]
    assert [i.name for p in plans for i in p.dest.indexes] == ["a_email", "b_email"]
    assert [i.name for p in plans for i in p.source.indexes] == ["email", "email"]
    assert [fk.name for fk in plans[1].dest.foreign_keys][0] == "b_fk"
    assert plans[1].dest.foreign_keys[1].name.startswith("b_fk1_")  # unnamed: made up, stable
    assert renamed_objects(plans[1]) == ["index 'email' of 'b' is 'b_email'"]


def test_identifier_problems_name_the_object_and_the_rename() -> None:
    long = "c" * 64
    plans = [_plan("t", columns=("id", long, "Name", "name"))]
    lines = identifier_problems(plans, MY)
    assert lines == ["table 't': columns 'Name', 'name' would be one column on MySQL, where "
                     "case does not count: add --rename t.name=OTHER"]
    lines = identifier_problems(plans, PG)
    assert lines == [f"t.{long}: the column name is 64 bytes, PostgreSQL allows 63: add "
                     f"--rename t.{long}=SHORTER"]
