"""The Merge step: "first occurrence wins" over every chunk's digests, in file order, as one reader would decide.

A row whose orderId came earlier loses to that row (and is not looked at for duplicates, as on one function); a row
whose number and content came earlier loses to that row. The losers of each chunk are what its Send child rejects.
"""

from __future__ import annotations

from collections.abc import Iterator

from smsdrop.intake.first_rows import FirstRows
from smsdrop.intake.first_seen import ORDER, SEND
from smsdrop.scale.index import DigestTrail

Loser = tuple[int, str, int]
"""(row, kind, first row): kind ORDER or SEND."""


class Merge:
    """The whole file's two indexes, fed chunk by chunk in chunk order (24 to 48 bytes a key each)."""

    def __init__(self) -> None:
        self._orders = FirstRows()
        self._sends = FirstRows()

    def losers(self, trail: DigestTrail) -> list[Loser]:
        """The rows of the next chunk that lose to an earlier row (of any chunk so far, this one included)."""
        return list(self._losers(trail))

    def _losers(self, trail: DigestTrail) -> Iterator[Loser]:
        for row, order, send in zip(trail.rows, trail.orders, trail.sends, strict=True):
            if order and (first := self._orders.first(order, row)) != row:
                yield row, ORDER, first
            elif send and (first := self._sends.first(send, row)) != row:
                yield row, SEND, first
