"""The job runner: one upload in, one result per data row out, each number sent at most once."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from enum import StrEnum

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.config import Settings
from smsdrop.intake.rejections import FileRefused
from smsdrop.intake.uploads import Upload
from smsdrop.models import Batch, JobStop, Outcome, Position, Recipient, Row, Status
from smsdrop.output.results_file import ReportKeys, ReportWriter
from smsdrop.send.batching import BatchLimits, batches
from smsdrop.send.pacing import RateLimiter
from smsdrop.send.ports import Continuation, Gateway, ReaderFactory
from smsdrop.store.jobs import Busy, Completions, JobRecord, JobState, JobStore, LeaseLost
from smsdrop.store.results import Result, ResultWriter

logger = Logger(child=True)
metrics = Metrics()

UNKNOWN_REASON = "request may have reached the provider; not resent"


class RunEnd(StrEnum):
    """How one invocation's part of a job ended."""

    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    CONTINUED = "CONTINUED"
    BUSY = "BUSY"
    ALREADY_FINISHED = "ALREADY_FINISHED"
    LEASE_LOST = "LEASE_LOST"


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one invocation did for a job."""

    job_id: str
    end: RunEnd
    counts: dict[str, int] = field(default_factory=dict)
    stop_reason: str = ""
    error: str = ""
    batches: int = 0
    reports: ReportKeys | None = None


@dataclass(slots=True)
class _Progress:
    """The runner's bookkeeping for one invocation: what is in flight and how far the checkpoint may go."""

    emitted: dict[int, Batch] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    next_seq: int = 0
    checkpoint: Position | None = None
    counts: Counter[Status] = field(default_factory=Counter)
    batches: int = 0

    def settle(self, batch: Batch) -> Position | None:
        """Note `batch` as recorded; return the new checkpoint if every earlier batch is recorded too."""
        self.done.add(batch.seq)
        self.batches += 1
        moved = None
        while self.next_seq in self.done:
            self.done.discard(self.next_seq)
            moved = self.emitted.pop(self.next_seq).resume_at
            self.next_seq += 1
        if moved is not None:
            self.checkpoint = moved
        return moved


