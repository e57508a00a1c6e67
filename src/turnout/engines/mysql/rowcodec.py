"""Row events decoded by readers built once per table map, not by the library's per-value dispatch.

python-mysql-replication decodes each value of each row by walking a chain of type tests and
looking its column up in the table map again; for sysbench's rows that was most of capture's
time. A table map does not change within a binlog file (capture.py), so the reading of each
of its columns is chosen once here, and a row is one loop over those readers.

The values come out exactly as the library gives them (the same Python types, the same
text decoding, the same None with the same reason for a zero date), so everything after
(events.py, values.py) is unchanged; tests/unit/test_rowcodec.py holds the two decoders
against each other on every type this module reads. A table with a column of any other
type (TIME, BIT, SET, JSON, GEOMETRY, the pre-5.6 temporal formats), or a row event that
leaves columns out (binlog_row_image other than FULL), is left to the library, which is
the reference.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
from collections.abc import Callable, Sequence
from typing import Any

from turnout.engines.mysql import charsets

# the library's field type codes (pymysqlreplication.constants.FIELD_TYPE) and None reasons
_DECIMAL, _TINY, _SHORT, _LONG, _FLOAT, _DOUBLE = 246, 1, 2, 3, 4, 5
_LONGLONG, _INT24, _DATE, _YEAR, _VARCHAR, _STRING = 8, 9, 10, 13, 15, 254
_TIMESTAMP2, _DATETIME2, _ENUM, _BLOB = 17, 18, 247, 252
OUT_OF_DATE_RANGE = "out of date range"
OUT_OF_DATETIME2_RANGE = "out of datetime2 range"
NULL = "null"

Reader = Callable[[bytes, int], tuple[Any, int]]  # (data, offset) -> (value, next offset)
_EPOCH = dt.datetime(1970, 1, 1)
_FIXED = {  # type, unsigned -> (struct, size)
    (_TINY, False): struct.Struct("<b"), (_TINY, True): struct.Struct("<B"),
    (_SHORT, False): struct.Struct("<h"), (_SHORT, True): struct.Struct("<H"),
    (_LONG, False): struct.Struct("<i"), (_LONG, True): struct.Struct("<I"),
    (_LONGLONG, False): struct.Struct("<q"), (_LONGLONG, True): struct.Struct("<Q"),
    (_FLOAT, False): struct.Struct("<f"), (_FLOAT, True): struct.Struct("<f"),
    (_DOUBLE, False): struct.Struct("<d"), (_DOUBLE, True): struct.Struct("<d"),
}
_COMPRESSED = (0, 1, 1, 2, 2, 3, 3, 4, 4, 4)  # bytes of a decimal's leftover digits


class RowCodec:
    """The readers of one table map's columns, in the map's order."""

    def __init__(self, names: list[str], readers: list[Reader], reasons: list[str]) -> None:
        self.names = names
        self.readers = readers
        self.reasons = reasons  # why a reader's None is None (not a NULL)
        self.null_bytes = (len(names) + 7) // 8

    def image(self, data: bytes, pos: int) -> tuple[dict[str, Any], dict[str, str], int]:
        """One row image at `pos`: values by name, why each None is None, the next offset."""
        width = self.null_bytes
        nulls = int.from_bytes(data[pos:pos + width], "little")
        pos += width
        values: list[Any] = []
        nones: dict[str, str] = {}
        for i, read in enumerate(self.readers):
            if nulls >> i & 1:
                values.append(None)
                nones[self.names[i]] = NULL
                continue
            value, pos = read(data, pos)
            if value is None:
                nones[self.names[i]] = self.reasons[i]
            values.append(value)
        return dict(zip(self.names, values, strict=True)), nones, pos


def every_column(count: int) -> bytes:
    """The columns-present bitmap of a row image that holds all `count` columns."""
    return b"\xff" * (count // 8) + (bytes([(1 << count % 8) - 1]) if count % 8 else b"")


def codec_for(columns: Sequence[Any]) -> RowCodec | None:
    """A codec for a table map's columns; None when one is of a type left to the library."""
    charsets.read_right(columns)
    readers: list[Reader] = []
    reasons: list[str] = []
    for column in columns:
        read = _reader(column)
        if read is None or not column.name:
            return None
        readers.append(read)
        reasons.append(OUT_OF_DATE_RANGE if column.type == _DATE
                       else OUT_OF_DATETIME2_RANGE if column.type == _DATETIME2 else NULL)
    return RowCodec([c.name for c in columns], readers, reasons)


