"""CRC-64/Jones, the checksum that ends every DUMP payload and RDB file.

RESTORE refuses a payload whose last 8 bytes are not this checksum of what
precedes them, so turning a key cut out of an RDB stream into a RESTORE
payload needs it. Reflected polynomial 0xad93d23594c935a9, initial value 0,
no final xor (crc64("123456789") == 0xe9c6d914c4b8d9ca).

Every key of a full copy is checksummed, so the C implementation of the anycrc
package (its CRC64-REDIS model) does it when installed, some fifteen times faster
than the table loop here, which stays as the reference and the fallback.
"""

from __future__ import annotations

_POLY = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 bit-reversed, for the reflected form


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc64(data: bytes, crc: int = 0) -> int:
    """The checksum of `data`, continuing from `crc` (so a payload can be fed in pieces)."""
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


try:
    import anycrc

    _fast = anycrc.Model("CRC64-REDIS").calc
except ImportError:  # the table loop then
    _fast = crc64


def dump_payload(value: bytes, rdb_version: int) -> bytes:
    """A DUMP payload: `value` (type byte and value as RDB writes them), the RDB version as
    two little-endian bytes, and the checksum of both."""
    body = value + rdb_version.to_bytes(2, "little")
    return body + _fast(body).to_bytes(8, "little")
