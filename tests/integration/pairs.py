"""Engine pairs: one story told over several (source, destination) pairs of engines.

A test asks for the `urls` fixture (tests/integration/conftest.py) and names its pairs with
`over(...)`; each pair becomes one test id such as `pg-mysql`, and `urls` hands it a fresh,
empty database of each engine. Which pairs a test names is a choice about time: the nine
pairs cost nine runs, so a slow story takes the pairs that run distinct code (every capture
engine as a source, every apply engine as a destination, same and cross engine).

The rows are read back here with each engine's own driver (sqlite3, psycopg, PyMySQL), not
through turnout: a comparison of turnout's reading of both sides would share its blind spots.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
import pymysql
import pytest

ENGINES = ("sqlite", "postgresql", "mysql")
SHORT = {"sqlite": "sqlite", "postgresql": "pg", "mysql": "mysql"}
ALL_PAIRS = [(source, dest) for source in ENGINES for dest in ENGINES]

Pair = tuple[str, str]


def pair_id(pair: Pair) -> str:
    """`pg-mysql` for ("postgresql", "mysql")."""
    return "-".join(SHORT[kind] for kind in pair)


def over(*pairs: Pair) -> pytest.MarkDecorator:
    """Run the test once per pair, with `urls` holding a database of each engine."""
    chosen = list(pairs) or ALL_PAIRS
    return pytest.mark.parametrize("urls", chosen, indirect=True, ids=[pair_id(p) for p in chosen])


def over_cases(cases: Mapping[str, Any]) -> pytest.MarkDecorator:
    """Run the test once per named case, each with a `pair` (passed on to `urls`) and the
    settings that pair needs (passed as `case`)."""
    return pytest.mark.parametrize(("urls", "case"), [(c.pair, c) for c in cases.values()],
                                   indirect=["urls"], ids=list(cases))


def kind(url: str) -> str:
    """The engine a URL names: sqlite, postgresql or mysql."""
    scheme = urlsplit(url).scheme
    return "postgresql" if scheme.startswith("postgres") else scheme


@contextmanager
def own_cursor(url: str, timeout: float = 60) -> Iterator[Any]:
    """A cursor of the engine's own driver, each statement committed unless inside BEGIN;
    `timeout` is how long SQLite waits for another writer's lock."""
    engine = kind(url)
    if engine == "sqlite":
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"), timeout=timeout,
                                     isolation_level=None)) as db:
            yield db.cursor()
    elif engine == "postgresql":
        with psycopg.connect(url, autocommit=True) as conn, conn.cursor() as cur:
            cur.execute("SET synchronous_commit = on")  # flushed at once, as on a default server
            yield cur
    else:
        parts = urlsplit(url)
        with closing(pymysql.connect(host=parts.hostname, port=parts.port,
                                     user=unquote(parts.username or "root"),
                                     password=unquote(parts.password or ""), autocommit=True,
                                     database=parts.path.lstrip("/"))) as conn:
            with conn.cursor() as cur:
                yield cur


def own_execute(url: str, *statements: str, timeout: float = 60) -> None:
    """Run statements with the engine's own driver, as an application (not turnout) would."""
    with own_cursor(url, timeout) as cur:
        for statement in statements:
            cur.execute(statement)


def own_rows(url: str, table: str, columns: str = "*", order: str = "1",
             ) -> list[tuple[Any, ...]]:
    """The table's rows read with the engine's own driver, in the `order` (by the key: text
    sorts by each engine's own collation)."""
    quote = "`" if kind(url) == "mysql" else '"'
    with own_cursor(url) as cur:
        cur.execute(f"SELECT {columns} FROM {quote}{table}{quote} ORDER BY {order}")
        return [tuple(row) for row in cur.fetchall()]
