"""ScaleFunction: the scale-out state machine's Lambda steps (Plan, Index, Merge, Send, Finish, Fail); all logic is
in smsdrop.scale."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from smsdrop.config import Settings
from smsdrop.scale.steps import ScaleSteps, dispatch
from smsdrop.send.clients import Clients

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def steps() -> ScaleSteps:
    """One set of steps per cold start: settings, clients and the chunk runner are reused."""
    return ScaleSteps(Settings.from_env(), Clients.default())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the step the state machine names (`step`) on the upload it carries."""
    logger.set_correlation_id(event.get("upload", {}).get("job_id"))
    return dispatch(steps(), event, context.get_remaining_time_in_millis)
