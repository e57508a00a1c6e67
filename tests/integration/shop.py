"""A shop on any engine, and one application session of every kind of change to it.

`item` has a one-column key, bytes and a long text; `line` a two-column key. The changes:
an insert, an update of two columns, a delete, a key that moves, an update that leaves the
long text alone (PostgreSQL does not resend a TOASTed value it did not change), a transaction
touching many rows of both tables, a composite key that moves, and a deleted key that comes
back. Values go in through each engine's own literals (helpers.insert_sql), statements through
the engine's own driver.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.helpers import insert_sql
from tests.integration.pairs import kind, own_cursor, own_execute, own_rows

SCHEMA = {
    "sqlite": ["CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
               "price NUMERIC(10,2), data BLOB, doc TEXT)",
               "CREATE TABLE line (o INTEGER, n INTEGER, qty INTEGER, PRIMARY KEY (o, n))"],
    "postgresql": ["CREATE TABLE item (id int PRIMARY KEY, name text NOT NULL, "
                   "price numeric(10,2), data bytea, doc text)",
                   "CREATE TABLE line (o int, n int, qty int, PRIMARY KEY (o, n))"],
    "mysql": ["CREATE TABLE item (id int PRIMARY KEY, name varchar(40) NOT NULL, "
              "price decimal(10,2), data varbinary(16), doc mediumtext)",
              "CREATE TABLE line (o int, n int, qty int, PRIMARY KEY (o, n))"],
}
ITEMS: list[tuple[Any, ...]] = [(1, "apple", Decimal("1.50"), b"\x00\xff", None),
                                (2, "pear", Decimal("2.25"), None, None),
                                (3, "plum", Decimal(3), b"", None)]
LINES = [(1, 1, 10), (1, 2, 20)]
BIG = "".join(f"{i:08x}" for i in range(20_000))  # stored out of line (TOAST) by PostgreSQL
# (id, name, price, data) of every item once the changes are in
AFTER = [(1, "green apple", 9.99, b"\x00\xff"), (2, "pear again", None, None),
         (4, "fig", 5.0, b"\xca\xfe"), (30, "plum", 3.0, b"")]


def build_shop(url: str) -> None:
    """The shop's tables and first rows on the database of `url`."""
    own_execute(url, *SCHEMA[kind(url)], insert_sql(url, "item", ITEMS),
                insert_sql(url, "line", LINES))


def write_shop_changes(url: str) -> None:
    """One application session making every kind of change, one transaction among them."""
    fig = insert_sql(url, "item", [(4, "fig", Decimal("4.75"), b"\xca\xfe", BIG)])
    lines = insert_sql(url, "line", [(2, n, n * 5) for n in range(1, 51)])
    again = insert_sql(url, "item", [(2, "pear again", None, None, None)])
    with own_cursor(url) as cur:
        for statement in (fig, "UPDATE item SET price = 9.99, name = 'green apple' WHERE id = 1",
                          "DELETE FROM item WHERE id = 2",
                          "UPDATE item SET id = 30 WHERE id = 3",  # the key moves
                          "UPDATE item SET price = 5 WHERE id = 4",  # doc is not resent (TOAST)
                          "BEGIN", lines, "UPDATE line SET qty = qty + 1 WHERE o = 1",
                          "DELETE FROM line WHERE o = 2 AND n > 40", "COMMIT",
                          "UPDATE line SET n = 99 WHERE o = 1 AND n = 2",  # composite key moves
                          again):  # a deleted key returns
            cur.execute(statement)


def items(url: str) -> list[tuple[Any, ...]]:
    """(id, name, price, data) of each item by key, read with the engine's own driver, the
    price as a float and the bytes as bytes whatever type the driver gives them."""
    return sorted((i, name, None if price is None else float(price),
                   None if data is None else bytes(data))
                  for i, name, price, data in own_rows(url, "item", "id, name, price, data"))


def doc(url: str, key: int) -> str | None:
    """The long text of one item."""
    found = [d for i, d in own_rows(url, "item", "id, doc") if i == key]
    return found[0] if found else None
