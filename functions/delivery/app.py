"""DeliveryFunction: every few minutes, ask getReport about numbers awaiting a report. All logic is in smsdrop."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from smsdrop.config import Settings
from smsdrop.delivery.handler_support import DeliveryPollFailed, poll_once
from smsdrop.delivery.poller import DeliveryPoller
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_poller, default_clients

__all__ = ["DeliveryPollFailed", "handler"]

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def poller() -> DeliveryPoller:
    """One poller per cold start: settings, clients, HTTP session and secret cache are reused."""
    return build_poller(Settings.from_env(), DeliverySettings.from_env(), *default_clients())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Poll once; raise DeliveryPollFailed if the provider could not be asked."""
    return poll_once(poller(), context.get_remaining_time_in_millis)
