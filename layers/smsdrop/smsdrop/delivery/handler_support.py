"""What the scheduled delivery function does with one poll, so its handler only wires."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.delivery.poller import DeliveryPoller
from smsdrop.errors import SmsdropError

metrics = Metrics()


class DeliveryPollFailed(SmsdropError):  # noqa: N818 - what happened, said plainly
    """getReport was unavailable: the run fails so that the errors alarm sees it; the next run retries."""


def poll_once(poller: DeliveryPoller, remaining_ms: Callable[[], int]) -> dict[str, Any]:
    """Poll once and count what came of it in metrics; the summary as JSON. Raises if the provider could not
    be asked."""
    summary = poller.run(remaining_ms)
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
