"""--where pushed into the source's SELECT in the full step, on PostgreSQL and MariaDB: the
rows kept are the same as when every row is read and checked in Python, for filters made
by Hypothesis over integer, decimal, text (a case-insensitive collation on MariaDB), float
and date columns, and the pushed part does cut what is read. A task PG → PG and MySQL → PG
with a partly pushed filter leaves exactly the matching rows, and verify agrees."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.helpers import execute, insert_sql
from tests.integration.pairs import own_rows
from turnout import api, engines
from turnout.engines.base import KeySpan, SnapshotReader
from turnout.filters.evaluate import matches
from turnout.filters.expr import (
    And,
    Between,
    Column,
    Compare,
    Expr,
    In,
    IsNull,
    Literal,
    Not,
    Or,
    parse,
)
from turnout.filters.pushdown import pushdown
from turnout.filters.rules import RowRule
from turnout.model import Table
from turnout.spec import TaskSpec, parse_types
from turnout.store import Store

ROWS = 400
TEXTS = ["a", "A", "b", "B", "a ", "10", "é", "Z"]


def _rows(seed: int) -> list[tuple]:
    rnd = random.Random(seed)

    def maybe(value: object) -> object:
        return None if rnd.random() < 0.15 else value

    return [(n, maybe(rnd.randint(-20, 20)), maybe(Decimal(rnd.randint(-200, 200)) / 10),
             maybe(rnd.choice(TEXTS)), maybe(rnd.choice([0.1, 0.5, 1.5, -2.25, 3.0])),
             maybe(dt.date(2024, 1, 1) + dt.timedelta(days=rnd.randint(0, 60))))
            for n in range(1, ROWS + 1)]


def _create(url: str, engine: str) -> None:
    text = "varchar(8) COLLATE utf8mb4_general_ci" if engine == "mysql" else "varchar(8)"
    execute(url, f"CREATE TABLE m (id int PRIMARY KEY, i int, d decimal(6,1), s {text}, "
                 "f double precision, dt date)",
            insert_sql(url, "m", _rows(7)))


@pytest.fixture(params=["postgresql", "mysql"])
def source(request: pytest.FixtureRequest) -> Iterator[tuple[str, Table, SnapshotReader]]:
    engine = request.param
    url = request.getfixturevalue("pg_url" if engine == "postgresql" else "mysql_url")
    _create(url, engine)
    connected = engines.connect(url)
    table = connected.reflect(["m"])[0]
    with connected.snapshot() as reader:
        yield url, table, reader
    connected.close()


numbers = st.one_of(st.integers(-25, 25), st.decimals(places=1, min_value=-25, max_value=25,
                                                      allow_nan=False, allow_infinity=False))
values = {"i": numbers, "d": numbers, "f": numbers, "s": st.sampled_from(TEXTS),
          "dt": st.dates(dt.date(2023, 12, 25), dt.date(2024, 3, 5)).map(str)}


@st.composite
def leaves(draw: st.DrawFn) -> Expr:
    """A comparison the precheck allows: each column with literals of its own kind."""
    column = draw(st.sampled_from(sorted(values)))
    literal = values[column].map(Literal)
    return draw(st.one_of(
        st.builds(Compare, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]),
                  st.just(Column(column)), literal),
        st.builds(In, st.just(Column(column)), st.lists(literal, min_size=1, max_size=3)
                  .map(tuple), st.booleans()),
        st.builds(Between, st.just(Column(column)), literal, literal, st.booleans()),
        st.builds(IsNull, st.just(Column(column)), st.booleans()),
    ))


filters = st.recursive(leaves(), lambda inner: st.one_of(
    st.builds(Not, inner), st.builds(And, inner, inner), st.builds(Or, inner, inner)),
    max_leaves=6)


def _kept(reader: SnapshotReader, table: Table, where: Expr, pushed: Expr | None,
          ) -> tuple[list[tuple], int]:
    """The rows the full step keeps, reading in chunks as it does; and how many it read."""
    rule = RowRule(table.column_names, table.key, where)
    kept, read, after = [], 0, None
    while True:
        rows = reader.read_range(table, KeySpan(after), 100, pushed)
        read += len(rows)
        assert read <= ROWS, "a chunk read past its key range"
        kept += rule.shape(rows)
        if len(rows) < 100:
            return kept, read
        after = (rows[-1][0],)


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(where=filters)
def test_pushed_reads_keep_the_same_rows(source: tuple[str, Table, SnapshotReader],
                                         where: Expr) -> None:
    _, table, reader = source
    pushed = pushdown(where, {c.name: c.type.kind for c in table.columns})
    everything, read_all = _kept(reader, table, where, None)
    assert read_all == ROWS
    assert _kept(reader, table, where, pushed)[0] == everything
    assert all(matches(where, dict(zip(table.column_names, r, strict=True)))
               for r in everything)


@pytest.mark.parametrize(("text", "reads"), [
    ("i > 15", "fewer"),
    ("i > 15 OR d < -19", "fewer"),  # an OR at the top stays inside the chunk's key range
    ("NOT (i <= 15 OR d IS NULL)", "fewer"),
    ("i BETWEEN -2 AND 2 AND s = 'a'", "fewer"),  # the text part is left to Python
    ("s = 'a' OR i > 15", "all"),
    ("NOT (s <> 'a')", "all"),  # 'A' = 'a' in MariaDB's collation, not in Python
    ("f = 0.1", "all"),
])
def test_what_the_pushed_part_saves(source: tuple[str, Table, SnapshotReader], text: str,
                                    reads: str) -> None:
    _, table, reader = source
    where = parse(text)
    pushed = pushdown(where, {c.name: c.type.kind for c in table.columns})
    everything, _ = _kept(reader, table, where, None)
    kept, read = _kept(reader, table, where, pushed)
    assert kept == everything and everything
    assert (read < ROWS) if reads == "fewer" else (read == ROWS)
    streamed = [r for rows in reader.stream(table, 100, pushed)  # a keyless table's read
                for r in RowRule(table.column_names, table.key, where).shape(rows)]
    assert sorted(streamed) == everything


@pytest.mark.parametrize("engine", ["postgresql", "mysql"])
def test_a_filtered_full_copy_holds_exactly_the_matching_rows(
        engine: str, store: Store, pg_url: str, request: pytest.FixtureRequest) -> None:
    source = request.getfixturevalue("pg_server").create_database(
        f"push_{engine[:2]}_{random.randrange(10**9)}") if engine == "postgresql" \
        else request.getfixturevalue("mysql_url")
    _create(source, engine)
    where = "i >= 0 AND NOT (d < -5.5) AND (s IN ('a', 'b') OR f > 1)"
    api.create_task(TaskSpec("pushed", source, pg_url, types=parse_types("schema,full"),
                             where={"m": where}), store)
    assert api.run_task("pushed", store=store) == "Completed"
    expected = parse(where)
    names = ("id", "i", "d", "s", "f", "dt")
    wanted = [r for r in _rows(7) if matches(expected, dict(zip(names, r, strict=True)))]
    got = own_rows(pg_url, "m", "id", "id")
    assert [r[0] for r in got] == [r[0] for r in wanted] and wanted
    assert api.verify_task("pushed", store)["consistent"]
    api.delete_task("pushed", store=store)
