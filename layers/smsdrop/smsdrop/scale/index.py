"""The Index step: one chunk's keys as stable digests, in row order, for Merge to compare across chunks.

The chunk is read with the job's own reader and row checks; at the two index questions the trail notes the row's
digests and answers "first" (Merge decides later, in file order, whether the row really is). A row rejected for
another reason never reaches them, exactly as on one function.
"""

from __future__ import annotations

import struct
from array import array
from dataclasses import dataclass, field

from smsdrop.scale.digests import order_digest, send_digest

COUNT = struct.Struct("<Q")


@dataclass(slots=True)
class DigestTrail:
    """A FirstSeen that answers "first" to every row and keeps (row, orderId digest, send digest) of the rows after
    `after` (the rows before a chunk are read again, not indexed again); 0: no key."""

    after: int = 0
    rows: array[int] = field(default_factory=lambda: array("I"))
    orders: array[int] = field(default_factory=lambda: array("q"))
    sends: array[int] = field(default_factory=lambda: array("q"))

    def order(self, order_id: str, row: int) -> int:
        """Note the row's orderId digest; `row`."""
        if row > self.after:
            self._entry(row)
            self.orders[-1] = order_digest(order_id)
        return row

    def send(self, number: str, content: str, row: int) -> int:
        """Note the row's number-and-content digest; `row`."""
        if row > self.after:
            self._entry(row)
            self.sends[-1] = send_digest(number, content)
        return row

    def to_bytes(self) -> bytes:
        """The trail as one object: the count, then the rows, orderId digests and send digests."""
        return COUNT.pack(len(self.rows)) + self.rows.tobytes() + self.orders.tobytes() + self.sends.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> DigestTrail:
        """The trail `to_bytes` wrote."""
        (count,) = COUNT.unpack_from(data)
        trail, start = cls(), COUNT.size
        for column, width in ((trail.rows, 4), (trail.orders, 8), (trail.sends, 8)):
            column.frombytes(data[start : start + count * width])
            start += count * width
        return trail

    def _entry(self, row: int) -> None:
        if not self.rows or self.rows[-1] != row:
            self.rows.append(row)
            self.orders.append(0)
            self.sends.append(0)
