"""The recovery sweep: a job must never stay RUNNING because the invocation working on it died."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from aws_lambda_powertools import Logger

from smsdrop.intake.uploads import Upload
from smsdrop.send.ports import Continuation

logger = Logger(child=True)

ACTIVE_INDEX = "ActiveJobs"


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
            "KeyConditionExpression": "active = :running AND lease_expires < :cutoff",
            "ExpressionAttributeValues": {
                ":running": {"S": "RUNNING"},
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
