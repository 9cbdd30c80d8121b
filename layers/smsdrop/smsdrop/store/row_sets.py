"""Sets of row numbers as the job item keeps them: a batch's rows in flight, the rows recorded past the checkpoint.

Packed as the gaps between the rows in order (the first row, then each row minus the one before), as base-128
varints, zlib-compressed: a batch of 1,000 rows in a row, or of every other row, takes ~20 bytes, and 5,000 rows
scattered over 20,000 about 2 KB, where the old comma-separated text took 7 bytes a row. The size follows the
number of rows, never their span. The job item is rewritten with every batch and a write costs a unit per KB, so its
size is its cost (docs/table-design.md). Marks written as that text by an earlier version still read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable


def pack(rows: Iterable[int]) -> bytes:
    """The packed form of `rows` (any order, repeats ignored); b"" for none."""
    ordered = sorted(set(rows))
    if not ordered:
        return b""
    gaps = bytearray()
    previous = 0
    for row in ordered:
        gap, previous = row - previous, row
        while gap >= 0x80:
            gaps.append(gap & 0x7F | 0x80)
            gap >>= 7
        gaps.append(gap)
    return zlib.compress(bytes(gaps))


def unpack(packed: bytes | str) -> tuple[int, ...]:
    """The rows of a packed set, ascending; a str is the comma-separated text an earlier version wrote."""
    if isinstance(packed, str):
        return tuple(sorted(int(row) for row in packed.split(",") if row))
    if not packed:
        return ()
    rows: list[int] = []
    row = gap = shift = 0
    for byte in zlib.decompress(packed):
        gap |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            row += gap
            rows.append(row)
            gap = shift = 0
    return tuple(rows)