def rows(codec: RowCodec, data: bytes, pos: int, end: int,
         update: bool) -> list[dict[str, Any]]:
    """The row images in `data[pos:end]`, in the library's shape (`values` /
    `none_sources`, or their `before_` and `after_` pairs for an UPDATE). The caller has
    checked that every image holds every column (rawevents.py)."""
    found: list[dict[str, Any]] = []
    image = codec.image
    while pos < end:
        values, nones, pos = image(data, pos)
        if not update:
            found.append({"values": values, "none_sources": nones})
            continue
        after, after_nones, pos = image(data, pos)
        found.append({"before_values": values, "before_none_sources": nones,
                      "after_values": after, "after_none_sources": after_nones})
    if pos != end:
        raise ValueError(f"a row event decoded past its end ({pos} > {end})")
    return found


def _reader(column: Any) -> Reader | None:
    kind = column.type
    fixed = _FIXED.get((kind, bool(column.unsigned)))
    if fixed is not None:
        return _fixed(fixed)
    if kind == _INT24:
        return _int24(bool(column.unsigned))
    if kind in (_VARCHAR, _STRING):
        return _text(2 if column.max_length > 255 else 1, column)
    if kind == _BLOB:
        return _text(column.length_size, column)
    if kind == _DATE:
        return _date
    if kind == _YEAR:
        return _year
    if kind == _DATETIME2:
        return _datetime2(column.fsp)
    if kind == _TIMESTAMP2:
        return _timestamp2(column.fsp)
    if kind == _ENUM and column.enum_values:
        return _enum(column.enum_values, column.size)
    if kind == _DECIMAL:
        return _decimal(column.precision, column.decimals)
    return None


def _fixed(unpack: struct.Struct) -> Reader:
    size, read = unpack.size, unpack.unpack_from

    def fixed(data: bytes, pos: int) -> tuple[Any, int]:
        return read(data, pos)[0], pos + size
    return fixed


def _int24(unsigned: bool) -> Reader:
    def int24(data: bytes, pos: int) -> tuple[int, int]:
        return int.from_bytes(data[pos:pos + 3], "little", signed=not unsigned), pos + 3
    return int24


def _text(length_size: int, column: Any) -> Reader | None:
    """A string or blob: `length_size` bytes of length, then the bytes, decoded as the library
    does (the column's character set, else UTF-8; strictly; bytes where Python has no codec
    for the character set)."""
    if length_size not in (1, 2, 3, 4):
        return None
    encoding = charsets.python_codec(column.character_set_name)

    def raw(data: bytes, pos: int) -> tuple[str | bytes, int]:
        start = pos + length_size
        stop = start + int.from_bytes(data[pos:start], "little")
        return data[start:stop] or "", stop  # Python decodes b'' to '' by any codec name
    if encoding is None:
        return raw
    codec: str = encoding

    def text(data: bytes, pos: int) -> tuple[str | bytes, int]:
        start = pos + length_size
        stop = start + int.from_bytes(data[pos:start], "little")
        return data[start:stop].decode(codec), stop
    return text


def _date(data: bytes, pos: int) -> tuple[dt.date | None, int]:
    packed = int.from_bytes(data[pos:pos + 3], "little")
    year, month, day = packed >> 9, packed >> 5 & 15, packed & 31
    if year == 0 or month == 0 or day == 0:  # a zero date, or partly zero
        return None, pos + 3
    return dt.date(year, month, day), pos + 3


