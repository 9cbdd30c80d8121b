"""What the ingest function does with an event, so its handler only wires: one job run per upload it names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.intake.optout_file import is_opt_out_file
from smsdrop.scale.starter import ScaleOut
from smsdrop.send.events import is_continuation, uploads_in
from smsdrop.send.optout_drops import OptOutDrops
from smsdrop.send.runner import JobRunner

logger = Logger(child=True)
metrics = Metrics()


def run_jobs(
    runner: Callable[[], JobRunner],
    event: dict[str, Any],
    remaining_ms: Callable[[], int],
    optout_drops: Callable[[], OptOutDrops] | None = None,
    scale_out: Callable[[], ScaleOut | None] = lambda: None,
) -> dict[str, Any]:
    """Run the job of each upload in `event` (the runner is built on first need), and apply each opt-out file (a .csv
    under optouts/: the drops are built on first need); other objects are ignored. Each run's RunResult, as JSON, and
    what each opt-out file did. An uploaded file large enough for the scale-out engine starts its state machine
    instead (`scale_out`, built on first need; docs/scale-out.md)."""
    runs, optouts, fresh = [], [], not is_continuation(event)
    for upload in uploads_in(event):
        if optout_drops is not None and is_opt_out_file(upload.key):
            optouts.append(optout_drops().apply(upload))
        elif not upload.is_job:
            logger.info("Ignored: not a .csv, .csv.gz or .xlsx under incoming/", extra={"key": upload.key})
            metrics.add_metric(name="UploadsIgnored", unit=MetricUnit.Count, value=1)
        elif fresh and (engine := scale_out()) is not None and engine.takes(upload):
            runs.append(engine.start(upload))
        else:
            logger.set_correlation_id(upload.job_id)
            runs.append(asdict(runner().run(upload, remaining_ms)))
    return {"runs": runs} | ({"optouts": optouts} if optouts else {})
