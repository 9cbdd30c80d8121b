"""When a job must wait instead of sending: until its upload's `send-at`, and until the send window opens.

A job that waits sleeps SCHEDULED with a one-time EventBridge schedule that queues its continuation (send.schedules):
no Lambda is kept waiting, and SQS's delays (15 minutes at most) are not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from smsdrop.intake.send_at import SendAtRefused
from smsdrop.send.send_window import SendWindow

EARLY_S = 60
"""A send-at this close, or past, starts now; a schedule due this soon may be claimed (it never fires early, but the
clocks of two services may differ)."""


@dataclass(frozen=True, slots=True)
class Hold:
    """Wait until `until` (UTC), for the reason `why`."""

    until: datetime
    why: str


def hold_for(now: datetime, send_at: datetime | None, window: SendWindow, horizon: timedelta) -> Hold | None:
    """Whether a job about to start at `now` must wait, and until when: its `send-at` if that is more than EARLY_S
    ahead, then the window's next opening. SendAtRefused for a `send-at` further ahead than `horizon` (the job's
    items would expire first)."""
    start, reasons = now, []
    if send_at is not None and send_at - now > timedelta(seconds=EARLY_S):
        if send_at - now > horizon:
            days = horizon.days
            raise SendAtRefused(
                f"send-at {send_at.isoformat()} is more than {days} days ahead (RESULT_TTL_DAYS): the job would expire"
            )
        start = send_at
        reasons.append(f"send-at {send_at.isoformat()}")
    opening = window.next_opening(start)
    if opening > start:
        reasons.append(f"send window {window.spec}")
    return Hold(opening, ", then ".join(reasons)) if reasons else None


def window_closed(now: datetime, window: SendWindow) -> Hold | None:
    """Whether a running job must stop sending at `now` (the window closed), and until when."""
    if window.is_open(now):
        return None
    return Hold(window.next_opening(now), f"send window {window.spec} closed")
