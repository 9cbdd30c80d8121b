"""Where a row's duplicate and orderId checks learn the first row of its key: the whole-file index of one reader
(today's single function), or what the scale-out engine's Merge decided for a chunk (docs/scale-out.md).

Both checks ask the same two questions in file order: the first row with this orderId, the first row with this
number and content. An answer other than the row itself rejects the row ("duplicate of row N").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from smsdrop.intake.first_rows import FirstRows
from smsdrop.scale.digests import SEPARATOR, digest

ORDER = "o"
"""A row that repeats an earlier row's orderId."""
SEND = "d"
"""A row that repeats an earlier row's number and content."""


class FirstSeen(Protocol):
    """The first row of a key, asked in file order."""

    def order(self, order_id: str, row: int) -> int:
        """The first row with `order_id` (`row` itself if none came before)."""
        ...

    def send(self, number: str, content: str, row: int) -> int:
        """The first row sending `content` to `number` (`row` itself if none came before)."""
        ...


class LocalFirstSeen:
    """One reader's index of the whole file, keyed by stable 64-bit digests (8-byte BLAKE2b, smsdrop.scale.digests): the
    same in every process, so a hand-over can keep the index in a snapshot and the next invocation take it back."""

    def __init__(self, orders: FirstRows | None = None, sends: FirstRows | None = None) -> None:
        self.orders = orders or FirstRows()
        self.sends = sends or FirstRows()

    def order(self, order_id: str, row: int) -> int:
        """The first row with `order_id`, remembering `row` if it is new."""
        return self.orders.first(digest(order_id), row)

    def send(self, number: str, content: str, row: int) -> int:
        """The first row sending `content` to `number`, remembering `row` if it is new."""
        return self.sends.first(digest(number + SEPARATOR + content), row)  # send_digest, inlined


class MergedLosers:
    """A chunk's answers as the Merge step wrote them: row -> (kind, first row); every other row is a first."""

    def __init__(self, losers: Mapping[int, tuple[str, int]]) -> None:
        self._losers = losers

    def order(self, order_id: str, row: int) -> int:
        """The earlier row Merge found for this row's orderId, or `row`."""
        return self._first(ORDER, row)

    def send(self, number: str, content: str, row: int) -> int:
        """The earlier row Merge found for this row's number and content, or `row`."""
        return self._first(SEND, row)

    def _first(self, kind: str, row: int) -> int:
        found = self._losers.get(row)
        return found[1] if found is not None and found[0] == kind else row
