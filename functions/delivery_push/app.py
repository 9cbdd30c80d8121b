"""DeliveryPushFunction: the provider's delivery report push, through a Function URL. All logic is in smsdrop."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from smsdrop.config import Settings
from smsdrop.delivery.push import PushReceiver
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_push_receiver, default_clients

logger = Logger()


@cache
def receiver() -> PushReceiver:
    """One receiver per cold start: clients and the secret cache are reused."""
    return build_push_receiver(Settings.from_env(), DeliverySettings.from_env(), *default_clients())


@logger.inject_lambda_context(clear_state=True, log_event=False)  # the event holds the token: never logged
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Record the pushed reports; the request's path and query (which hold the token) are never logged."""
    return receiver().handle(event)
