"""Per-number result items: one per data row, written in batches, or one by one under a condition.

The job runner writes a batch's items with BatchWriteItem only right after renewing its lease, so no other
invocation can be writing those rows; rows that another invocation may have touched (recovery after a
crash, or after losing the lease) go through `write_once`, whose `attribute_not_exists` condition means a
replay can never overwrite an item or create a second one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from smsdrop.models import Outcome, Recipient, Row, Status
from smsdrop.output.sms_parts import sms_parts
from smsdrop.store.delivery import awaiting_report_attributes
from smsdrop.store.schema import MSG_ID, SORT, is_condition_failed, row_key, row_of, rows_query

BATCH_WRITE_LIMIT = 25


class ResultsNotWritten(Exception):  # noqa: N818 - what happened, said plainly
    """DynamoDB kept some items unprocessed after every retry: the run must fail loudly, not drop them."""


@dataclass(frozen=True, slots=True)
class Result:
    """What to record for one data row: the row as read (a recipient or a rejected row), and what came of it."""

    entry: Row
    outcome: Outcome
    batch: str


class ResultWriter:
    """Writes per-number items with `attribute_not_exists`, several at once; reads back what a job has."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        ttl_days: int,
        threads: int = 16,
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._ttl_s = ttl_days * 86_400
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="results")
        self._attempts = attempts
        self._sleep = sleep

    def write(self, job_id: str, results: Sequence[Result], now: float) -> dict[int, Status]:
        """Record rows nobody else is writing, 25 to a request, retrying unprocessed items; raise if any stay."""
        requests = [
            [{"PutRequest": {"Item": self._item(job_id, r, int(now))}} for r in chunk]
            for chunk in _chunks(results, BATCH_WRITE_LIMIT)
        ]
        for _ in self._pool.map(self._batch_write, requests):
            pass
        return {r.entry.row: r.outcome.status for r in results}

    def write_once(self, job_id: str, results: Sequence[Result], now: float) -> dict[int, Status]:
        """Record each result unless its row already has an item, which it keeps. Returns each row's status."""
        stored = self._pool.map(lambda r: self._put(job_id, r, int(now)), results)
        return dict(zip((r.entry.row for r in results), stored, strict=True))

    def _batch_write(self, puts: list[dict[str, Any]]) -> None:
        pending = {self._table: puts}
        for attempt in range(self._attempts):
            pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
            self._sleep(min(2.0, 0.05 * 2**attempt))
        raise ResultsNotWritten(f"{len(pending[self._table])} result items unprocessed after {self._attempts} tries")

    def statuses(self, job_id: str, after_row: int = 0) -> Iterator[tuple[int, Status]]:
        """Every recorded row after `after_row` with its status, in row order (paginated, never all in memory)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            **rows_query(job_id, after_row),
            "ProjectionExpression": f"{SORT}, #s",
            "ExpressionAttributeNames": {"#s": "status"},
            "ConsistentRead": True,
        }
        for page in self._db.get_paginator("query").paginate(**request):
            for item in page["Items"]:
                yield row_of(item[SORT]["S"]), Status(item["status"]["S"])

    def count(self, job_id: str) -> tuple[Counter[Status], int]:
        """Counts per status over the whole job, and the number of items: the recount after a crash."""
        counts: Counter[Status] = Counter(status for _, status in self.statuses(job_id))
        return counts, sum(counts.values())

    def _put(self, job_id: str, result: Result, now: int) -> Status:
        try:
            self._db.put_item(
                TableName=self._table,
                Item=self._item(job_id, result, now),
                ConditionExpression=f"attribute_not_exists({SORT})",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            return self._stored_status(job_id, result.entry.row)
        return result.outcome.status

    def _stored_status(self, job_id: str, row: int) -> Status:
        item = self._db.get_item(
            TableName=self._table,
            Key=row_key(job_id, row),
            ProjectionExpression="#s",
            ExpressionAttributeNames={"#s": "status"},
            ConsistentRead=True,
        )["Item"]
        return Status(item["status"]["S"])

    def _item(self, job_id: str, result: Result, now: int) -> dict[str, Any]:
        row, outcome = result.entry, result.outcome
        item: dict[str, Any] = {
            **row_key(job_id, row.row),
            "row": {"N": str(row.row)},
            "number": {"S": row.number},
            "order_id": {"S": row.order_id},
            "sender_id": {"S": row.sender_id},
            "status": {"S": str(outcome.status)},
            "reason": {"S": outcome.reason},
            "batch": {"S": result.batch},
            "updated_at": {"N": str(now)},
            "expires_at": {"N": str(now + self._ttl_s)},
        }
        if isinstance(row, Recipient):
            parts = sms_parts(row.content)
            item["country_code"] = {"N": str(row.country_code)}
            item["parts"] = {"N": str(parts.parts)}
            item["encoding"] = {"S": parts.encoding.value}
        else:
            item["reject_code"] = {"S": row.code}
        if outcome.provider_code is not None:
            item["provider_code"] = {"S": outcome.provider_code}
        if outcome.msg_id:
            item[MSG_ID] = {"S": outcome.msg_id}
            if outcome.status is Status.SUBMITTED:
                item |= awaiting_report_attributes(outcome.msg_id, now)  # joins the AwaitingReport index
        return item


def _chunks(results: Sequence[Result], size: int) -> Iterator[Sequence[Result]]:
    return (results[i : i + size] for i in range(0, len(results), size))
