"""LZF decompression, for the keys an RDB stores compressed.

Values pass through to RESTORE untouched, but a key is needed as text to
filter it and to name it in RESTORE, and an RDB compresses any string over
20 bytes when rdbcompression is on (the default).
"""

from __future__ import annotations

from turnout.errors import OperationFailed


def decompress(data: bytes, size: int) -> bytes:
    """`data` decompressed to its `size` bytes."""
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        ctrl = data[i]
        i += 1
        if ctrl < 32:  # a literal run of ctrl + 1 bytes
            out += data[i:i + ctrl + 1]
            i += ctrl + 1
            continue
        length = ctrl >> 5
        if length == 7:
            length += data[i]
            i += 1
        back = len(out) - ((ctrl & 0x1F) << 8) - data[i] - 1
        i += 1
        if back < 0:
            raise OperationFailed("the source's RDB holds a corrupt LZF string")
        for k in range(length + 2):  # copies may overlap what they produce
            out.append(out[back + k])
    if len(out) != size:
        raise OperationFailed("the source's RDB holds a corrupt LZF string")
    return bytes(out)
