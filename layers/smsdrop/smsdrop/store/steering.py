"""What an operator may ask of a running job, as the job item holds it: cancel and pause requests (who and when),
the no-progress count, and the job's bounded history (stopped, paused, resumed, cancelled...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from smsdrop.errors import SmsdropError

CANCEL_REQUESTED = "cancel_requested"
"""{"by", "at"}: no batch may be marked in flight any more; every unsent row ends CANCELLED."""
PAUSE_REQUESTED = "pause_requested"
"""{"by", "at"}: hand over at the next batch boundary and sleep (PAUSED) until `smsdrop resume`."""
RESEND = "resend"
"""Set by a resume after a stop or a cancel: only rows whose items are marked unsent are sent."""
UNSENT = "unsent"
"""On a row's item: nothing of it reached the provider because of the job (a stop, a cancel); a resume may send it."""
CLAIMS = "claims_without_progress"
"""How many times the job was claimed since its checkpoint last moved."""
HISTORY = "history"
HISTORY_LIMIT = 20
PAUSED = "PAUSED"
"""The job state of a paused job (JobState.PAUSED), also the sweep index's partition it sleeps in."""


class Steered(SmsdropError):  # noqa: N818 - an operator's instruction, not an error
    """The operator asked to cancel or pause the job: no further batch may be marked in flight."""

    def __init__(self, job_id: str, cancel: Mapping[str, Any] | None, pause: Mapping[str, Any] | None) -> None:
        super().__init__(f"{job_id}: {'cancel' if cancel else 'pause'} requested")
        self.cancel = cancel
        self.pause = pause


def with_entry(history: Sequence[Mapping[str, Any]], event: str, at: float, **facts: Any) -> list[dict[str, Any]]:
    """`history` with one more entry (`event` at `at`, with the `facts` that are not empty), the oldest dropped past
    HISTORY_LIMIT entries."""
    entry = {"event": event, "at": int(at), **{k: v for k, v in facts.items() if v not in (None, "")}}
    return [*[plain(e) for e in history][-(HISTORY_LIMIT - 1) :], entry]


def plain(request: Mapping[str, Any]) -> dict[str, Any]:
    """A request or history entry as read from the job item, its numbers (Decimal) as ints: ready for JSON."""
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in request.items()}
