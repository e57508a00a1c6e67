"""Values no plain Python type holds exactly, and keys in a JSON form that gives them back.

Engines hand these over where a driver's own type would lose something: JSON's text
apart from SQL NULL, a MySQL geometry with its SRID, a MySQL TIME that is no time of day,
spellings like `infinity` or `0000-00-00`. Checkpoints save keys holding any of them
(key_to_json) and read them back as the same values. turnout.model re-exports all of it.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Key = tuple[Any, ...]


class JsonText(str):
    """A JSON document as its text, told apart from a plain string.

    Engines hand JSON over as its text so that JSON's own `null` stays apart from
    SQL NULL (Python's json.loads makes both None) and a scalar string stays a
    JSON string; writers pass the text as it is.
    """

    __slots__ = ()

    def compact(self) -> str:
        """The text without whitespace between tokens; numbers and strings exactly as written
        (parsing and writing it again would turn 1.10 into 1.1 and 1e400 into Infinity)."""
        out: list[str] = []
        in_string = escaped = False
        for ch in self:
            if escaped:
                escaped = False
            elif in_string:
                escaped = ch == "\\"
                in_string = ch != '"'
            elif ch in " \t\n\r":
                continue
            else:
                in_string = ch == '"'
            out.append(ch)
        return "".join(out)



class Geometry(bytes):
    """A MySQL spatial value as MySQL stores it: a 4-byte little-endian SRID, then WKB.

    The bytes are the value (MySQL takes them back as they are); cast to text it is written
    as EWKT (casts.py), the form PostGIS and MySQL read back exactly.
    """

    @property
    def srid(self) -> int:
        return int.from_bytes(self[:4], "little")

    @property
    def wkb(self) -> bytes:
        return bytes(self[4:])


class Duration(dt.timedelta):
    """A time column's value that is no time of day: a MySQL TIME past 24 hours or negative.

    Written as MySQL writes it (`-838:59:59`, `34:00:00.5`) wherever it becomes text.
    """

    def __str__(self) -> str:
        micros = abs(self) // dt.timedelta(microseconds=1)
        seconds, micros = divmod(micros, 1_000_000)
        sign = "-" if self < dt.timedelta(0) else ""
        text = f"{sign}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return text + (f".{micros:06d}".rstrip("0") if micros else "")


@dataclass(frozen=True, order=False)
class Spelled:
    """A value no Python type holds exactly, kept as its source spells it.

    PostgreSQL's `infinity` and `-infinity`, dates before year 1 or after
    9999, `24:00:00`, intervals of months: a destination of the same kind
    takes the spelling back as the value; another engine's column refuses it
    (plan.py) unless the column was cast to text, which then holds the spelling.
    `rank` orders it among values of its column: -1 below every other, 1 above.
    """

    text: str
    rank: int = 0

    def __str__(self) -> str:
        return self.text

    def _cmp(self, other: object) -> int | None:
        if isinstance(other, Spelled):
            return (self.rank > other.rank) - (self.rank < other.rank) or (
                (self.text > other.text) - (self.text < other.text))
        return self.rank if self.rank else None

    def __lt__(self, other: object) -> bool:
        order = self._cmp(other)
        return NotImplemented if order is None else order < 0

    def __gt__(self, other: object) -> bool:
        order = self._cmp(other)
        return NotImplemented if order is None else order > 0


@dataclass(frozen=True, order=False)
class ZeroDate(Spelled):
    """A MySQL date with a zero year, month or day (`0000-00-00`, `2024-00-10`), kept as MySQL
    spells it: a MySQL destination takes it back as it is; no other engine holds it, which
    precheck says (gaps.py). It sorts below every real date."""

    rank: int = -1


def key_to_json(key: Key) -> str:
    """A key as JSON that gives back values of the same Python types (key_from_json).

    Keys are saved in checkpoints and read back as bounds of key ranges, so a
    date must come back a date, not a string: every type JSON has no word for
    goes as a one-entry object naming it ({"$hex": ...} for bytes, as before).
    """
    return json.dumps([_tagged(v) for v in key])


def key_from_json(text: str) -> Key:
    return tuple(_untagged(v) for v in json.loads(text))


def _tagged(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$hex": bytes(value).hex()}
    if isinstance(value, ZeroDate):  # a Spelled too, but precheck tells the two apart
        return {"$zero": value.text}
    if isinstance(value, Spelled):
        return {"$spelled": [value.text, value.rank]}
    for tag, kind in _TAGS.items():
        if isinstance(value, kind):
            return {tag: _TAG_TEXT[tag](value)}
    return value


def _untagged(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, text), = value.items()
        if tag == "$hex":
            return bytes.fromhex(text)
        if tag == "$spelled":
            return Spelled(*text)
        if tag == "$zero":
            return ZeroDate(text)
        if tag in _TAG_READ:
            return _TAG_READ[tag](text)
    return value


def _delta_text(value: dt.timedelta) -> list[int]:
    return [value.days, value.seconds, value.microseconds]


# datetime before date: a datetime is a date too
_TAGS: dict[str, type | tuple[type, ...]] = {
    "$datetime": dt.datetime, "$date": dt.date, "$time": dt.time, "$timedelta": dt.timedelta,
    "$decimal": Decimal, "$uuid": uuid.UUID,
}
_TAG_TEXT: dict[str, Any] = {
    "$datetime": dt.datetime.isoformat, "$date": dt.date.isoformat, "$time": dt.time.isoformat,
    "$timedelta": _delta_text, "$decimal": str, "$uuid": str,
}
_TAG_READ: dict[str, Any] = {
    "$datetime": dt.datetime.fromisoformat, "$date": dt.date.fromisoformat,
    "$time": dt.time.fromisoformat, "$timedelta": lambda v: dt.timedelta(*v),
    "$decimal": Decimal, "$uuid": uuid.UUID,
}
