"""Rows recorded past the checkpoint: batches are recorded out of row order, so some rows past the checkpoint have
their items already. The job item lists them (told with the batches' completions), so a resumed invocation skips
them without reading the job back. The batcher keeps every row it holds within `lag_rows` of the reader, so the
list stays short (smsdrop.send.batching)."""

from __future__ import annotations

import heapq
from collections.abc import Iterable


class RecordedPast:
    """The rows recorded past the checkpoint row, and whether they changed since the job item was last told."""

    def __init__(self, rows: Iterable[int], checkpoint_row: int, told: Iterable[int] | None = None) -> None:
        """`told`: the rows the job item lists, if they may differ from `rows` (then `untold` tells `rows` first)."""
        self._checkpoint_row = checkpoint_row
        self._rows = {row for row in rows if row > checkpoint_row}
        self._order = sorted(self._rows)
        self._changed = told is not None and self._rows != {row for row in told if row > checkpoint_row}

    def add(self, rows: Iterable[int]) -> None:
        """Rows just recorded (those at or before the checkpoint are not kept)."""
        for row in rows:
            if row > self._checkpoint_row and row not in self._rows:
                self._rows.add(row)
                heapq.heappush(self._order, row)
                self._changed = True

    def move(self, checkpoint_row: int) -> None:
        """The checkpoint moved to `checkpoint_row`: the rows it passed are no longer listed."""
        self._checkpoint_row = max(self._checkpoint_row, checkpoint_row)
        while self._order and self._order[0] <= self._checkpoint_row:
            self._rows.discard(heapq.heappop(self._order))
            self._changed = True

    def untold(self) -> tuple[int, ...] | None:
        """The rows to tell the job item, ascending, if they changed since the last call; else None."""
        if not self._changed:
            return None
        self._changed = False
        return tuple(sorted(self._rows))
