"""Column defaults between engines: read an engine's default expression into a Default, and
write a Default back as an SQL literal. Each engine's dialect says which clock functions it
knows and whether its literals take backslash escapes; the scanning is the same for all.

A default that is anything else (an expression only its engine evaluates the same way) has
no portable form: the caller reports it instead of guessing.
"""

from __future__ import annotations

import re

from turnout.model import Default
from turnout.types import CanonicalType, Kind

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?", re.I)
_CAST = re.compile(r"(?:::\s*[a-z_][\w .\"\[\]()]*)*", re.I)  # PostgreSQL's '…'::type tails
_PLAIN = re.compile(r"'((?:[^']|'')*)'")
_ESCAPED = re.compile(r"'((?:[^'\\]|''|\\.)*)'", re.S)
_BACKSLASHED = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
_TRUE, _FALSE = ("1", "true", "t"), ("0", "false", "f")


_NUMERIC = (Kind.INT16, Kind.INT32, Kind.INT64, Kind.DECIMAL, Kind.FLOAT32, Kind.FLOAT64)
_DATED = (Kind.DATE, Kind.TIMESTAMP, Kind.TIMESTAMPTZ)
_DATE = re.compile(r"\d{4}-\d\d-\d\d")


def parse(text: str, clocks: dict[str, str], ctype: CanonicalType, *,
          backslashes: bool = False) -> Default | None:
    """`text` (an engine's default expression) as a Default; None when it is no literal, no
    NULL and no clock in `clocks` (pattern → clock), or a literal that another engine's
    column of `ctype` would refuse or read otherwise: a zero date, `infinity`, `NaN`, a
    boolean neither true nor false, anything in a column without a canonical type."""
    if ctype.kind is Kind.ANY:
        return None
    found = _scan(_unwrapped(text.strip()), clocks, backslashes)
    if found is None or found.literal is None:
        return found
    value = found.literal.strip()
    if ctype.kind is Kind.BOOLEAN:
        if value.lower() in _TRUE:
            return Default("true")
        return Default("false") if value.lower() in _FALSE else None
    if ctype.kind in _NUMERIC and not _NUMBER.fullmatch(value):
        return None
    if ctype.kind in _DATED and (not _DATE.match(value) or value.startswith("0000")
                                 or value[4:10].find("-00") >= 0):
        return None
    return found


def _unwrapped(text: str) -> str:
    """An expression without the parentheses around the whole of it: `(-1)`, `('x')`."""
    while text.startswith("(") and text.endswith(")") and _balanced(text[1:-1]):
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for char in re.sub(r"'(?:[^']|'')*'", "''", text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _scan(text: str, clocks: dict[str, str], backslashes: bool) -> Default | None:
    if text.lower() == "null" or re.fullmatch(r"null\s*::.*", text, re.I | re.S):
        return Default()
    if _NUMBER.fullmatch(text):
        return Default(text)
    if text.lower() in ("true", "false"):
        return Default(text.lower())
    bits = re.fullmatch(r"b'([01]+)'", text, re.I)
    if bits:
        return Default(str(int(bits[1], 2)))
    quoted = (_ESCAPED if backslashes else _PLAIN).match(text)
    if quoted and _CAST.fullmatch(text[quoted.end():].strip()):
        return Default(_unquoted(quoted[1], backslashes))
    for pattern, clock in clocks.items():
        if re.fullmatch(pattern, text, re.I):
            return Default(clock=clock)
    return None


def _unquoted(body: str, backslashes: bool) -> str:
    text = body.replace("''", "'")
    if not backslashes:
        return text
    return re.sub(r"\\(.)", lambda m: _BACKSLASHED.get(m[1], m[1]), text, flags=re.S)


def quote(text: str, backslashes: bool = False) -> str:
    """`text` as an SQL string literal (backslashes doubled where they escape)."""
    if backslashes:
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"
