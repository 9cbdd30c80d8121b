"""Checked rows grouped into provider calls: one item per (content, senderId), within the API's limits.

A bounded window of pending recipients is grouped by (content, senderId). A group that fills a call is
sent at once; when the window is full, or `lag_rows` rows came in since it was last emptied, every group is packed
into calls, largest first. Rejected rows ride along with the next batch. Each batch says where a resumed run may
start reading again: no recipient waits more than `lag_rows` rows behind the reader, so the rows recorded past a
checkpoint stay bounded (the job item lists them; the results file holds their lines until the checkpoint passes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import count
from json.encoder import encode_basestring
from operator import attrgetter

from smsdrop.models import Batch, CallItem, Position, Recipient, Row, RowError

APP_ID_CHARS = 64
CALL_BYTES = len('{"appId":"","array":[]}') + APP_ID_CHARS
ITEM_BYTES = len('{"numbers":"","content":,"senderId":,"orderId":""}') + 1
MIN_BODY_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """Bounds of one call (numbers, request bytes), of the look-ahead window, of how far behind the reader a
    recipient may wait, and of rejected rows held."""

    numbers_per_call: int = 1000
    max_body_bytes: int = 1_000_000
    window_rows: int = 5000
    lag_rows: int = 20_000
    max_rejected: int = 1000

    def __post_init__(self) -> None:
        if min(self.numbers_per_call, self.window_rows, self.lag_rows, self.max_rejected) < 1:
            raise ValueError(f"every limit must be at least 1: {self}")
        if self.max_body_bytes < MIN_BODY_BYTES:
            raise ValueError(f"max_body_bytes must be at least {MIN_BODY_BYTES} (one recipient at its largest)")


def batches(
    rows: Iterable[Row], position: Callable[[], Position], limits: BatchLimits, first_seq: int = 0
) -> Iterator[Batch]:
    """The batches for `rows`, numbered from `first_seq`; `position()` is where the reader stands."""
    window = _Window(limits, count(first_seq), position)
    add, reject = window.add, window.reject
    for row in rows:
        sent = reject(row) if isinstance(row, RowError) else add(row)
        if sent:
            yield from sent
    yield from window.drain()


class _Group:
    """Pending recipients sharing content and senderId, with the bytes they add to a request."""

    __slots__ = ("bytes", "key", "recipients", "text_bytes")

    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key
        self.text_bytes = ITEM_BYTES + _json_bytes(key[0]) + _sender_bytes(key[1])
        self.bytes = self.text_bytes
        self.recipients: list[Recipient] = []

    def item(self, start: int = 0, stop: int | None = None) -> CallItem:
        """Recipients `start` to `stop` as one item of a call."""
        recipients = self.recipients if start == 0 and stop is None else self.recipients[start:stop]
        return CallItem(self.key[0], self.key[1], tuple(recipients))


class _CallBuilder:
    """The items of one call being filled, group by group, up to the limits."""

    def __init__(self, limits: BatchLimits) -> None:
        self._limits = limits
        self._numbers = 0
        self._bytes = CALL_BYTES
        self.items: list[CallItem] = []

    def take(self, group: _Group, start: int) -> int:
        """Put in recipients of `group` from `start` while they fit; where the ones left start."""
        room = self._limits.numbers_per_call - self._numbers
        left = self._limits.max_body_bytes - self._bytes - group.text_bytes
        if start == 0 and len(group.recipients) <= room and group.bytes - group.text_bytes <= left:
            stop, used = len(group.recipients), group.bytes - group.text_bytes
        else:
            stop, used = _fitting(group.recipients[start : start + room], left)
            stop += start
        if stop > start:
            self.items.append(group.item(start, stop))
            self._numbers += stop - start
            self._bytes += group.text_bytes + used
        return stop


def _fitting(recipients: list[Recipient], room: int) -> tuple[int, int]:
    """How many of `recipients`, from the first, fit in `room` bytes, and the bytes they take."""
    used = 0
    for taken, recipient in enumerate(recipients):
        cost = _recipient_bytes(recipient)
        if used + cost > room:
            return taken, used
        used += cost
    return len(recipients), used


class _Window:
    """Pending recipients by group and rejected rows not yet in a batch."""

    def __init__(self, limits: BatchLimits, seq: Iterator[int], position: Callable[[], Position]) -> None:
        self._limits = limits
        self._room = limits.max_body_bytes - CALL_BYTES  # what a group may weigh, for the hot path of add
        self._per_call = limits.numbers_per_call
        self._window_rows = limits.window_rows
        self._lag_rows = limits.lag_rows
        self._since_drain = 0
        self._seq = seq
        self._position = position
        self._groups: dict[tuple[str, str], _Group] = {}
        self._pending = 0
        self._rejected: list[RowError] = []

    def reject(self, row: RowError) -> list[Batch]:
        """Hold a rejected row; a batch of rejected rows alone once `max_rejected` are held."""
        self._rejected.append(row)
        self._since_drain += 1
        if self._since_drain >= self._lag_rows:
            return list(self.drain())
        if len(self._rejected) < self._limits.max_rejected:
            return []
        return [self._batch((), self._earliest_waiting())]

    def add(self, recipient: Recipient) -> list[Batch] | tuple[()]:
        """Add a recipient; a batch if its group fills a call, several if the window is full."""
        key, cost = (recipient.content, recipient.sender_id), _recipient_bytes(recipient)
        group = self._groups.get(key) or self._open(key)
        sent: list[Batch] | tuple[()] = ()
        if group.bytes + cost > self._room:
            sent = [self._send(group)]
            group = self._open(key)
        group.recipients.append(recipient)
        group.bytes += cost
        self._pending += 1
        self._since_drain += 1
        if len(group.recipients) == self._per_call:
            sent = [*sent, self._send(group)]
        if self._pending >= self._window_rows or self._since_drain >= self._lag_rows:
            sent = [*sent, *self.drain()]
        return sent

    def drain(self) -> Iterator[Batch]:
        """Every pending recipient packed into calls, largest groups first; then any rejected rows left."""
        calls = self._pack(sorted(self._groups.values(), key=lambda g: len(g.recipients), reverse=True))
        self._groups.clear()
        self._pending = 0
        self._since_drain = 0
        for items, earliest in zip(calls, _earliest_after(calls), strict=True):
            yield self._batch(items, earliest)
        if self._rejected:
            yield self._batch((), None)

    def _open(self, key: tuple[str, str]) -> _Group:
        group = self._groups[key] = _Group(key)
        return group

    def _send(self, group: _Group) -> Batch:
        del self._groups[group.key]
        self._pending -= len(group.recipients)
        return self._batch((group.item(),), self._earliest_waiting())

    def _pack(self, groups: list[_Group]) -> list[tuple[CallItem, ...]]:
        calls, call = [], _CallBuilder(self._limits)
        for group in groups:
            start = call.take(group, 0)
            while start < len(group.recipients):
                calls.append(tuple(call.items))
                call = _CallBuilder(self._limits)
                start = call.take(group, start)
        return [*calls, tuple(call.items)] if call.items else calls

    def _earliest_waiting(self) -> Recipient | None:
        firsts = (group.recipients[0] for group in self._groups.values())
        return min(firsts, key=_row_of, default=None)

    def _batch(self, items: tuple[CallItem, ...], earliest: Recipient | None) -> Batch:
        """A batch of `items` and the rejected rows held; it resumes at the earliest recipient still waiting."""
        rejected, self._rejected = tuple(self._rejected), []
        resume_at = self._position() if earliest is None else Position(earliest.offset, earliest.row - 1)
        return Batch(next(self._seq), items, rejected, resume_at)


def _earliest_after(calls: list[tuple[CallItem, ...]]) -> list[Recipient | None]:
    """For each call, the earliest recipient in the calls after it (None after the last)."""
    earliest: list[Recipient | None] = []
    after: Recipient | None = None
    for items in reversed(calls):
        earliest.append(after)
        firsts = [item.recipients[0] for item in items]
        after = min([*firsts, after] if after else firsts, key=_row_of)
    return earliest[::-1]


_row_of: Callable[[Recipient], int] = attrgetter("row")


def _recipient_bytes(recipient: Recipient) -> int:
    """What one recipient adds to an item: its number, its JSON-escaped orderId, a comma after each.

    The orderId's two quotes, counted by _json_bytes, stand for the two commas.
    """
    return len(recipient.number) + _json_bytes(recipient.order_id)


def _json_bytes(text: str) -> int:
    """The UTF-8 length of `text` as a JSON string (quotes included), as json.dumps(ensure_ascii=False)."""
    escaped = encode_basestring(text)
    return len(escaped) if escaped.isascii() else len(escaped.encode())


@lru_cache(maxsize=1024)
def _sender_bytes(sender_id: str) -> int:
    """_json_bytes for senderIds, which repeat."""
    return _json_bytes(sender_id)
