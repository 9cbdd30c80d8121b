"""Sets of row numbers as the job item keeps them: a batch's rows in flight, the rows recorded past the checkpoint.

Packed as the first row (5 bytes, big-endian) and a zlib-compressed bitmap from it: a batch of 1,000 rows in a
row of 1,000 takes ~20 bytes, and 20,000 rows scattered at random over 100,000 at most ~13 KB, where the old
comma-separated text took 7 bytes a row. The job item is rewritten with every batch and a write costs a unit per
KB, so its size is its cost (docs/table-design.md). Marks written as that text by an earlier version still read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

FIRST_ROW_BYTES = 5  # rows stop at 10**10 - 1 < 2**40


def pack(rows: Iterable[int]) -> bytes:
    """The packed form of `rows` (any order, repeats ignored); b"" for none."""
    ordered = sorted(set(rows))
    if not ordered:
        return b""
    first = ordered[0]
    bitmap = bytearray((ordered[-1] - first) // 8 + 1)
    for row in ordered:
        offset = row - first
        bitmap[offset >> 3] |= 1 << (offset & 7)
    return first.to_bytes(FIRST_ROW_BYTES, "big") + zlib.compress(bytes(bitmap))


def unpack(packed: bytes | str) -> tuple[int, ...]:
    """The rows of a packed set, ascending; a str is the comma-separated text an earlier version wrote."""
    if isinstance(packed, str):
        return tuple(sorted(int(row) for row in packed.split(",") if row))
    if not packed:
        return ()
    first = int.from_bytes(packed[:FIRST_ROW_BYTES], "big")
    bitmap = zlib.decompress(packed[FIRST_ROW_BYTES:])
    return tuple(
        first + (index << 3) + bit for index, byte in enumerate(bitmap) if byte for bit in range(8) if byte >> bit & 1
    )
