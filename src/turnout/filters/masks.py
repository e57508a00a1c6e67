"""Column masks: what a masked column holds on the destination instead of the source's value.

    hash        hex of the SHA-256 of the value's text: the same value gives the same
                hash in every table and engine, so masked keys still join
    null        NULL
    redact      as many '*' as the text has characters
    keep-last:N '*' for all but the last N characters (card numbers, phones)

A mask is computed in Python, on the way to the destination (full and
incremental steps alike), so every engine pair writes the same masked text.
NULL stays NULL under every mask. A hash longer than its column is cut to the
column's length (still the same for the same value).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from turnout.errors import BadInput
from turnout.types import CanonicalType, Kind

KINDS = ("hash", "null", "redact", "keep-last")
TEXT_KINDS = {Kind.CHAR, Kind.VARCHAR, Kind.TEXT}


@dataclass(frozen=True)
class Mask:
    kind: str  # one of KINDS
    keep: int = 0  # keep-last's N
    length: int | None = None  # the destination column's length, which a hash is cut to

    def __str__(self) -> str:
        return f"keep-last:{self.keep}" if self.kind == "keep-last" else self.kind

    def apply(self, value: Any) -> Any:
        """The masked value; NULL stays NULL."""
        if value is None or self.kind == "null":
            return None
        text = canonical_text(value)
        if self.kind == "hash":
            digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
            return digest[:self.length] if self.length else digest
        if self.kind == "redact":
            return "*" * len(text)
        hidden = max(len(text) - self.keep, 0)
        return "*" * hidden + text[hidden:]


def parse_mask(text: str) -> Mask:
    """`hash`, `null`, `redact` or `keep-last:N`; BadInput naming the choices otherwise."""
    word = text.strip().lower()
    if word in ("hash", "null", "redact"):
        return Mask(word)
    if word.startswith("keep-last:") and word.split(":", 1)[1].strip().isdigit():
        return Mask("keep-last", keep=int(word.split(":", 1)[1]))
    raise BadInput(f"mask {text!r} is unknown: use hash, null, redact or keep-last:N")


def canonical_text(value: Any) -> str:
    """A value as text the same way whichever engine read it: what a hash is taken of."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def mask_problem(table: str, column: str, mask: Mask, ctype: CanonicalType, nullable: bool,
                 in_key: bool) -> str | None:
    """Why a mask cannot go on this destination column, one line with the fix; None if it can."""
    where = f"--mask {table}.{column}={mask}"
    if mask.kind == "null":
        if in_key or not nullable:
            return (f"{where}: the column is NOT NULL{' (part of the key)' if in_key else ''}, "
                    "so it cannot hold NULL: mask it with hash or redact instead")
        return None
    if ctype.kind not in TEXT_KINDS:
        return (f"{where}: the column is {ctype}, which cannot hold masked text: add "
                f"--cast {table}.{column}=text, or mask it with null")
    if mask.kind == "redact" and in_key:
        return f"{where}: redacting a key column makes keys collide: mask it with hash instead"
    return None


def with_length(mask: Mask, ctype: CanonicalType) -> Mask:
    """The mask knowing the column's length, for a hash to fit."""
    if mask.kind == "hash" and ctype.length is not None:
        return Mask(mask.kind, mask.keep, ctype.length)
    return mask
