"""A held job's waiting, for the runner: whether it must wait before it reads a row (its send-at, the send window) or
stop at a batch boundary (the window closed), and the wait itself: a one-time schedule made first, then the job item
SCHEDULED (a schedule left without its job only queues a continuation that finds nothing to do; never the reverse).

A schedule a holder finds its job woken from before its time (a cancel) is deleted: it would only wake the job again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from aws_lambda_powertools import Logger

from smsdrop.intake.uploads import Upload
from smsdrop.models import Position
from smsdrop.send.holds import Hold, hold_for, window_closed
from smsdrop.send.ports import JobLease, RunnerPorts
from smsdrop.send.send_window import SendWindow
from smsdrop.store.steering import Steered, with_entry

logger = Logger(child=True)


class Waits:
    """When the job `lease` holds must wait, and its waiting; `horizon`: how far ahead a send-at may be."""

    def __init__(
        self,
        upload: Upload,
        lease: JobLease,
        ports: RunnerPorts,
        clock: Callable[[], float],
        window: SendWindow,
        horizon: timedelta,
    ) -> None:
        self._upload = upload
        self._lease = lease
        self._ports = ports
        self._clock = clock
        self._window = window
        self._horizon = horizon

    def at_start(self) -> Hold | None:
        """Whether the job must wait before it reads a row, and until when: its send-at while it has no checkpoint,
        then the window; SendAtRefused if the send-at cannot be used. The job's own schedule is past when it fired,
        whatever this clock says; one not yet past (the job was woken for a cancel) is deleted."""
        now, schedule = self._clock(), self._lease.record.schedule
        if schedule is not None and schedule.at > now:
            self._ports.schedules.delete(schedule)
        at = _instant(max(now, schedule.at if schedule else now))
        send_at = self._ports.send_at(self._upload) if self._lease.record.checkpoint is None else None
        return hold_for(at, send_at, self._window, self._horizon)

    def closing(self) -> Hold | None:
        """Whether the window has closed (the job must stop sending), and until when."""
        return window_closed(_instant(self._clock()), self._window)

    def wait(self, hold: Hold, checkpoint: Position | None) -> bool:
        """Make the schedule, then let the job wait SCHEDULED at `checkpoint` for it; False (and the schedule deleted)
        if the operator asked to cancel or pause the job meanwhile: hand it over instead."""
        record, now = self._lease.record, self._clock()
        schedule = self._ports.schedules.create(self._upload, hold.until, hold.why)
        history = with_entry(record.history, "scheduled", now, until=schedule.at, why=hold.why)
        try:
            self._lease.hold(now, checkpoint, schedule, history)
        except Steered:
            self._ports.schedules.delete(schedule)
            return False
        logger.info(
            "Waiting for a schedule", extra={"job_id": record.job_id, "until": hold.until.isoformat(), "why": hold.why}
        )
        return True


def _instant(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)
