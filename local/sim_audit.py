"""The gateway simulator's books: every number it accepted (to prove at-most-once) and the balance left."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Accepted:
    """One number the simulator accepted."""

    number: str
    order_id: str
    content_sha256: str
    msg_id: str


@dataclass(frozen=True, slots=True)
class Audit:
    """Everything accepted, and how often something was accepted twice (both must stay 0)."""

    accepted: list[Accepted]
    calls: int
    duplicate_order_ids: int
    duplicate_numbers: int
    """The same number with the same content accepted more than once."""


@dataclass(slots=True)
class _Books:
    accepted: list[Accepted] = field(default_factory=list)
    calls: int = 0
    duplicate_order_ids: int = 0
    duplicate_numbers: int = 0
    order_ids: set[str] = field(default_factory=set)
    sends: set[tuple[str, str]] = field(default_factory=set)
    by_msg_id: dict[str, tuple[str, float]] = field(default_factory=dict)


class Ledger:
    """Thread-safe books of the calls, the accepted numbers, and the balance (None: unlimited)."""

    def __init__(self, balance: int | None = None) -> None:
        self._lock = threading.Lock()
        self._books = _Books()
        self._balance = balance

    @property
    def balance(self) -> int | None:
        """Numbers that can still be accepted (None: unlimited)."""
        with self._lock:
            return self._balance

    @balance.setter
    def balance(self, balance: int | None) -> None:
        with self._lock:
            self._balance = balance

    def count_call(self) -> None:
        """Note one batch call, whatever its answer."""
        with self._lock:
            self._books.calls += 1

    def record(self, accepted: list[Accepted], now: float) -> bool:
        """Book `accepted` at `now`, counting duplicates; False (nothing booked) if the balance cannot cover them."""
        with self._lock:
            if self._balance is not None:
                if len(accepted) > self._balance:
                    return False
                self._balance -= len(accepted)
            books = self._books
            for a in accepted:
                books.duplicate_order_ids += bool(a.order_id) and a.order_id in books.order_ids
                books.duplicate_numbers += (a.number, a.content_sha256) in books.sends
                books.order_ids.add(a.order_id)
                books.sends.add((a.number, a.content_sha256))
                books.by_msg_id[a.msg_id] = (a.number, now)
            books.accepted.extend(accepted)
            return True

    def audit(self) -> Audit:
        """A copy of the audit."""
        with self._lock:
            books = self._books
            return Audit(list(books.accepted), books.calls, books.duplicate_order_ids, books.duplicate_numbers)

    def reset(self) -> None:
        """Forget every accepted number and call (the balance stays)."""
        with self._lock:
            self._books = _Books()

    def sent(self, msg_ids: list[str]) -> dict[str, tuple[str, float]]:
        """(number, time accepted) of each msgId of `msg_ids` that was accepted."""
        with self._lock:
            by_msg_id = self._books.by_msg_id
            return {m: by_msg_id[m] for m in msg_ids if m in by_msg_id}

    def order_ids(self) -> dict[str, str]:
        """The orderId of every accepted msgId, in the order they were accepted."""
        with self._lock:
            return {a.msg_id: a.order_id for a in self._books.accepted}
