"""IngestFunction: S3 uploads and continuation messages in; one job run per record. All logic is in smsdrop."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from smsdrop.config import Settings
from smsdrop.scale.starter import ScaleOut, build_scale_out
from smsdrop.send.clients import Clients
from smsdrop.send.handler_support import run_jobs
from smsdrop.send.optout_drops import OptOutDrops
from smsdrop.send.runner import JobRunner
from smsdrop.send.wiring import build_optout_drops, build_runner

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def runner() -> JobRunner:
    """One runner per cold start: settings, clients, HTTP session and secret cache are reused."""
    return build_runner(Settings.from_env(), Clients.default())


@cache
def optout_drops() -> OptOutDrops:
    """What applies the opt-out files dropped under optouts/ (built on the first one)."""
    return build_optout_drops(Settings.from_env(), Clients.default())


@cache
def scale_out() -> ScaleOut | None:
    """The scale-out starter when SCALE_OUT_BYTES and STATE_MACHINE_ARN are set (docs/scale-out.md)."""
    return build_scale_out(Settings.from_env())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the job of each upload in the event, apply each opt-out file under optouts/; other objects are ignored."""
    return run_jobs(runner, event, context.get_remaining_time_in_millis, optout_drops, scale_out)