class JobRunner:
    """Runs jobs; one runner per cold start, shared by the invocations of that container."""

    def __init__(
        self,
        settings: Settings,
        store: JobStore,
        results: ResultWriter,
        gateway: Gateway,
        reader_factory: ReaderFactory,
        continuation: Continuation,
        reports: ReportWriter,
        dry_run: Callable[[Upload], bool],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._store = store
        self._results = results
        self._gateway = gateway
        self._reader_factory = reader_factory
        self._continuation = continuation
        self._reports = reports
        self._dry_run = dry_run
        self._clock = clock
        self._limiter = RateLimiter(settings.calls_per_second)
        self._limits = BatchLimits(
            numbers_per_call=settings.numbers_per_call,
            max_body_bytes=settings.max_body_bytes,
            window_rows=settings.window_rows,
        )

    def run(self, upload: Upload, remaining_ms: Callable[[], int]) -> RunResult:
        """Work on `upload`'s job until it ends or time runs short; then hand the rest over."""
        owner = uuid.uuid4().hex
        claim = self._store.claim(upload, owner, self._clock(), self._settings.lease_seconds, self._expires_at())
        if isinstance(claim, Busy):
            return _busy(claim.record)
        run = _Run(self, upload, owner, claim, remaining_ms)
        try:
            return run.execute()
        except LeaseLost:
            logger.warning("Lease lost to another invocation; stopped sending", extra={"job_id": upload.job_id})
            return RunResult(upload.job_id, RunEnd.LEASE_LOST)
        except Exception:
            run.abandon()
            raise

    def _expires_at(self) -> int:
        return int(self._clock()) + self._settings.ttl_days * 86_400


def _busy(record: JobRecord) -> RunResult:
    end = RunEnd.ALREADY_FINISHED if record.is_finished else RunEnd.BUSY
    logger.info(f"Job not claimed: {end.value.lower()}", extra={"job_id": record.job_id, "state": record.state})
    return RunResult(record.job_id, end, dict(record.counts), record.stop_reason, record.error)


class _Run:
    """One invocation's work on one job."""

    def __init__(
        self, runner: JobRunner, upload: Upload, owner: str, record: JobRecord, remaining_ms: Callable[[], int]
    ) -> None:
        self.r = runner
        self.upload = upload
        self.job_id = upload.job_id
        self.owner = owner
        self.record = record
        self.remaining_ms = remaining_ms
        self.stop_reason = record.stop_reason
        self.progress = _Progress(checkpoint=record.checkpoint)
        self.done = Completions()
        self.suspect = {row for rows in record.in_flight.values() for row in rows}
        self.unknown: list[Row] = []
        self.stop_lock = threading.Lock()
        self.reader = runner._reader_factory(upload, self.job_id)
        self.dry_run = runner._dry_run(upload)

    # -- the run ---------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        """Stream, batch, send and record until the file ends, the time runs short or the lease is lost."""
        start = self.record.checkpoint
        done = dict(self.r._results.statuses(self.job_id, start.row if start else 0))
        try:
            rows = self._fresh(self.reader.rows(start), done)
            finished = self._send_all(batches(rows, lambda: self.reader.position, self.r._limits))
        except FileRefused as refusal:
            return self._refuse(str(refusal))
        if not finished:
            return self._hand_over()
        return self._finish()

    def _fresh(self, rows: Iterable[Row], done: dict[int, Status]) -> Iterator[Row]:
        """Rows not yet recorded; rows an earlier holder may have sent are set aside as UNKNOWN."""
        for row in rows:
            if row.row in done:
                continue
            if row.row in self.suspect and isinstance(row, Recipient):
                self.unknown.append(row)
                continue
            yield row

    def _send_all(self, work: Iterator[Batch]) -> bool:
        """Send batches, up to `in_flight` at once; False when the run stopped early to hand over."""
        pending: dict[Future[Counter[Status]], Batch] = {}
        with ThreadPoolExecutor(max_workers=self.r._settings.in_flight, thread_name_prefix="send") as pool:
            try:
                finished = self._dispatch(work, pool, pending)
            finally:
                self._harvest(pending, ALL_COMPLETED)
        self._tell_done()
        return finished

    def _dispatch(
        self, work: Iterator[Batch], pool: ThreadPoolExecutor, pending: dict[Future[Counter[Status]], Batch]
    ) -> bool:
        for batch in work:
            self._record_unknown()
            if self._out_of_time():
                return False
            while len(pending) >= self.r._settings.in_flight:
                self._harvest(pending, FIRST_COMPLETED)
            self._start(pool, pending, batch)
        self._record_unknown()
        return True

    def _start(self, pool: ThreadPoolExecutor, pending: dict[Future[Counter[Status]], Batch], batch: Batch) -> None:
        self.progress.emitted[batch.seq] = batch
        key = f"{self.record.generation}.{batch.seq}"
        if batch.has_call and not self.stop_reason and not self.dry_run:
            rows = tuple(r.row for r in batch.recipients)
            self.r._store.mark_in_flight(self.job_id, self.owner, key, rows, self._lease_until(), self.done)
            self.done = Completions()
            pending[pool.submit(self._send, batch, key)] = batch
        else:
            self._tell_done()
            pending[pool.submit(self._record_unsent, batch, key)] = batch

    def _tell_done(self) -> None:
        """Tell the job item of the batches recorded since it last heard, when no mark is going out to carry them."""
        if self.done:
            self.r._store.complete(self.job_id, self.owner, self.done, self._lease_until())
            self.done = Completions()

    def _harvest(self, pending: dict[Future[Counter[Status]], Batch], mode: str) -> None:
        """Wait for batches in flight (the first, or all); note their completion in order, for the job item."""
        if not pending:
            return
        finished, _ = wait(pending, return_when=mode)
        for future in sorted(finished, key=lambda f: pending[f].seq):
            batch = pending.pop(future)
            counts = future.result()
            self.progress.counts.update(counts)
            checkpoint = self.progress.settle(batch)
            self.done.add(f"{self.record.generation}.{batch.seq}", counts, checkpoint)

    # -- one batch (in a worker thread) ----------------------------------------------------------

    def _send(self, batch: Batch, key: str) -> Counter[Status]:
        self.r._limiter.wait()
        if self.stop_reason:  # another batch in flight was told to stop while this one waited
            return self._record_unsent(batch, key)
        try:
            outcomes = self.r._gateway.send(batch.items)
        except JobStop as stop:
            self._stop(stop, batch)
            outcomes = {
                r.row: Outcome(Status.FAILED, f"{stop.code} {stop.reason}", stop.code) for r in batch.recipients
            }
        results = [Result(r, outcomes[r.row], key) for r in batch.recipients]
        return self._write(results + _rejected(batch, key))

    def _record_unsent(self, batch: Batch, key: str) -> Counter[Status]:
        if self.dry_run:
            unsent = Outcome(Status.VALIDATED, "dry run: checked, not sent")
        else:
            unsent = Outcome(Status.FAILED, f"not sent: job stopped ({self.stop_reason})")
        return self._write([Result(r, unsent, key) for r in batch.recipients] + _rejected(batch, key))

    def _write(self, results: list[Result]) -> Counter[Status]:
        """Renew the lease, then batch-write: nobody else may take the job while these rows are written.

        If the lease is already lost, record what this invocation learnt without overwriting anything.
        """
        now = self.r._clock()
        try:
            self.r._store.renew(self.job_id, self.owner, now + self.r._settings.lease_seconds)
        except LeaseLost:
            self.r._results.write_once(self.job_id, results, now)
            raise
        return Counter(self.r._results.write(self.job_id, results, now).values())

    def _stop(self, stop: JobStop, batch: Batch) -> None:
        with self.stop_lock:
            if self.stop_reason:
                return
            self.stop_reason = f"{stop.code} {stop.reason} at row {batch.recipients[0].row}"
        self.r._store.record_stop(self.job_id, self.owner, self.stop_reason)
        metrics.add_metric(name="JobsStopped", unit=MetricUnit.Count, value=1)
        logger.error(
            "Provider stopped the job; the rest is recorded unsent",
            extra={"job_id": self.job_id, "stop_reason": self.stop_reason},
        )

    # -- rows an earlier holder may have sent ----------------------------------------------------

    def _record_unknown(self) -> None:
        """Record set-aside rows as UNKNOWN (never resent); forget the old marks once all are past."""
        if self.unknown:
            outcome = Outcome(Status.UNKNOWN, UNKNOWN_REASON)
            recovered = [Result(r, outcome, "recovered") for r in self.unknown]
            self.r._results.write_once(self.job_id, recovered, self.r._clock())
            self.unknown.clear()
        if self.record.in_flight and self.reader.position.row >= max(self.suspect, default=0):
            self.r._store.forget_in_flight(self.job_id, self.owner, list(self.record.in_flight))
            self.record = _without_marks(self.record)

    # -- endings ---------------------------------------------------------------------------------

    def _out_of_time(self) -> bool:
        return self.remaining_ms() < self.r._settings.time_margin_ms

    def _lease_until(self) -> float:
        return self.r._clock() + self.r._settings.lease_seconds

    def _hand_over(self) -> RunResult:
        self.r._store.release(self.job_id, self.owner, self.r._clock(), self.progress.checkpoint)
        self.r._continuation.request(self.upload)
        logger.info(
            "Time is short: handed the rest to a fresh invocation",
            extra={"job_id": self.job_id, "checkpoint_row": getattr(self.progress.checkpoint, "row", None)},
        )
        return self._result(RunEnd.CONTINUED)

    def _finish(self) -> RunResult:
        return self._close(JobState.STOPPED if self.stop_reason else JobState.COMPLETED, "")

    def _close(self, state: JobState, error: str) -> RunResult:
        """Count, write the results file and summary, and close the job in `state`."""
        counts, rows, recounted = self._final_counts()
        missing = rows - sum(counts.values())
        error = error or (f"{missing} rows have no result" if missing else "")
        named_counts = {str(s): n for s, n in counts.items()}
        summary = {
            "job_id": self.job_id,
            "source": {"bucket": self.upload.bucket, "key": self.upload.key, "version_id": self.upload.version_id},
            "state": state.value,
            "dry_run": self.dry_run,
            "rows": rows,
            "counts": named_counts,
            "stop_reason": self.stop_reason or None,
            "error": error or None,
        }
        keys = self.r._reports.write(self.upload, summary)
        extra = {"dry_run": self.dry_run, "results_key": keys.results, "summary_key": keys.summary}
        # Live counts stay as they are (delivery reports may be adding to them); a recount replaces them.
        final = counts if recounted else None
        self.r._store.finish(self.job_id, self.owner, state, self.r._clock(), rows, final, error, extra)
        self._emit_summary(state, counts, rows)
        return RunResult(
            self.job_id, RunEnd(state.value), named_counts, self.stop_reason, error, self.progress.batches, keys
        )

    def _final_counts(self) -> tuple[Counter[Status], int, bool]:
        """Counts, data rows, and whether the counts were recounted from the items.

        Live counts are exact unless an earlier holder died mid-batch; then the items themselves are counted.
        """
        rows = max(0, self.reader.position.row - 1 - self.reader.blank_lines)  # the header is record 1
        if not self.record.needs_recount:
            live = self.r._store.get(self.job_id).counts
            counts = Counter({Status(s): n for s, n in live.items() if n})
            if sum(counts.values()) == rows:
                return counts, rows, False
        counts, _ = self.r._results.count(self.job_id)
        return counts, rows, True

    def _refuse(self, message: str) -> RunResult:
        """The file cannot be read (on from some point, or at all): close the job FAILED with what was recorded."""
        logger.error("File refused", extra={"job_id": self.job_id, "reason": message})
        metrics.add_metric(name="FilesRefused", unit=MetricUnit.Count, value=1)
        return self._close(JobState.FAILED, message)

    def abandon(self) -> None:
        """After an unexpected error: hand the job back flagged for a recount, so a retry can resume it."""
        try:
            self.r._store.release(self.job_id, self.owner, self.r._clock(), self.progress.checkpoint, clean=False)
        except Exception:
            logger.exception("Could not release the job after an error; the sweep will resume it")

    def _emit_summary(self, state: JobState, counts: Counter[Status], rows: int) -> None:
        for status in Status:
            metrics.add_metric(name=f"Numbers{status.value.title()}", unit=MetricUnit.Count, value=counts[status])
        metrics.add_metric(name="Batches", unit=MetricUnit.Count, value=self.progress.batches)
        logger.info(
            "Job finished",
            extra={
                "job_id": self.job_id,
                "state": state,
                "rows": rows,
                "counts": {str(s): n for s, n in counts.items()},
                "stop_reason": self.stop_reason,
            },
        )

    def _result(self, end: RunEnd) -> RunResult:
        counts = {str(s): n for s, n in self.progress.counts.items()}
        return RunResult(self.job_id, end, counts, self.stop_reason, batches=self.progress.batches)


def _rejected(batch: Batch, key: str) -> list[Result]:
    return [Result(e, Outcome(Status.REJECTED, e.reason), key) for e in batch.rejected]


def _without_marks(record: JobRecord) -> JobRecord:
    return replace(record, in_flight={})
