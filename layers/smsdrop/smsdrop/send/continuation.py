"""The hand-over to a fresh invocation: a message on the continuation queue, which triggers the same function."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from smsdrop.intake.uploads import Upload

metrics = Metrics()


class QueueContinuation:
    """Sends the job's upload to the SQS queue that triggers the ingest function."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        if not queue_url:
            raise ValueError("CONTINUATION_QUEUE_URL is not set: a long file could not be handed over")
        self._sqs = sqs
        self._queue_url = queue_url

    def request(self, upload: Upload) -> None:
        """Queue the upload; the invocation it triggers resumes from the saved checkpoint."""
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(upload.to_message()))
        metrics.add_metric(name="ContinuationHops", unit=MetricUnit.Count, value=1)
