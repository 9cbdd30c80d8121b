"""Per-number result items: one per data row, written in batches, or one by one under a condition.

The job runner writes a batch's items with BatchWriteItem only right after renewing its lease, so no other
invocation can be writing those rows; rows that another invocation may have touched (recovery after a
crash, or after losing the lease) go through `write_once`, whose `attribute_not_exists` condition means a
replay can never overwrite an item or create a second one.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smsdrop.errors import SmsdropError
from smsdrop.models import Outcome, Recipient, Row, Status
from smsdrop.output.sms_parts import sms_parts
from smsdrop.store.delivery import awaiting_report_attributes
from smsdrop.store.row_reader import Item, RowReader
from smsdrop.store.schema import LAST_ROW, MSG_ID, SORT, JobRows, is_condition_failed
from smsdrop.store.steering import UNSENT

if TYPE_CHECKING:
    from smsdrop.store.wire_writer import WireWriter

BATCH_WRITE_LIMIT = 25


class ResultsNotWritten(SmsdropError):  # noqa: N818 - what happened, said plainly
    """DynamoDB kept some items unprocessed after every retry: the run must fail loudly, not drop them."""


@dataclass(frozen=True, slots=True)
class Result:
    """What to record for one data row: the row as read (a recipient or a rejected row), and what came of it."""

    entry: Row
    outcome: Outcome
    batch: str


class ResultWriter:
    """Writes per-number items, several at once or each under `attribute_not_exists`; reads back what a job has.

    Every write answers the items as they are stored now (DynamoDB's wire format), for the results file.
    """

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        ttl_days: int,
        threads: int = 16,
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        wire: WireWriter | None = None,
    ) -> None:
        self._db = dynamodb
        self._wire = wire  # batches go over the wire writer, with its own retries, instead of botocore's client
        self._table = table
        self._ttl_s = ttl_days * 86_400
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="results")
        self._attempts = attempts
        self._sleep = sleep
        self._reader = RowReader(dynamodb, table, threads, attempts, sleep)

    def take_counts(self) -> dict[str, int]:
        """The wire writer's counts since the last take (see WireWriter.take_counts); none without one."""
        return self._wire.take_counts() if self._wire is not None else {}

    def write(self, rows: JobRows, results: Sequence[Result], now: float) -> list[Item]:
        """Record rows nobody else is writing, 25 to a request, retrying unprocessed items; raise if any stay."""
        items = [self._item(rows, r, int(now)) for r in results]
        requests = [[{"PutRequest": {"Item": item}} for item in chunk] for chunk in _chunks(items, BATCH_WRITE_LIMIT)]
        for _ in self._pool.map(self._batch_write, requests):
            pass
        return items

    def write_once(self, rows: JobRows, results: Sequence[Result], now: float) -> list[Item]:
        """Record each result unless its row already has an item, which it keeps."""
        return list(self._pool.map(lambda r: self._put(rows, r, int(now)), results))

    def write_unsent(self, rows: JobRows, results: Sequence[Result], now: float) -> list[tuple[Item, Status]]:
        """Record each result over its row's item only while that item is marked unsent (a resumed job's sends);
        each row's item as stored now, and the status it had before (its own, if it was not unsent any more)."""
        return list(self._pool.map(lambda r: self._replace_unsent(rows, r, int(now)), results))

    def read(self, rows: JobRows, after_row: int = 0, through_row: int = LAST_ROW) -> Iterator[Item]:
        """The items recorded after `after_row` up to `through_row`, in row order (RowReader.items)."""
        return self._reader.items(rows, after_row, through_row)

    def by_row(self, rows: JobRows, numbers: Iterable[int]) -> dict[int, Item]:
        """The items of the rows `numbers` that have one (RowReader.by_row)."""
        return self._reader.by_row(rows, numbers)

    def count(self, rows: JobRows, after_row: int = 0, through_row: int = LAST_ROW) -> Counter[Status]:
        """Counts per status over the job's rows after `after_row` up to `through_row` (all: the whole job): the
        recount after a crash (RowReader.count)."""
        return self._reader.count(rows, after_row, through_row)

    def _batch_write(self, puts: list[dict[str, Any]]) -> None:
        if self._wire is not None:
            self._wire.put(self._table, [put["PutRequest"]["Item"] for put in puts])
            return
        pending = {self._table: puts}
        for attempt in range(self._attempts):
            pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                return
            self._sleep(min(2.0, 0.05 * 2**attempt))
        raise ResultsNotWritten(f"{len(pending[self._table])} result items unprocessed after {self._attempts} tries")

    def _put(self, rows: JobRows, result: Result, now: int) -> Item:
        item = self._item(rows, result, now)
        try:
            self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=f"attribute_not_exists({SORT})",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            answer: dict[str, Any] = dict(error.response)
            stored: Item = answer["Item"]  # ReturnValuesOnConditionCheckFailure: the item kept
            return stored
        return item

    def _replace_unsent(self, rows: JobRows, result: Result, now: int) -> tuple[Item, Status]:
        item = self._item(rows, result, now)
        try:
            answer = self._db.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression=f"attribute_exists({UNSENT})",
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            refusal: dict[str, Any] = dict(error.response)
            stored: Item | None = refusal.get("Item")
            if stored is None:  # no item at all: nothing to replace, record it as any first write would
                return self._put(rows, result, now), result.outcome.status
            return stored, Status(stored["status"]["S"])
        return item, Status(answer["Attributes"]["status"]["S"])

    def _item(self, rows: JobRows, result: Result, now: int) -> Item:
        row, outcome = result.entry, result.outcome
        item: Item = {
            **rows.key(row.row),
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
        if outcome.unsent:
            item[UNSENT] = {"N": "1"}
        if outcome.msg_id:
            item[MSG_ID] = {"S": outcome.msg_id}
            if outcome.status is Status.SUBMITTED:
                item |= awaiting_report_attributes(outcome.msg_id, now)  # joins the AwaitingReport index
        return item


def _chunks(items: list[Item], size: int) -> Iterator[list[Item]]:
    return (items[i : i + size] for i in range(0, len(items), size))
