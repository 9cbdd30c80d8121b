"""The job's reader, kept to one chunk: rows from the chunk's start (or its checkpoint) up to its end.

Given a ranged reader (`RecipientReader(..., ranged=True)`), a plain CSV is read from the chunk's start: the header's
bytes, then the bytes from there, in the whole file's encoding, rows numbered as in the whole file. A gzip file or a
workbook is read from the top through the rows before the chunk, as a resumed one-function job is. Either way it
stops at the chunk's end.
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
        """Counted so that position.row - 1 - blank_lines is the chunk's data rows: exact once the chunk is read
        (the plan counted them); before, every record past the chunk's start counts (only a run that fails midway
        asks then, and its closing counts the items)."""
        chunk = self._chunk
        return chunk.end.row - 1 - chunk.rows if self._done else chunk.start.row - 1

    def report(self) -> dict[str, Any]:
        """What the reader says of the file (format, rules, texts)."""
        return self._whole.report()

    def keep(self, checkpoint: Position | None) -> None:
        """What the whole file's reader keeps at a hand-over (nothing: a chunk is entered at its start anyway)."""
        self._whole.keep(checkpoint)

    def rows(self, start: Position | None = None) -> Iterator[Row]:
        """The chunk's rows from `start` (its checkpoint) or from the chunk's start."""
        end = self._chunk.end.offset
        for row in self._whole.rows(start or self._chunk.start):
            if row.offset >= end:
                break
            yield row
        self._done = True
