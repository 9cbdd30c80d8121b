"""The batch endpoint's answer read into one Outcome per number: by `array`, `failArray`, or neither."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from smsdrop.masking import mask_digits
from smsdrop.models import Outcome, Recipient, Status

NOT_ACKNOWLEDGED = "not acknowledged"
_LEADING_CODE = re.compile(r"\s*(-\d+)\b")


def entries(value: object) -> list[Mapping[str, Any]]:
    """The objects of an `array` or `failArray` (a missing or malformed one is empty)."""
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def every(recipients: Sequence[Recipient], outcome: Outcome) -> dict[int, Outcome]:
    """The same outcome for every recipient's row."""
    return {r.row: outcome for r in recipients}


def resolve(
    recipients: Sequence[Recipient], answer: Mapping[str, Any], *, failed: Outcome, missing: Outcome
) -> dict[int, Outcome]:
    """Per number: in `array` is SUBMITTED; in `failArray` is FAILED (with its entry's reason, else `failed`'s);
    in neither gets `missing`."""
    claims = _Claims(recipients)
    outcomes: dict[int, Outcome] = {}
    for entry in entries(answer.get("array")):
        if (row := claims.take(entry)) is not None:
            outcomes[row] = Outcome(Status.SUBMITTED, msg_id=str(entry.get("msgId") or "") or None)
    for entry in entries(answer.get("failArray")):
        if (row := claims.take(entry)) is not None:
            reason = mask_digits(str(entry.get("reason", ""))) or failed.reason
            code = m.group(1) if (m := _LEADING_CODE.match(reason)) else failed.provider_code
            outcomes[row] = Outcome(Status.FAILED, reason=reason, provider_code=code)
    return {r.row: outcomes.get(r.row, missing) for r in recipients}


class _Claims:
    """Matches answer entries to recipients: by orderId first, else the first unclaimed same number."""

    def __init__(self, recipients: Sequence[Recipient]) -> None:
        self._by_order = {r.order_id: r for r in recipients}
        self._by_number: dict[str, list[Recipient]] = defaultdict(list)
        for r in recipients:
            self._by_number[r.number].append(r)
        self._taken: set[int] = set()

    def take(self, entry: Mapping[str, Any]) -> int | None:
        recipient = self._by_order.get(str(entry.get("orderId", "")))
        if recipient is None or recipient.row in self._taken:
            recipient = next(self._unclaimed(str(entry.get("number", ""))), None)
        if recipient is None:
            return None
        self._taken.add(recipient.row)
        return recipient.row

    def _unclaimed(self, number: str) -> Iterator[Recipient]:
        return (r for r in self._by_number.get(number, ()) if r.row not in self._taken)
