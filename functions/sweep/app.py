"""SweepFunction: every few minutes, resume RUNNING jobs whose invocation died. All logic is in smsdrop."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smsdrop.config import Settings
from smsdrop.send.clients import aws_client
from smsdrop.send.sweep import build_sweep

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Queue a continuation for each stalled job."""
    resumed = build_sweep(Settings.from_env(), aws_client("dynamodb"), aws_client("sqs")).run()
    metrics.add_metric(name="JobsResumedBySweep", unit=MetricUnit.Count, value=len(resumed))
    return {"resumed": resumed}
