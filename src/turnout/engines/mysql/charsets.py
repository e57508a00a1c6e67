"""MySQL's character sets as Python codecs, for text read from the binlog.

The binlog carries a text column's bytes in the column's own character set, and the row
decoders (rowcodec.py, and python-mysql-replication's) look a Python codec up by that
set's name. Three names lead them astray:

- MySQL's wide sets are big-endian without a byte order mark. Python has no "ucs2" codec
  (the library then hands the bytes over as they are, and they reached a text column as
  bytes), and reads "utf16" and "utf32" without a mark as little-endian ('wide' became
  '眀椀搀攀').
- MySQL's latin1 is Windows-1252 with the five bytes that code page leaves undefined
  (0x81, 0x8D, 0x8F, 0x90, 0x9D) read as U+0081 … U+009D; Python's cp1252 refuses them, and
  the task stopped with an UnicodeDecodeError.

Each table map's columns are renamed (read_right) to a codec that reads them as MySQL does,
registered here for latin1. A set Python has no codec for at all is refused at precheck
(decodable).
"""

from __future__ import annotations

import codecs
import encodings.cp1252
from collections.abc import Sequence
from typing import Any

LATIN1 = "mysql_latin1"
CODECS = {"ucs2": "utf-16-be", "utf16": "utf-16-be", "utf16le": "utf-16-le",
          "utf32": "utf-32-be", "latin1": LATIN1}
# the sets whose characters are not ASCII-compatible byte sequences: a 0x00 byte is part of
# most of their characters, not only of NUL (values.gap_test)
WIDE = frozenset({"ucs2", "utf16", "utf16le", "utf32"})

_DECODING = "".join(chr(i) if c == "\ufffe" else c
                    for i, c in enumerate(encodings.cp1252.decoding_table))
_ENCODING = codecs.charmap_build(_DECODING)


def _latin1(name: str) -> codecs.CodecInfo | None:
    if name != LATIN1:
        return None
    return codecs.CodecInfo(
        name=LATIN1,
        encode=lambda text, errors="strict": codecs.charmap_encode(text, errors, _ENCODING),
        # a str table, as Python's own cp1252 passes (typeshed knows only the dict form)
        decode=lambda data, errors="strict": codecs.charmap_decode(
            data, errors, _DECODING))  # type: ignore[arg-type]


codecs.register(_latin1)


def read_right(columns: Sequence[Any]) -> None:
    """Name each of a table map's columns whose character set Python would read wrong by the
    codec that reads it as MySQL does (both row decoders take a name they do not know as the
    codec's own)."""
    for column in columns:
        # the library keeps its own codec name there ('cp1252' for latin1); the collation
        # (latin1_swedish_ci, ucs2_general_ci…) names MySQL's character set
        charset = (getattr(column, "collation_name", None) or "").split("_", 1)[0]
        codec = CODECS.get(charset)
        if codec is not None:
            column.character_set_name = codec


def python_codec(charset: str | None) -> str | None:
    """The codec the library decodes a column's text with: its character set's, UTF-8 without
    one; None where Python has no such codec (`binary`), whose bytes the library hands over."""
    if charset is None:
        return "utf-8"
    from pymysqlreplication.row_event import RowsEvent

    encoding: str = RowsEvent.charset_to_encoding(charset)
    try:
        codecs.lookup(encoding)
    except LookupError:
        return None
    return encoding


def decodable(charset: str) -> bool:
    """Whether text in `charset` can be read from the binlog as text."""
    return charset in CODECS or python_codec(charset) is not None
