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
    """Finds RUNNING jobs whose lease lapsed `grace_s` ago with nobody on them, and SCHEDULED jobs whose schedule is
    `grace_s` late (lost, or its deliveries failing), and queues their resumption."""

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
        for state in (JobState.RUNNING, JobState.SCHEDULED):  # a SCHEDULED job's lease expiry: the time it waits for
            request = {
                "TableName": self._table,
                "IndexName": ACTIVE_INDEX,
                "KeyConditionExpression": f"{ACTIVE} = :state AND {LEASE_EXPIRES} < :cutoff",
                "ExpressionAttributeValues": {
                    ":state": {"S": str(state)},
                    ":cutoff": {"N": str(int(self._clock()) - self._grace_s)},
                },
            }
            yield from self._uploads(request)

    def _uploads(self, request: dict[str, Any]) -> Iterator[Upload]:
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
