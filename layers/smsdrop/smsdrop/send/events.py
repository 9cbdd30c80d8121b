"""The events that start a job run: S3 ObjectCreated records, or continuation messages from the queue."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, SQSEvent

from smsdrop.intake.uploads import Upload


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
