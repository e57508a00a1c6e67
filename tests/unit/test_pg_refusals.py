"""A COPY's data error names table, column and key (engines/postgres/refusals.py)."""

from __future__ import annotations

from types import SimpleNamespace

from turnout.engines.postgres.refusals import refused
from turnout.model import Column, Table
from turnout.types import parse_type

NOT_AN_INTEGER = 'invalid input syntax for type integer: "many"'


def _error(context: str, message: str = NOT_AN_INTEGER) -> Exception:
    exc = Exception(message)
    exc.diag = SimpleNamespace(context=context, message_primary=message)  # type: ignore[attr-defined]
    return exc


ACCT = Table("acct", (Column("id", parse_type("int32")), Column("name", parse_type("text")),
                      Column("n", parse_type("int32"))), primary_key=("id",))
ROWS = [(1, "a", "7"), (2, "b", "many"), (3, "c", "9")]


def test_the_line_of_the_copy_names_the_row_its_key_and_the_column() -> None:
    found = refused(_error('COPY _turnout_rows_ab12, line 2, column n: "many"'), ACCT,
                    ("id", "name", "n"), ROWS)
    assert found is not None
    text = str(found)
    assert text.startswith("acct.n: the destination refuses the value of the row with key (2)")
    assert 'invalid input syntax for type integer: "many"' in text
    assert "alter acct.n on the destination" in text


def test_a_context_that_names_no_row_keeps_the_server_s_words() -> None:
    assert refused(_error(""), ACCT, ("id", "name", "n"), ROWS) is None
    assert refused(_error('COPY t, line 9, column n: "x"'), ACCT, ("id", "name", "n"),
                   ROWS) is None  # past the rows sent
    assert refused(_error('COPY t, line 1, column other: "x"'), ACCT, ("id", "name", "n"),
                   ROWS) is None
