"""The events that start a job run: S3 ObjectCreated records, or continuation messages from the queue.

A copy (`ObjectCreated:Copy`: metadata edited in place, an old version restored) makes a new version of a file
already sent: never a job. The stack's trigger leaves copies out; the handler ignores them too, should a trigger
ever be set to `s3:ObjectCreated:*`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import S3Event, SQSEvent

from smsdrop.intake.uploads import Upload

logger = Logger(child=True)
COPY = "ObjectCreated:Copy"


def is_continuation(event: dict[str, Any]) -> bool:
    """Whether the event carries continuation messages (jobs under way) rather than S3 uploads."""
    records = event.get("Records") or []
    return bool(records) and records[0].get("eventSource") == "aws:sqs"


def uploads_in(event: dict[str, Any]) -> list[Upload]:
    """The uploads an event names: S3 ObjectCreated records (keys URL-decoded; copies left out) or continuation
    messages."""
    if is_continuation(event):
        return [Upload.from_message(record.json_body) for record in SQSEvent(event).records]
    uploads = []
    for record in S3Event(event).records:
        key = unquote_plus(record.s3.get_object.key)
        if record.event_name == COPY:
            logger.warning("Ignored: a copy is not a new job (it would text every row again)", extra={"key": key})
            continue
        uploads.append(
            Upload(
                bucket=record.s3.bucket.name,
                key=key,
                version_id=record.s3.get_object.version_id,
                etag=record.s3.get_object.etag,
                size=record.s3.get_object.get("size"),
            )
        )
    return uploads
