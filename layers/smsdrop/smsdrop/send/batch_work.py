"""One batch's work, in a worker thread: send its call (or record why not), then write its rows' results; the items
written go back to the window for the results file."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.models import Batch, JobStop, Outcome, Status
from smsdrop.provider.retry import CallNotMade
from smsdrop.send.pacing import Pacer
from smsdrop.send.ports import Gateway, Item, JobLease, Results
from smsdrop.store.jobs import LeaseLost
from smsdrop.store.results import Result

logger = Logger(child=True)
metrics = Metrics()


class BatchWork:
    """Sends batches and records their results for the job held by `lease`; keeps the first stop reason.

    `dry_run`: batches are checked, never sent. `stop_reason`: the job was stopped before (nothing more is sent).
    `cancelled`: the operator's cancel request (who, when), once there is one: nothing more is sent, every row left
    is recorded CANCELLED. Rows recorded unsent because of the job (a stop, a cancel) are marked so (Outcome.unsent):
    a resume sends them, and only them. `time_left`: seconds to the deadline of a call (the gateway gives up in time;
    a call it could not make is handed back, unrecorded). The first call of an invocation has no deadline: every
    invocation makes progress, and one starts with its whole timeout (only a tiny local budget could refuse it).
    `resend`: the job was resumed after a stop or a cancel: every row written replaces an item still marked unsent,
    and nothing else (Results.write_unsent).
    """

    def __init__(
        self,
        lease: JobLease,
        results: Results,
        gateway: Gateway,
        pacer: Pacer,
        clock: Callable[[], float],
        lease_s: int,
        dry_run: bool,
        stop_reason: str = "",
        cancelled: Mapping[str, Any] | None = None,
        time_left: Callable[[], float] | None = None,
        resend: bool = False,
    ) -> None:
        self._lease = lease
        self._rows = lease.record.row_items
        self._time_left = time_left
        self._calls = itertools.count()
        self._results = results
        self._gateway = gateway
        self._pacer = pacer
        self._clock = clock
        self._lease_s = lease_s
        self.dry_run = dry_run
        self._stop_reason = stop_reason
        self._cancelled = cancelled
        self._stop_lock = threading.Lock()
        self._resend = resend
        self._was: dict[int, Status] = {}
        """In a resend: each row written's status before (its counts move from there), until tallied."""

    @property
    def stop_reason(self) -> str:
        """Why the job was stopped ("" if it was not)."""
        return self._stop_reason

    @property
    def cancelled(self) -> Mapping[str, Any] | None:
        """The operator's cancel request (`by`, `at`), if the job was cancelled."""
        return self._cancelled

    def cancel(self, request: Mapping[str, Any]) -> None:
        """Send nothing more: batches not yet sent (those waiting their turn too) are recorded CANCELLED."""
        with self._stop_lock:
            self._cancelled = self._cancelled or request

    def tally(self, items: list[Item]) -> Counter[Status]:
        """What `items` (just written) change in the job's counts: their statuses, less those they replaced."""
        counts = Counter(Status(item["status"]["S"]) for item in items)
        with self._stop_lock:
            counts.subtract(
                self._was.pop(int(item["row"]["N"])) for item in items if int(item["row"]["N"]) in self._was
            )
        return counts

    def will_send(self, batch: Batch) -> bool:
        """Whether `batch` has a call to make and the job may still make it."""
        return batch.has_call and not self._stop_reason and not self._cancelled and not self.dry_run

    def send(self, batch: Batch, key: str) -> list[Item] | None:
        """Wait for the pace, send the call, record every row of the batch: the items written, or None if the call
        was not made in time (nothing recorded: the batch is handed back)."""
        self._pacer.wait()
        if self._stop_reason or self._cancelled:  # a stop or a cancel came while this batch waited its turn
            return self.record_unsent(batch, key)
        try:
            outcomes = self._gateway.send(batch.items, self._time_left if next(self._calls) else None)
        except CallNotMade as late:
            logger.warning("Call not made in time: handed back", extra={"job_id": self._rows.job_id, "why": str(late)})
            return None
        except JobStop as stop:
            self._stop(stop, batch)
            failed = Outcome(Status.FAILED, f"{stop.code} {stop.reason}", stop.code, unsent=True)
            outcomes = dict.fromkeys((r.row for r in batch.recipients), failed)
        results = [Result(r, outcomes[r.row], key) for r in batch.recipients]
        return self._write(results + _rejected(batch, key))

    def record_unsent(self, batch: Batch, key: str) -> list[Item]:
        """Record the batch without sending it: CANCELLED once the job was cancelled, VALIDATED in a dry run, FAILED
        once the job was stopped."""
        if self._cancelled:
            unsent = Outcome(Status.CANCELLED, f"not sent: job cancelled by {self._cancelled.get('by')}", unsent=True)
        elif self.dry_run:
            unsent = Outcome(Status.VALIDATED, "dry run: checked, not sent")
        else:
            unsent = Outcome(Status.FAILED, f"not sent: job stopped ({self._stop_reason})", unsent=True)
        return self._write([Result(r, unsent, key) for r in batch.recipients] + _rejected(batch, key))

    def _write(self, results: list[Result]) -> list[Item]:
        """Renew the lease, then batch-write: nobody else may take the job while these rows are written.

        If the lease is already lost, record what this invocation learnt without overwriting anything.
        """
        now = self._clock()
        try:
            self._lease.renew(now + self._lease_s)
        except LeaseLost:
            if self._resend:
                self._results.write_unsent(self._rows, results, now)
            else:
                self._results.write_once(self._rows, results, now)
            raise
        if not self._resend:
            return self._results.write(self._rows, results, now)
        written = self._results.write_unsent(self._rows, results, now)
        with self._stop_lock:
            self._was.update((int(item["row"]["N"]), was) for item, was in written)
        return [item for item, _ in written]

    def _stop(self, stop: JobStop, batch: Batch) -> None:
        with self._stop_lock:
            if self._stop_reason:
                return
            self._stop_reason = f"{stop.code} {stop.reason} at row {batch.recipients[0].row}"
        self._lease.record_stop(self._stop_reason)
        metrics.add_metric(name="JobsStopped", unit=MetricUnit.Count, value=1)
        logger.error(
            "Provider stopped the job; the rest is recorded unsent",
            extra={"job_id": self._lease.job_id, "stop_reason": self._stop_reason},
        )


def _rejected(batch: Batch, key: str) -> list[Result]:
    return [Result(e, Outcome(Status.REJECTED, e.reason), key) for e in batch.rejected]
