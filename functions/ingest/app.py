"""IngestFunction: S3 uploads and continuation messages in; one job run per record. All logic is in smsdrop."""

from __future__ import annotations

from dataclasses import asdict
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from smsdrop.config import Settings
from smsdrop.intake.uploads import Upload
from smsdrop.send.runner import JobRunner
from smsdrop.send.wiring import Clients, build_runner

logger = Logger()
metrics = Metrics()
tracer = Tracer()


@cache
def runner() -> JobRunner:
    """One runner per cold start: settings, clients, HTTP session and secret cache are reused."""
    return build_runner(Settings.from_env(), Clients.default())


def uploads_in(event: dict[str, Any]) -> list[Upload]:
    """The uploads an event names: S3 ObjectCreated records (keys URL-decoded) or continuation messages."""
    records = event.get("Records") or []
    if records and records[0].get("eventSource") == "aws:sqs":
        return [Upload.from_message(record.json_body) for record in SQSEvent(event).records]
    return [
        Upload(
            bucket=record.s3.bucket.name,
            key=unquote_plus(record.s3.get_object.key),
            version_id=record.s3.get_object.version_id,
            etag=record.s3.get_object.etag,
            size=record.s3.get_object.get("size"),
        )
        for record in S3Event(event).records
    ]


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Run the job of each upload in the event; objects that are not CSVs under incoming/ are ignored."""
    runs = []
    for upload in uploads_in(event):
        if not upload.is_job:
            logger.info("Ignored: not a .csv or .csv.gz under incoming/", extra={"key": upload.key})
            metrics.add_metric(name="UploadsIgnored", unit=MetricUnit.Count, value=1)
            continue
        logger.set_correlation_id(upload.job_id)
        runs.append(asdict(runner().run(upload, context.get_remaining_time_in_millis)))
    return {"runs": runs}
