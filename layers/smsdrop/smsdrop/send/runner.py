"""The job runner: one upload in, one result per data row out, each number sent at most once."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.config import Settings
from smsdrop.intake.rejections import FileRefused
from smsdrop.intake.send_at import SendAtRefused
from smsdrop.intake.uploads import Upload
from smsdrop.models import Batch, Position, Row
from smsdrop.send.batch_work import BatchWork
from smsdrop.send.batching import BatchLimits, batches
from smsdrop.send.closing import Closing, Ending
from smsdrop.send.failures import permanent
from smsdrop.send.holds import Hold
from smsdrop.send.opt_out_screen import screened
from smsdrop.send.pacing import Pacer, RateLimiter
from smsdrop.send.ports import JobLease, Reader, RunnerPorts
from smsdrop.send.recovery import Recovery
from smsdrop.send.resend import UnsentRows
from smsdrop.send.run_result import RunEnd, RunResult
from smsdrop.send.send_window import SendWindow
from smsdrop.send.waiting import Waits
from smsdrop.send.window import Window, WindowEnd
from smsdrop.store.jobs import Busy, JobRecord, JobState, LeaseLost
from smsdrop.store.steering import with_entry

logger = Logger(child=True)
metrics = Metrics()

Batcher = Callable[[Iterable[Row], Callable[[], Position], BatchLimits], Iterator[Batch]]
"""Groups rows into batches (smsdrop.send.batching.batches); `position()` is where the reader stands."""


class JobRunner:
    """Runs jobs; one runner per cold start, shared by the invocations of that container.

    `batcher` groups rows into batches (smsdrop.send.batching.batches, unless a bench times it); `pacer` spaces
    the calls (a RateLimiter at `settings.calls_per_second`, unless a test holds calls back itself). `clock` (epoch
    seconds) is every time the runner reads: leases, the send-at and the send window.
    """

    def __init__(
        self,
        settings: Settings,
        ports: RunnerPorts,
        clock: Callable[[], float] = time.time,
        *,
        batcher: Batcher = batches,
        pacer: Pacer | None = None,
    ) -> None:
        limits = BatchLimits(
            numbers_per_call=settings.numbers_per_call,
            max_body_bytes=settings.max_body_bytes,
            window_rows=settings.window_rows,
        )
        pacer = pacer or RateLimiter(settings.calls_per_second)
        send_window = SendWindow.parse(settings.send_window, settings.send_window_tz)
        self._shared = _Shared(settings, ports, clock, batcher, limits, pacer, send_window)

    def run(self, upload: Upload, remaining_ms: Callable[[], int]) -> RunResult:
        """Work on `upload`'s job until it ends or time runs short; then hand the rest over."""
        shared, s = self._shared, self._shared.settings
        now = shared.clock()
        expires_at = int(now) + s.ttl_days * 86_400
        claim = shared.ports.store.claim(upload, uuid.uuid4().hex, now, s.lease_seconds, expires_at, s.row_shards)
        if isinstance(claim, Busy):
            return _busy(claim.record)
        invocation = _Invocation(shared, upload, claim, remaining_ms)
        try:
            return invocation.execute()
        except LeaseLost:
            logger.warning("Lease lost to another invocation; stopped sending", extra={"job_id": upload.job_id})
            return RunResult(upload.job_id, RunEnd.LEASE_LOST)
        except Exception as error:
            reason = permanent(error)
            if reason is None:
                invocation.abandon(error)
                raise
            return invocation.fail(reason)
        finally:
            _emit_counts(shared.ports.gateway, shared.ports.results)


@dataclass(frozen=True, slots=True)
class _Shared:
    """What every invocation of one runner works with."""

    settings: Settings
    ports: RunnerPorts
    clock: Callable[[], float]
    batcher: Batcher
    limits: BatchLimits
    pacer: Pacer
    send_window: SendWindow

    def lease_until(self) -> float:
        """When a lease renewed now runs out."""
        return self.clock() + self.settings.lease_seconds


