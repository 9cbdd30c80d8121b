"""Delivery reports as the provider gives them (getReport entries and pushes), read leniently into one shape.

Per-message status: "0" delivered, "1" failed (undelivered), "-1" still sending. Anything else is not a
verdict: the number stays SUBMITTED and is asked about again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from smsdrop.masking import mask_digits
from smsdrop.models import Status

DELIVERED_CODE, FAILED_CODE, SENDING_CODE = "0", "1", "-1"
_VERDICTS = {DELIVERED_CODE: Status.DELIVERED, FAILED_CODE: Status.UNDELIVERED}
_MAX_REASON = 200
_MAX_PRICE_KEYS = 10
_MS_THRESHOLD = 100_000_000_000  # a timestamp above this is in milliseconds (seconds reach it in 5138)


class Source(StrEnum):
    """Where a verdict came from."""

    POLL = "poll"
    PUSH = "push"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Report:
    """One message's report: its msgId, the provider's status code, and when and why."""

    msg_id: str
    code: str
    reason: str = ""
    receive_time: str = ""
    """ISO 8601 UTC, as the provider gave it or from the push's millisecond timestamp."""
    price_detail: Mapping[str, str] = field(default_factory=dict)

    @property
    def verdict(self) -> Status | None:
        """DELIVERED or UNDELIVERED when the report is final; None while still sending or unreadable."""
        return _VERDICTS.get(self.code)


def status_code(value: object) -> str:
    """The per-message status as a string ("0", "1", "-1"), whether it came as an int or a string."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else ""


def iso_time(value: object) -> str:
    """A receive time as ISO 8601 UTC: from epoch ms (or seconds), or an ISO string kept as given."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > _MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")
        except (OverflowError, OSError, ValueError):
            return ""
    return value.strip()[:40] if isinstance(value, str) else ""


def report_entries(answer: Mapping[str, Any]) -> Iterator[Report]:
    """The reports in a getReport answer's `array` (entries without a msgId are skipped)."""
    array = answer.get("array")
    for entry in array if isinstance(array, list) else ():
        if isinstance(entry, Mapping) and (msg_id := _text(entry.get("msgId"))):
            yield Report(
                msg_id=msg_id,
                code=status_code(entry.get("status")),
                reason=_reason(entry.get("reason")),
                receive_time=iso_time(entry.get("receiveTime")),
            )


def push_reports(payload: object) -> tuple[list[Report], int]:
    """The reports in a push body (one object, or a list of them), and how many entries were unreadable."""
    entries = payload if isinstance(payload, list) else [payload]
    reports, unreadable = [], 0
    for entry in entries:
        if not isinstance(entry, Mapping):
            unreadable += 1
            continue
        msg_id = _text(entry.get("msgid") or entry.get("msgId"))
        if not msg_id:
            unreadable += 1
            continue
        reports.append(
            Report(
                msg_id=msg_id,
                code=status_code(entry.get("status")),
                reason=_reason(entry.get("reason")),
                receive_time=iso_time(entry.get("timestamp")),
                price_detail=_price(entry.get("pricedetail")),
            )
        )
    return reports, unreadable


def _text(value: object) -> str:
    return str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _reason(value: object) -> str:
    return mask_digits(str(value).strip())[:_MAX_REASON] if value not in (None, "") else ""


def _price(value: object) -> dict[str, str]:
    """`pricedetail` kept as strings (never floats): pay, currency, chargeCnt, price..."""
    if not isinstance(value, Mapping):
        return {}
    kept = [(str(k), v) for k, v in value.items() if isinstance(v, str | int | float) and not isinstance(v, bool)]
    return {k[:40]: str(v)[:40] for k, v in kept[:_MAX_PRICE_KEYS]}
