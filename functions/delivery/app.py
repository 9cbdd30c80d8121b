"""DeliveryFunction: every few minutes, ask getReport about numbers awaiting a report. All logic is in smsdrop."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from smsdrop.config import Settings
from smsdrop.delivery.poller import DeliveryPoller
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_poller, default_clients

logger = Logger()
metrics = Metrics()
tracer = Tracer()


class DeliveryPollFailed(Exception):  # noqa: N818 - what happened, said plainly
    """getReport was unavailable: the run fails so that the errors alarm sees it; the next run retries."""


@cache
def poller() -> DeliveryPoller:
    """One poller per cold start: settings, clients, HTTP session and secret cache are reused."""
    return build_poller(Settings.from_env(), DeliverySettings.from_env(), *default_clients())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Poll once; raise if the provider could not be asked."""
    summary = poller().run(context.get_remaining_time_in_millis)
    for name, value in (
        ("ReportsDelivered", summary.delivered),
        ("ReportsUndelivered", summary.undelivered),
        ("ReportsExpired", summary.expired),
        ("ReportsPending", summary.pending),
    ):
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    if summary.error:
        raise DeliveryPollFailed(summary.error)
    return asdict(summary)
