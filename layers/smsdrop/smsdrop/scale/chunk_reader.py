"""The job's reader, kept to one chunk: rows from the chunk's start (or its checkpoint) up to its end.

It reads through the prefix the way a resumed single-function job does (the reader seeks by reading records, so
the file's encoding, delimiter and row numbers are exactly the whole file's); then it stops at the chunk's end.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from smsdrop.models import Position, Row
from smsdrop.scale.chunks import Chunk
from smsdrop.send.ports import Reader


class ChunkReader:
    """A Reader of the rows of `chunk` only; position and blank lines as if the chunk were the whole file, so the
    runner counts the chunk's own data rows."""

    def __init__(self, whole: Reader, chunk: Chunk) -> None:
        self._whole = whole
        self._chunk = chunk
        self._done = False

    @property
    def position(self) -> Position:
        """Right after the last row yielded; the chunk's end once it is read."""
        return self._chunk.end if self._done else self._whole.position

    @property
    def blank_lines(self) -> int:
        """Counted so that position.row - 1 - blank_lines is the chunk's data rows read so far."""
        chunk = self._chunk
        blanks = chunk.end_blanks if self._done else self._whole.blank_lines
        return chunk.start.row - 1 + blanks - chunk.start_blanks

    def report(self) -> dict[str, Any]:
        """What the reader says of the file (format, rules, texts)."""
        return self._whole.report()

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """The chunk's rows from `start` (its checkpoint) or from the chunk's start."""
        end = self._chunk.end.offset
        for row in self._whole.rows(start or self._chunk.start):
            if row.offset >= end:
                break
            yield row
        self._done = True
