"""Invokes the real ingest handler the way AWS would: an S3 event, then one SQS event per continuation, until
Lambda's recursive loop detection would stop the chain (unless the template allows the loop)."""

from __future__ import annotations

import copy
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import yaml

from local import ROOT
from local.aws import LocalAws
from smsdrop.config import Settings
from smsdrop.intake.uploads import Upload
from smsdrop.send.clients import Clients
from smsdrop.send.wiring import build_runner
from smsdrop.store.schema import job_key

EVENTS = ROOT / "events"
TEMPLATE = ROOT / "template.yaml"
MAX_HOPS = 16
"""Continuations Lambda lets one chain run: it stops a recursive loop after about 16 invocations through it (the
S3 event's invocation is hop 0; AWS follows the chain through the trace header, we count in the invoker)."""


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
    checks: int | None = None
    """When set, how many times the time left may be asked before it reads `short_ms`: time short, under the run's
    margin (the runner drains and hands over) yet long enough for the calls under way; whatever the machine's speed."""
    short_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left of this invocation's budget."""
        left = self.budget_ms - int((time.monotonic() - self.started) * 1000)
        if self.checks is None:
            return left
        self.checks -= 1
        return left if self.checks >= 0 else min(left, self.short_ms)


@dataclass(frozen=True, slots=True)
class Chain:
    """How a file's chain of invocations ended: how many ran, and the hop loop detection stopped it at, if it did."""

    invocations: int
    stopped_at_hop: int | None = None


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !Sub...) read as nothing: only plain values are needed."""


_TemplateLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


@cache
def recursion_allowed(template: Path = TEMPLATE) -> bool:
    """Whether template.yaml lets IngestFunction run in a recursive loop (`RecursiveLoop: Allow`); read once."""
    resources = yaml.load(template.read_text(), Loader=_TemplateLoader)["Resources"]
    return bool(resources["IngestFunction"]["Properties"].get("RecursiveLoop") == "Allow")


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
    """Uploads a file and invokes the handler until its continuation queue is empty, or loop detection stops it.

    `recursion`: whether the function may run in a recursive loop (default: as template.yaml says);
    `checks_per_invocation`: each invocation's time reads `short_ms` after it was asked that many times (LocalContext);
    `clock`: the time the handler's runner reads (epoch seconds; default: the real time).
    """

    def __init__(
        self,
        aws: LocalAws,
        budget_ms: int,
        progress: bool = False,
        *,
        recursion: bool | None = None,
        checks_per_invocation: int | None = None,
        short_ms: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._aws = aws
        self._budget_ms = budget_ms
        self._progress = progress
        self._recursion = recursion_allowed() if recursion is None else recursion
        self._checks = checks_per_invocation
        self._short_ms = short_ms
        self._clock = clock
        self._sqs = aws.client("sqs")
        self._queue_url = self._sqs.get_queue_url(QueueName=aws.names.queue)["QueueUrl"]

    def upload(self, path: Path, key: str, metadata: dict[str, str] | None = None) -> Upload:
        """Put the file under `key` (with `metadata`) as an operator would; the answer's version makes the job id."""
        with path.open("rb") as body:
            answer = self._aws.client("s3").put_object(
                Bucket=self._aws.names.bucket, Key=key, Body=body, Metadata=metadata or {}
            )
        return Upload(self._aws.names.bucket, key, answer.get("VersionId"), answer["ETag"], path.stat().st_size)

    def run_to_end(self, upload: Upload) -> Chain:
        """Invoke for the upload, then for every continuation it queues, as long as Lambda would: past MAX_HOPS
        continuations without `RecursiveLoop: Allow`, the message goes to the dead-letter queue instead."""
        from ingest.app import handler, runner

        runner.cache_clear()  # a fresh cold start for each local run
        stop = threading.Event()
        if self._progress:
            threading.Thread(target=self._report, args=(upload.job_id, stop), daemon=True).start()
        try:
            with self._clocked():
                handler(s3_put_event(upload), self._context())
            return self.follow(first=1)
        finally:
            stop.set()

    def follow(self, first: int = 0) -> Chain:
        """Invoke for every continuation queued (after a resume, say), as long as Lambda would (see run_to_end);
        `first` invocations already ran in this chain."""
        from ingest.app import handler

        hop = 0
        while message := self._next_message():
            hop += 1
            if hop > MAX_HOPS and not self._recursion:
                self._to_dead_letter(message)
                return Chain(first + hop - 1, stopped_at_hop=hop)
            with self._clocked():
                handler(continuation_event(message["Body"], message["MessageId"]), self._context())
            self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
        return Chain(first + hop)

    @contextmanager
    def _clocked(self) -> Iterator[None]:
        """The handler's runner on this invoker's clock, if it has one: a fresh cold start with it (as `runner()`
        builds it, but the clock), put back afterwards."""
        if self._clock is None:
            yield
            return
        import ingest.app as app

        clock, real = self._clock, app.runner
        app.runner = cache(lambda: build_runner(Settings.from_env(), Clients.default(), clock))
        try:
            yield
        finally:
            app.runner = real

    def _context(self) -> LocalContext:
        return LocalContext(self._budget_ms, checks=self._checks, short_ms=self._short_ms)

    def _to_dead_letter(self, message: dict[str, Any]) -> None:
        """What Lambda does with a message whose invocation loop detection stopped: to the queue's dead-letter queue."""
        dead_letter = self._sqs.get_queue_url(QueueName=self._aws.names.dead_letter_queue)["QueueUrl"]
        self._sqs.send_message(QueueUrl=dead_letter, MessageBody=message["Body"])
        self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])

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
