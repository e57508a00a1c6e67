"""Key-range predicates shared by the SQL engines' chunked readers."""

from __future__ import annotations

from typing import Any

from turnout.model import Key


def after_key(key_sql: str, after: Key | None, placeholder: str) -> tuple[str, list[Any]]:
    """`WHERE (k1, k2) > (?, ?)` and its parameters: the rows past `after` in key order.

    Row-value comparison follows the key's own collation and column order, so
    chunks of a composite key follow exactly the order the reader sorts by.
    Empty when reading from the start.
    """
    if after is None:
        return "", []
    marks = ", ".join([placeholder] * len(after))
    return f"WHERE ({key_sql}) > ({marks})", list(after)
