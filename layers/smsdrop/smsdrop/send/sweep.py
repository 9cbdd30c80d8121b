"""The recovery sweep: a job must never stay RUNNING because the invocation working on it died.

Its wiring is its own and light (config, boto3, the store's schema, the continuation queue): the scheduled
function never loads the reader, the phone-number rules or the HTTP client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from aws_lambda_powertools import Logger

from smsdrop.config import Settings
from smsdrop.intake.uploads import Upload
from smsdrop.send.continuation import QueueContinuation
from smsdrop.send.ports import Continuation
from smsdrop.store.jobs import JobState
from smsdrop.store.schema import ACTIVE, ACTIVE_INDEX, LEASE_EXPIRES

logger = Logger(child=True)


class Sweep:
    """Finds RUNNING jobs whose lease lapsed `grace_s` ago with nobody on them, and queues their resumption."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        continuation: Continuation,
        grace_s: int = 120,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._continuation = continuation
        self._grace_s = grace_s
        self._clock = clock

    def run(self) -> list[str]:
        """Queue a continuation for every stalled job; return their ids."""
        resumed = []
        for upload in self._stalled():
            self._continuation.request(upload)
            logger.warning("Resuming a stalled job", extra={"job_id": upload.job_id})
            resumed.append(upload.job_id)
        return resumed

    def _stalled(self) -> Iterator[Upload]:
        request = {
            "TableName": self._table,
            "IndexName": ACTIVE_INDEX,
            "KeyConditionExpression": f"{ACTIVE} = :running AND {LEASE_EXPIRES} < :cutoff",
            "ExpressionAttributeValues": {
                ":running": {"S": str(JobState.RUNNING)},
                ":cutoff": {"N": str(int(self._clock()) - self._grace_s)},
            },
        }
        for page in self._db.get_paginator("query").paginate(**request):
            for item in page["Items"]:
                yield Upload(
                    bucket=item["bucket"]["S"],
                    key=item["key"]["S"],
                    version_id=item["version_id"]["S"] or None,
                    etag=item.get("etag", {}).get("S", ""),
                )


def build_sweep(settings: Settings, dynamodb: Any, sqs: Any, clock: Callable[[], float] = time.time) -> Sweep:
    """The recovery sweep on these DynamoDB and SQS clients."""
    return Sweep(dynamodb, settings.results_table, QueueContinuation(sqs, settings.continuation_queue_url), clock=clock)
