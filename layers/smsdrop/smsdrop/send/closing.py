"""Closing a job: count its rows, finish the results file (written as the job ran) and write the summary, close the
job item in its final state. Nothing here reads the job's items back, but the recount after a crash."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.intake.uploads import Upload
from smsdrop.models import Status
from smsdrop.output.results_file import ReportKeys
from smsdrop.send.failures import permanent
from smsdrop.send.ports import JobLease, ResultsStream, RunnerPorts
from smsdrop.send.run_result import END_OF_CLOSED_JOB, RunResult
from smsdrop.store.jobs import JobRecord, JobState
from smsdrop.store.steering import plain, with_entry

logger = Logger(child=True)
metrics = Metrics()
ERROR_CHARS = 1024
ROW_SPANS_LISTED = 10


@dataclass(frozen=True, slots=True)
class Ending:
    """How a job ends: its final state, the data rows its file held (None: not known, the rows recorded), and
    what the closing invocation knows."""

    state: JobState
    rows: int | None
    error: str = ""
    stop_reason: str = ""
    batches: int = 0
    dry_run: bool = False
    intake: Mapping[str, Any] = field(default_factory=dict)
    """What the reader says of the file: its format, the rules applied, what its texts cost (Reader.report)."""
    recount: bool = False
    """Count the items again whatever the live counts say (batches may have been recorded untold)."""


class Closing:
    """Closes the job of `upload`, held by `lease`, whose results file `stream` this invocation was writing."""

    def __init__(
        self, upload: Upload, lease: JobLease, ports: RunnerPorts, clock: Callable[[], float], stream: ResultsStream
    ) -> None:
        self._upload = upload
        self._lease = lease
        self._ports = ports
        self._clock = clock
        self._stream = stream

    def close(self, ending: Ending) -> RunResult:
        """Count, write the results file and summary, and close the job; what this invocation did."""
        job = self._ports.store.get(self._lease.job_id)  # the job item now: live counts, marks, history, requests
        counts, recounted = self._final_counts(ending, job)
        rows = max(sum(counts.values()), ending.rows or 0)
        ending = replace(ending, rows=rows)
        error = _error(ending.error, rows - sum(counts.values()), job.in_flight.values())
        named_counts = {str(s): n for s, n in counts.items()}
        now, cancel = self._clock(), job.cancel_requested or {}
        history = with_entry(
            job.history, ending.state.value.lower(), now, by=cancel.get("by"), reason=ending.stop_reason or error
        )
        keys, error = self._files(self._summary(ending, named_counts, error, job, history), error)
        extra: dict[str, Any] = {"dry_run": ending.dry_run, "history": history}
        if keys is not None:
            extra |= {"results_key": keys.results, "summary_key": keys.summary}
        # Live counts stay as they are (delivery reports may be adding to them); a recount replaces them.
        final = counts if recounted else None
        self._lease.finish(ending.state, now, rows, final, error, extra)
        _emit_summary(self._lease.job_id, ending, counts)
        end = END_OF_CLOSED_JOB[ending.state]
        return RunResult(self._lease.job_id, end, named_counts, ending.stop_reason, error, ending.batches, keys)

    def _files(self, summary: dict[str, Any], error: str) -> tuple[ReportKeys | None, str]:
        """Write the results file and summary; if that can never succeed, say so in the job's error instead."""
        try:
            return self._stream.close(summary), error
        except Exception as failure:
            reason = permanent(failure)
            if reason is None:
                raise
            logger.error("Results file not written", extra={"job_id": self._lease.job_id, "reason": reason})
            return None, _bounded("; ".join(filter(None, [error, f"results file not written: {reason}"])))

    def _final_counts(self, ending: Ending, job: JobRecord) -> tuple[Counter[Status], bool]:
        """Counts, and whether they were recounted from the items.

        Live counts are exact unless an earlier holder died mid-batch; then the items themselves are counted: the
        upload's own rows (a chunk's, among its job's row items).
        """
        if not (self._lease.record.needs_recount or ending.recount):
            counts = Counter({Status(s): n for s, n in job.counts.items() if n})
            if sum(counts.values()) == ending.rows:
                return counts, False
        return self._ports.results.count(self._lease.record.row_items, *(self._upload.row_span or ())), True

    def _summary(
        self, ending: Ending, counts: dict[str, int], error: str, job: JobRecord, history: list[dict[str, Any]]
    ) -> dict[str, Any]:
        upload = self._upload
        return {
            "job_id": self._lease.job_id,
            "source": {"bucket": upload.bucket, "key": upload.key, "version_id": upload.version_id},
            "state": ending.state.value,
            "dry_run": ending.dry_run,
            "rows": ending.rows,
            "counts": counts,
            "stop_reason": ending.stop_reason or None,
            "error": error or None,
            "cancelled": plain(job.cancel_requested) if job.cancel_requested else None,
            "history": history,
            "intake": dict(ending.intake),
        }


def _error(error: str, missing: int, in_flight: Iterable[tuple[int, ...]]) -> str:
    """The job's error, saying how many rows have no result and which were in flight (they may have been sent)."""
    parts = [error] if error else []
    if missing > 0:
        parts.append(f"{missing} rows have no result")
    unrecorded = sorted({row for rows in in_flight for row in rows})
    if unrecorded:
        parts.append(f"rows {_spans(unrecorded)} were in flight without a result: they may have been sent")
    return _bounded("; ".join(parts))


def _spans(rows: list[int]) -> str:
    """Rows as spans ("4-7, 12"), the first ROW_SPANS_LISTED of them."""
    spans: list[list[int]] = []
    for row in rows:
        if spans and row == spans[-1][1] + 1:
            spans[-1][1] = row
        else:
            spans.append([row, row])
    shown = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in spans[:ROW_SPANS_LISTED])
    return shown + (f" and {len(spans) - ROW_SPANS_LISTED} more spans" if len(spans) > ROW_SPANS_LISTED else "")


def _bounded(text: str) -> str:
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"


def _emit_summary(job_id: str, ending: Ending, counts: Counter[Status]) -> None:
    for status in Status:
        metrics.add_metric(name=f"Numbers{status.value.title()}", unit=MetricUnit.Count, value=counts[status])
    metrics.add_metric(name="Batches", unit=MetricUnit.Count, value=ending.batches)
    metrics.add_metric(name="JobsFinished", unit=MetricUnit.Count, value=1)
    logger.info(
        "Job finished",
        extra={
            "job_id": job_id,
            "state": ending.state,
            "rows": ending.rows,
            "counts": {str(s): n for s, n in counts.items()},
            "stop_reason": ending.stop_reason,
        },
    )
