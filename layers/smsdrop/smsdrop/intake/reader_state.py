"""What a reader knows of a CSV up to a record, as bytes: the snapshot a hand-over leaves so that the next invocation
enters the file at its checkpoint instead of reading and checking every row before it again.

A state holds the position it was taken at (`read`), the blank lines and the texts' tally counted up to there, the
rules the rows were checked under, and the two whole-file indexes (orderIds; number + content) as the tables of their
FirstRows: 8-byte BLAKE2b digests of the keys and the first row of each, taken as they are (no key is inserted again
on the way back, so taking a state back costs C time, not Python time per key). The bytes are the tables and a small
JSON header, zlib-compressed (its checksum finds a corrupt object).

A state taken at `read` answers every later row exactly as a reader that read the whole file: its indexes hold the
first row of every key up to `read`, so a row after the resume point finds the same first row; the rows between the
resume point and `read` are read again, and find themselves (the tally and the blank lines skip them: counted).
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from array import array
from dataclasses import dataclass
from typing import Any

from smsdrop.errors import SmsdropError
from smsdrop.intake.first_rows import FirstRows
from smsdrop.models import Position
from smsdrop.output.cheaper_texts import TextTally

MAGIC = b"smsdrop-reader-state-1\n"
_HEADER_SIZE = struct.Struct("<I")
_COMPRESSION = (1, zlib.DEFLATED, zlib.MAX_WBITS, 9, zlib.Z_RLE)
"""Runs only (the empty slots, the rows' high bytes): the digests do not compress anyway, and at 1M rows it is half
level 1's time for a smaller result."""


class StateUnusableError(SmsdropError):
    """Bytes that are no reader state this code can take back (corrupt, cut short, or of another format)."""


@dataclass(frozen=True, slots=True)
class ReaderState:
    """A reader's memory of the file through the record before `read` (see the module docstring)."""

    read: Position
    blank_lines: int
    texts: dict[str, Any]
    rules: str
    orders: FirstRows
    sends: FirstRows


def encoded(state: ReaderState) -> bytes:
    """`state` as compressed bytes."""
    tables = [*state.orders.table, *state.sends.table]
    header = {
        "read": [state.read.offset, state.read.row],
        "blank_lines": state.blank_lines,
        "texts": state.texts,
        "rules": state.rules,
        "byteorder": sys.byteorder,
        "slots": [len(state.orders.table[0]), len(state.sends.table[0])],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    compressor = zlib.compressobj(*_COMPRESSION)
    parts = [compressor.compress(MAGIC + _HEADER_SIZE.pack(len(head)) + head)]
    parts += [compressor.compress(table) for table in tables]  # arrays give their buffer: no copy
    return b"".join([*parts, compressor.flush()])


def decoded(data: bytes) -> ReaderState:
    """The state `encoded` made; StateUnusableError if `data` is not one."""
    try:
        raw = memoryview(zlib.decompress(data))
    except zlib.error as error:
        raise StateUnusableError(f"not a compressed reader state: {error}") from None
    if raw[: len(MAGIC)] != MAGIC:
        raise StateUnusableError("not a reader state of this format")
    at = len(MAGIC) + _HEADER_SIZE.size
    (size,) = _HEADER_SIZE.unpack_from(raw, len(MAGIC))
    try:
        header = json.loads(bytes(raw[at : at + size]))
        orders_slots, sends_slots = header["slots"]
        at += size
        orders, at = _index(raw, at, orders_slots, header["byteorder"])
        sends, at = _index(raw, at, sends_slots, header["byteorder"])
        read = Position(*header["read"])
        TextTally.restored(False, header["texts"], read.row)  # the tally's shape, checked before a row depends on it
        return ReaderState(read, header["blank_lines"], header["texts"], header["rules"], orders, sends)
    except (ValueError, KeyError, TypeError) as error:
        raise StateUnusableError(f"a reader state that does not hold together: {error}") from None


def _index(raw: memoryview, at: int, slots: int, byteorder: str) -> tuple[FirstRows, int]:
    """The FirstRows whose table starts at `at` (its keys, then its rows), and where the bytes after it start."""
    keys, rows = array("q"), array("I")
    keys_end = at + slots * keys.itemsize
    rows_end = keys_end + slots * rows.itemsize
    if rows_end > len(raw):
        raise ValueError("the tables are cut short")
    keys.frombytes(raw[at:keys_end])
    rows.frombytes(raw[keys_end:rows_end])
    if byteorder != sys.byteorder:
        keys.byteswap()
        rows.byteswap()
    return FirstRows.restored(keys, rows), rows_end