def _year(data: bytes, pos: int) -> tuple[int, int]:
    return data[pos] + 1900, pos + 1


def _fraction_size(fsp: int) -> int:
    """Bytes of a temporal value's fractional seconds at precision `fsp` (0 to 6)."""
    return (fsp + 1) // 2


def _micros(data: bytes, pos: int, fsp: int) -> int:
    """The fractional seconds in µs, read as the library reads them (signed, big-endian; an
    odd precision is stored with one digit more)."""
    size = (fsp + 1) // 2
    if not size:
        return 0
    value = int.from_bytes(data[pos:pos + size], "big", signed=True)
    return (int(value / 10) if fsp % 2 else value) * 10 ** (6 - fsp)


def _datetime2(fsp: int) -> Reader:
    size = _fraction_size(fsp)

    def datetime2(data: bytes, pos: int) -> tuple[dt.datetime | None, int]:
        packed = int.from_bytes(data[pos:pos + 5], "big")
        year_month = packed >> 22 & 0x1FFFF
        try:
            value = dt.datetime(year_month // 13, year_month % 13, packed >> 17 & 31,
                                packed >> 12 & 31, packed >> 6 & 63, packed & 63)
        except ValueError:  # a zero or partly zero date
            return None, pos + 5 + size
        micros = _micros(data, pos + 5, fsp)
        return (value.replace(microsecond=micros) if micros > 0 else value), pos + 5 + size
    return datetime2


def _timestamp2(fsp: int) -> Reader:
    size = _fraction_size(fsp)
    seconds = struct.Struct(">i").unpack_from

    def timestamp2(data: bytes, pos: int) -> tuple[dt.datetime, int]:
        value = _EPOCH + dt.timedelta(seconds=seconds(data, pos)[0])
        micros = _micros(data, pos + 4, fsp)
        return (value.replace(microsecond=micros) if micros > 0 else value), pos + 4 + size
    return timestamp2


def _enum(labels: Sequence[str], size: int) -> Reader:
    def enum(data: bytes, pos: int) -> tuple[str, int]:
        return labels[int.from_bytes(data[pos:pos + size], "little")], pos + size
    return enum


def _decimal(precision: int, scale: int) -> Reader:
    """MySQL's packed DECIMAL: nine digits in each 4 bytes, the leftover digits of each side
    in fewer; a negative number stored inverted; the sign in the first bit."""
    integral = precision - scale
    whole_int, whole_frac = integral // 9, scale // 9
    left_int, left_frac = integral - whole_int * 9, scale - whole_frac * 9
    size_int, size_frac = _COMPRESSED[left_int], _COMPRESSED[left_frac]
    total = size_int + 4 * whole_int + 4 * whole_frac + size_frac

    def read(data: bytes, pos: int) -> tuple[decimal.Decimal, int]:
        raw = bytearray(data[pos:pos + total])
        negative = not raw[0] & 0x80
        raw[0] ^= 0x80
        mask = -1 if negative else 0
        text = "-" if negative else ""
        at = 0
        if size_int:
            text += str(int.from_bytes(raw[:size_int], "big", signed=True) ^ mask)
            at = size_int
        for _ in range(whole_int):
            text += f"{int.from_bytes(raw[at:at + 4], 'big', signed=True) ^ mask:09d}"
            at += 4
        text += "."
        for _ in range(whole_frac):
            text += f"{int.from_bytes(raw[at:at + 4], 'big', signed=True) ^ mask:09d}"
            at += 4
        if size_frac:
            value = int.from_bytes(raw[at:at + size_frac], "big", signed=True) ^ mask
            text += f"{value:0{left_frac}d}"
        return decimal.Decimal(text), pos + total
    return read
