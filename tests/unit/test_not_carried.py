"""What the schema step says it leaves out, and what column renames take away."""

from __future__ import annotations

from turnout.migrate.schema import not_carried
from turnout.model import Column, Index, Table
from turnout.types import CanonicalType, Kind


def table() -> Table:
    text = CanonicalType(Kind.TEXT)
    return Table(
        "t", (Column("id", CanonicalType(Kind.INT32)), Column("email", text)),
        primary_key=("id",), origin="postgresql",
        indexes=(Index("t_email", ("email",), True),),
        source_indexes=(
            Index("t_email", (), True, definition="UNIQUE (email)", constraint=True),
            Index("t_lower", (), False, definition="USING btree (lower(email))"),
        ),
        checks=(("t_check", "CHECK (email <> '')"),),
        left_out=("trigger audit",),
    )


def test_an_expression_index_is_named_where_the_destination_cannot_build_it() -> None:
    lines = not_carried(table(), "mysql")
    assert lines[0].startswith("table t: trigger audit is not carried")
    assert "index t_lower (USING btree (lower(email))) has no mysql form" in lines[1]
    assert "check constraint t_check (CHECK (email <> '')) is in the source's own" in lines[2]
    assert len(lines) == 3  # the unique constraint has a canonical form


def test_the_same_engine_builds_every_index() -> None:
    assert not_carried(table(), "postgresql") == [
        "table t: trigger audit is not carried to the destination: add it on the "
        "destination yourself if the application needs it"]


def test_column_renames_leave_out_what_names_the_old_columns_and_say_so() -> None:
    renamed = table().renamed("u", {"email": "mail"})
    assert renamed.source_indexes == () and renamed.checks == ()
    assert renamed.indexes[0].columns == ("mail",)
    assert renamed.left_out[1:] == (
        "check constraint t_check (renamed columns)",
        "index t_lower (renamed columns)",
        "the own definition of index t_email (renamed columns; built on its columns)",
    )
    assert renamed.renamed("u", {}).left_out == renamed.left_out
