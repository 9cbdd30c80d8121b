"""Closing a job: count its rows, write the results file and summary, close the job item in its final state."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.intake.uploads import Upload
from smsdrop.models import Status
from smsdrop.send.ports import JobLease, RunnerPorts
from smsdrop.send.run_result import END_OF_CLOSED_JOB, RunResult
from smsdrop.store.jobs import JobState

logger = Logger(child=True)
metrics = Metrics()


@dataclass(frozen=True, slots=True)
class Ending:
    """How a job ends: its final state, the data rows its file held, and what the closing invocation knows."""

    state: JobState
    rows: int
    error: str = ""
    stop_reason: str = ""
    batches: int = 0
    dry_run: bool = False
    intake: Mapping[str, Any] = field(default_factory=dict)
    """What the reader says of the file: its format, the rules applied, what its texts cost (Reader.report)."""


class Closing:
    """Closes the job of `upload`, held by `lease`."""

    def __init__(self, upload: Upload, lease: JobLease, ports: RunnerPorts, clock: Callable[[], float]) -> None:
        self._upload = upload
        self._lease = lease
        self._ports = ports
        self._clock = clock

    def close(self, ending: Ending) -> RunResult:
        """Count, write the results file and summary, and close the job; what this invocation did."""
        counts, recounted = self._final_counts(ending.rows)
        missing = ending.rows - sum(counts.values())
        error = ending.error or (f"{missing} rows have no result" if missing else "")
        named_counts = {str(s): n for s, n in counts.items()}
        keys = self._ports.results_file.write(self._upload, self._summary(ending, named_counts, error))
        extra = {"dry_run": ending.dry_run, "results_key": keys.results, "summary_key": keys.summary}
        # Live counts stay as they are (delivery reports may be adding to them); a recount replaces them.
        final = counts if recounted else None
        self._lease.finish(ending.state, self._clock(), ending.rows, final, error, extra)
        _emit_summary(self._lease.job_id, ending, counts)
        end = END_OF_CLOSED_JOB[ending.state]
        return RunResult(self._lease.job_id, end, named_counts, ending.stop_reason, error, ending.batches, keys)

    def _final_counts(self, rows: int) -> tuple[Counter[Status], bool]:
        """Counts, and whether they were recounted from the items.

        Live counts are exact unless an earlier holder died mid-batch; then the items themselves are counted.
        """
        if not self._lease.record.needs_recount:
            live = self._ports.store.get(self._lease.job_id).counts
            counts = Counter({Status(s): n for s, n in live.items() if n})
            if sum(counts.values()) == rows:
                return counts, False
        counts, _ = self._ports.results.count(self._lease.job_id)
        return counts, True

    def _summary(self, ending: Ending, counts: dict[str, int], error: str) -> dict[str, Any]:
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
            "intake": dict(ending.intake),
        }


def _emit_summary(job_id: str, ending: Ending, counts: Counter[Status]) -> None:
    for status in Status:
        metrics.add_metric(name=f"Numbers{status.value.title()}", unit=MetricUnit.Count, value=counts[status])
    metrics.add_metric(name="Batches", unit=MetricUnit.Count, value=ending.batches)
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
