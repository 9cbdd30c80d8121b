"""A job resumed after a stop or a cancel sends exactly the rows its stop or cancel left unsent, and nothing else.

The file is read again from the top (the same version of the upload); beside it, the job's items in row order. A row
whose item is marked unsent (Outcome.unsent) goes on to be batched and sent, its item replaced only while it is still
unsent (Results.write_unsent); every other row keeps its item, whose line goes to the results file as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from smsdrop.models import Row
from smsdrop.send.ports import Item, ResultsStream
from smsdrop.store.steering import UNSENT


class UnsentRows:
    """Picks the unsent rows of a resumed job from its rows as read, against `items` (the job's items in row order
    from the same point); the others' items go to `stream`."""

    def __init__(self, items: Iterable[Item], stream: ResultsStream) -> None:
        self._items = iter(items)
        self._stream = stream
        self._next: Item | None = None

    def pick(self, rows: Iterable[Row]) -> Iterator[Row]:
        """The rows of `rows` whose items are marked unsent (a row without an item is never sent: it may have been)."""
        for row in rows:
            item = self._item_of(row.row)
            if item is None:
                continue
            if UNSENT in item:
                yield row
            else:
                self._stream.add([item])

    def _item_of(self, row: int) -> Item | None:
        while self._next is None or _row(self._next) < row:
            self._next = next(self._items, None)
            if self._next is None:
                return None
        return self._next if _row(self._next) == row else None


def _row(item: Item) -> int:
    return int(item["row"]["N"])
