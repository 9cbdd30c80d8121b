"""What the ingest function does with an event, so its handler only wires: one job run per upload it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.send.events import uploads_in
from smsdrop.send.runner import JobRunner

logger = Logger(child=True)
metrics = Metrics()


def run_jobs(runner: Callable[[], JobRunner], event: dict[str, Any], remaining_ms: Callable[[], int]) -> dict[str, Any]:
    """Run the job of each upload in `event` (the runner is built on first need); objects that are not CSV or XLSX
    files under incoming/ are ignored. Each run's RunResult, as JSON."""
    runs = []
    for upload in uploads_in(event):
        if not upload.is_job:
            logger.info("Ignored: not a .csv, .csv.gz or .xlsx under incoming/", extra={"key": upload.key})
            metrics.add_metric(name="UploadsIgnored", unit=MetricUnit.Count, value=1)
            continue
        logger.set_correlation_id(upload.job_id)
        runs.append(asdict(runner().run(upload, remaining_ms)))
    return {"runs": runs}