def _busy(record: JobRecord) -> RunResult:
    end = RunEnd.ALREADY_FINISHED if record.is_finished else RunEnd.BUSY
    end = RunEnd.PAUSED if record.state is JobState.PAUSED else end
    end = RunEnd.SCHEDULED if record.state is JobState.SCHEDULED else end
    logger.info(f"Job not claimed: {end.value.lower()}", extra={"job_id": record.job_id, "state": record.state})
    return RunResult(record.job_id, end, dict(record.counts), record.stop_reason, record.error)


class _Invocation:
    """One invocation's work on a job it holds."""

    def __init__(self, shared: _Shared, upload: Upload, lease: JobLease, remaining_ms: Callable[[], int]) -> None:
        self._shared = shared
        self._ports = shared.ports
        self._clock = shared.clock
        self._upload = upload
        self._lease = lease
        self._remaining_ms = remaining_ms
        self._checkpoint = lease.record.checkpoint
        self._window: Window | None = None
        self._reader: Reader | None = None
        self._work: BatchWork | None = None
        self._held: Hold | None = None  # a dry run's: when the real send would wait, for its summary
        self._call_deadline = math.inf  # set before each batch starts (_out_of_time)
        self._stream = shared.ports.results_file.open(upload, lease, lease.record.parts)
        self._recovery = Recovery(lease, shared.ports.results, self._stream, shared.clock)
        horizon = timedelta(days=shared.settings.ttl_days)
        self._waits = Waits(upload, lease, shared.ports, shared.clock, shared.send_window, horizon)

    def execute(self) -> RunResult:
        """Stream, batch, send and record until the file ends, the time runs short, the operator pauses the job, the
        send window closes or the lease is lost; or, before a row is read, wait for the send-at or the window."""
        shared, ports, lease = self._shared, self._ports, self._lease
        recorded = self._recovery.catch_up()  # the results file up to the checkpoint, the rows recorded past it
        if lease.record.claims_without_progress >= shared.settings.max_claims_without_progress:
            return self._no_progress()
        if lease.record.pause_requested and not lease.record.cancel_requested:
            return self._pause(None)
        dry_run = ports.dry_run(self._upload)
        try:
            hold = self._waits.at_start()
        except SendAtRefused as refusal:
            return self._close(Ending(JobState.FAILED, 0, str(refusal), dry_run=dry_run))
        if hold is not None and not (dry_run or lease.record.cancel_requested):
            return self._wait(hold, None)
        self._held = hold if dry_run else None
        reader = self._reader = ports.reader_factory(self._upload, lease.job_id)
        lease_s, record = shared.settings.lease_seconds, lease.record
        work = self._work = BatchWork(
            lease, ports.results, ports.gateway, shared.pacer, self._clock, lease_s, dry_run, record.stop_reason,
            record.cancel_requested, time_left=self._call_time_left, resend=record.resend,
        )  # fmt: skip
        window = self._window = Window(
            lease, work, shared.settings.in_flight, shared.lease_until, self._stream, recorded
        )
        start = lease.record.checkpoint
        try:
            rows = self._recovery.fresh(reader.rows(start))
            if record.resend:  # resumed after a stop or a cancel: only the rows it left unsent
                items = ports.results.read(record.row_items, start.row if start else 0)
                rows = UnsentRows(items, self._stream).pick(rows)
            batches = screened(shared.batcher(rows, lambda: reader.position, shared.limits), ports.optouts)
            end = window.run(batches, self._record_unknown, self._out_of_time, self._window_closed)
        except FileRefused as refusal:
            self._record_unknown(after_run=True)  # rows an earlier holder may have sent are recorded before it ends
            return self._refuse(str(refusal), _data_rows(reader), work, window)
        if end is WindowEnd.OUT_OF_TIME:
            return self._hand_over(work, window)
        if end is WindowEnd.PAUSED:
            return self._pause(window)
        if end is WindowEnd.CLOSED:
            closing = self._waits.closing()  # None only if it opened again meanwhile: go on in a fresh invocation
            return self._wait(closing, window) if closing else self._hand_over(work, window)
        state = JobState.CANCELLED if work.cancelled else JobState.STOPPED if work.stop_reason else JobState.COMPLETED
        return self._close(Ending(state, _data_rows(reader), "", work.stop_reason, window.batches, dry_run))

    def abandon(self, error: Exception) -> None:
        """After an unexpected error: hand the job back flagged for a recount, so a retry can resume it."""
        checkpoint = self._window.checkpoint if self._window else self._checkpoint
        try:
            self._lease.release(self._clock(), checkpoint, clean=False, error=f"{type(error).__name__}: {error}")
        except Exception:
            logger.exception("Could not release the job after an error; the sweep will resume it")

    def fail(self, reason: str) -> RunResult:
        """After an error no retry can heal: close the job FAILED with `reason` and what was recorded (counted again
        from the items: batches in flight may have been recorded without being told)."""
        logger.error("Job failed: no retry can heal this", extra={"job_id": self._lease.job_id, "reason": reason})
        metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
        self._record_unknown(after_run=True)
        rows = _data_rows(self._reader) if self._reader else None
        work, window = self._work, self._window
        ending = Ending(
            JobState.FAILED,
            rows,
            reason,
            work.stop_reason if work else "",
            window.batches if window else 0,
            work.dry_run if work else False,
            recount=True,
        )
        return self._close(ending)

    def _no_progress(self) -> RunResult:
        """Claimed too often without the checkpoint moving: end FAILED rather than try again forever."""
        record, limit = self._lease.record, self._shared.settings.max_claims_without_progress
        last = record.last_error or "no error recorded (each attempt timed out or was killed)"
        reason = f"no progress after {limit} attempts: {last}"
        logger.error("Job makes no progress", extra={"job_id": record.job_id, "reason": reason})
        metrics.add_metric(name="JobsWithoutProgress", unit=MetricUnit.Count, value=1)
        return self._close(Ending(JobState.FAILED, None, reason, record.stop_reason, recount=True))

    def _pause(self, window: Window | None) -> RunResult:
        """Sleep as the operator asked: PAUSED at the checkpoint, no continuation; or, if the pause was withdrawn
        meanwhile, hand over as usual."""
        record, now = self._lease.record, self._clock()
        checkpoint = window.checkpoint if window else record.checkpoint
        request = (window.pause_request if window else None) or record.pause_requested or {}
        history = with_entry(record.history, "paused", now, by=request.get("by"))
        if window is not None:
            self._hand_over_files(window)
        if not self._lease.pause(now, checkpoint, history):
            self._lease.release(now, checkpoint)
            self._ports.continuation.request(self._upload)
            return RunResult(self._lease.job_id, RunEnd.CONTINUED)
        logger.info("Paused as the operator asked", extra={"job_id": record.job_id, "by": request.get("by")})
        counts = {str(s): n for s, n in window.counts.items()} if window else {}
        return RunResult(record.job_id, RunEnd.PAUSED, counts, batches=window.batches if window else 0)

    def _wait(self, hold: Hold, window: Window | None) -> RunResult:
        """Sleep SCHEDULED at the checkpoint until `hold.until`, when a schedule queues the continuation; or, if the
        operator asked to cancel or pause meanwhile, hand over as usual (the next invocation does as asked)."""
        checkpoint = window.checkpoint if window else self._lease.record.checkpoint
        if window is not None:
            self._hand_over_files(window)
        if not self._waits.wait(hold, checkpoint):
            self._lease.release(self._clock(), checkpoint)
            self._ports.continuation.request(self._upload)
            return RunResult(self._lease.job_id, RunEnd.CONTINUED)
        counts = {str(s): n for s, n in window.counts.items()} if window else {}
        return RunResult(self._lease.job_id, RunEnd.SCHEDULED, counts, batches=window.batches if window else 0)

    def _window_closed(self) -> bool:
        """Whether the send window has closed; asked before each batch. A batch that sends nothing (a dry run, a stopped
        or cancelled job) needs no window."""
        work = self._work
        if work is None or work.dry_run or work.stop_reason or work.cancelled:
            return False
        return self._waits.closing() is not None

    def _out_of_time(self) -> bool:
        """Whether to hand over now; asked once before each batch, which also sets the calls' deadline."""
        remaining, margin = self._remaining_ms(), self._shared.settings.time_margin_ms
        self._call_deadline = time.monotonic() + (remaining - margin // 4) / 1000
        return remaining < margin

    def _call_time_left(self) -> float:
        """Seconds a call may still take: the time left (as last asked) but a quarter of the margin, kept to record
        the batch and hand over."""
        return self._call_deadline - time.monotonic()

    def _record_unknown(self, after_run: bool = False) -> None:
        """Record the rows set aside as an earlier holder's (see Recovery.record_unknown); `after_run`: the window
        has stopped, so tell the job item at once."""
        if self._window is not None and self._reader is not None:
            self._recovery.record_unknown(self._window.settle, self._reader.position.row)
            if after_run:
                self._window.tell()

    def _hand_over(self, work: BatchWork, window: Window) -> RunResult:
        self._hand_over_files(window)
        self._lease.release(self._clock(), window.checkpoint)
        self._ports.continuation.request(self._upload)
        logger.info(
            "Time is short: handed the rest to a fresh invocation",
            extra={"job_id": self._lease.job_id, "checkpoint_row": getattr(window.checkpoint, "row", None)},
        )
        counts = {str(s): n for s, n in window.counts.items()}
        return RunResult(self._lease.job_id, RunEnd.CONTINUED, counts, work.stop_reason, batches=window.batches)

    def _hand_over_files(self, window: Window) -> None:
        """Leave the results file's state and the reader's for the invocation resuming at the window's checkpoint."""
        self._stream.hand_over()
        if self._reader is not None:
            self._reader.keep(window.checkpoint)

    def _refuse(self, message: str, rows: int, work: BatchWork, window: Window) -> RunResult:
        """The file cannot be read (on from some point, or at all): close the job FAILED with what was recorded."""
        logger.error("File refused", extra={"job_id": self._lease.job_id, "reason": message})
        metrics.add_metric(name="FilesRefused", unit=MetricUnit.Count, value=1)
        ending = Ending(JobState.FAILED, rows, message, work.stop_reason, window.batches, work.dry_run)
        return self._close(ending)

    def _close(self, ending: Ending) -> RunResult:
        intake: dict[str, Any] = {}  # what the summary says of the file as read, with the guards of when texts go
        if self._reader is not None:
            intake = dict(self._reader.report())
            intake["guards"] = {**intake.get("guards", {}), **self._timing_guards()}
        closing = Closing(self._upload, self._lease, self._ports, self._clock, self._stream)
        return closing.close(replace(ending, intake=intake))

    def _timing_guards(self) -> dict[str, Any]:
        """The guards of when texts go, as the summary shows them (a dry run: when the send would wait)."""
        held = self._held
        return {
            "send_window": self._shared.send_window.spec or None,
            "would_wait": {"until": held.until.isoformat(), "why": held.why} if held else None,
        }


def _emit_counts(*adapters: object) -> None:
    """Add what the adapters counted on worker threads (retries, ambiguous answers, throttles) to the metrics, here
    on the invocation's thread: powertools Metrics is one shared buffer without a lock."""
    for adapter in adapters:
        take: Callable[[], dict[str, int]] | None = getattr(adapter, "take_counts", None)
        for name, count in (take() if take is not None else {}).items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)


def _data_rows(reader: Reader) -> int:
    """The data rows read so far: the header is record 1, blank lines are no rows."""
    return max(0, reader.position.row - 1 - reader.blank_lines)
