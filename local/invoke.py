"""Invokes the real ingest handler the way AWS would: an S3 event, then one SQS event per continuation."""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from local import ROOT
from local.aws import LocalAws
from smsdrop.intake.uploads import Upload
from smsdrop.store.schema import job_key

EVENTS = ROOT / "events"


@dataclass
class LocalContext:
    """The parts of a Lambda context the handler and powertools read, with a real countdown."""

    budget_ms: int
    function_name: str = "IngestFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:IngestFunction"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left of this invocation's budget."""
        return self.budget_ms - int((time.monotonic() - self.started) * 1000)


def s3_put_event(upload: Upload) -> dict[str, Any]:
    """events/s3-put.json with this upload's bucket, (URL-encoded) key, version, ETag and size."""
    event = json.loads((EVENTS / "s3-put.json").read_text())
    s3 = event["Records"][0]["s3"]
    s3["bucket"]["name"] = upload.bucket
    s3["bucket"]["arn"] = f"arn:aws:s3:::{upload.bucket}"
    s3["object"].update(key=quote_plus(upload.key), size=upload.size, eTag=upload.etag, versionId=upload.version_id)
    return event


def continuation_event(body: str, message_id: str) -> dict[str, Any]:
    """events/continuation.json carrying one message from the continuation queue."""
    event = json.loads((EVENTS / "continuation.json").read_text())
    record = copy.deepcopy(event["Records"][0])
    record.update(body=body, messageId=message_id)
    return {"Records": [record]}


class Invoker:
    """Uploads a file and invokes the handler until its continuation queue is empty."""

    def __init__(self, aws: LocalAws, budget_ms: int, progress: bool = False) -> None:
        self._aws = aws
        self._budget_ms = budget_ms
        self._progress = progress
        self._sqs = aws.client("sqs")
        self._queue_url = self._sqs.get_queue_url(QueueName=aws.names.queue)["QueueUrl"]

    def upload(self, path: Path, key: str) -> Upload:
        """Put the file under `key` as an operator would; the answer's version makes the job id."""
        with path.open("rb") as body:
            answer = self._aws.client("s3").put_object(Bucket=self._aws.names.bucket, Key=key, Body=body)
        return Upload(self._aws.names.bucket, key, answer.get("VersionId"), answer["ETag"], path.stat().st_size)

    def run_to_end(self, upload: Upload) -> int:
        """Invoke for the upload, then for every continuation it queues; return the number of invocations."""
        from ingest.app import handler, runner

        runner.cache_clear()  # a fresh cold start for each local run
        stop = threading.Event()
        if self._progress:
            threading.Thread(target=self._report, args=(upload.job_id, stop), daemon=True).start()
        try:
            handler(s3_put_event(upload), LocalContext(self._budget_ms))
            invocations = 1
            while message := self._next_message():
                handler(continuation_event(message["Body"], message["MessageId"]), LocalContext(self._budget_ms))
                self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
                invocations += 1
        finally:
            stop.set()
        return invocations

    def _next_message(self) -> dict[str, Any] | None:
        answer = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
        messages = answer.get("Messages", [])
        return messages[0] if messages else None

    def _report(self, job_id: str, stop: threading.Event) -> None:
        dynamodb = self._aws.client("dynamodb")
        key = job_key(job_id)
        while not stop.wait(2.0):
            item = dynamodb.get_item(TableName=self._aws.names.table, Key=key).get("Item", {})
            counts = {k: v["N"] for k, v in item.get("counts", {}).get("M", {}).items()}
            print(f"… {job_id[:8]} {item.get('state', {}).get('S', '?')} {counts}", file=sys.stderr, flush=True)
