"""Reading a job's row items back: its shards merged in row order as a stream, rows by key, counts per shard.

Every reader goes through here, so none loads a job: `items` keeps one page per shard in memory (heapq.merge over
S paginated queries), `by_row` asks BatchGetItem for at most 100 keys at a time, `count` counts each shard on its
own (in parallel) and sums.
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from smsdrop.errors import SmsdropError
from smsdrop.models import Status
from smsdrop.store.batch_retry import retried
from smsdrop.store.schema import LAST_ROW, SORT, JobRows, row_of, rows_query

Item = dict[str, Any]
GET_LIMIT = 100  # keys per BatchGetItem


class RowsNotRead(SmsdropError):  # noqa: N818 - what happened, said plainly
    """DynamoDB kept some keys unprocessed after every retry."""


class RowReader:
    """Reads the row items of jobs in the table `table`."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        threads: int = 16,
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._threads = threads
        self._attempts = attempts
        self._sleep = sleep

    def items(self, rows: JobRows, after_row: int = 0, through_row: int = LAST_ROW) -> Iterator[Item]:
        """The items of rows after `after_row` up to `through_row`, in row order, every shard merged as it is read."""
        shards = [self._partition(p, after_row, through_row) for p in rows.partitions()]
        return shards[0] if len(shards) == 1 else heapq.merge(*shards, key=_row)

    def by_row(self, rows: JobRows, numbers: Iterable[int]) -> dict[int, Item]:
        """The items of the rows `numbers` that have one, by row (strongly consistent)."""
        found: dict[int, Item] = {}
        wanted = iter(sorted(set(numbers)))
        while chunk := list(islice(wanted, GET_LIMIT)):
            for item in self._get([rows.key(row) for row in chunk]):
                found[_row(item)] = item
        return found

    def count(self, rows: JobRows, after_row: int = 0, through_row: int = LAST_ROW) -> Counter[Status]:
        """Counts per status over the job's rows after `after_row` up to `through_row` (all: the whole job): each
        shard counted on its own, in parallel, then summed."""
        partitions = rows.partitions()
        with ThreadPoolExecutor(max_workers=min(self._threads, len(partitions))) as pool:
            counted = pool.map(lambda partition: self._count(partition, after_row, through_row), partitions)
            return sum(counted, Counter())

    def _count(self, partition: str, after_row: int, through_row: int) -> Counter[Status]:
        items = self._partition(partition, after_row, through_row, "#s")
        return Counter(Status(item["status"]["S"]) for item in items)

    def _partition(self, partition: str, after_row: int, through_row: int, projection: str = "") -> Iterator[Item]:
        request: dict[str, Any] = {
            "TableName": self._table,
            **rows_query(partition, after_row, through_row),
            "ConsistentRead": True,
        }
        if projection:
            request |= {"ProjectionExpression": f"{SORT}, {projection}", "ExpressionAttributeNames": {"#s": "status"}}
        for page in self._db.get_paginator("query").paginate(**request):
            yield from page["Items"]

    def _get(self, keys: list[Item]) -> Iterator[Item]:
        pending: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        for answer in retried(
            self._db.batch_get_item, pending, "UnprocessedKeys", self._attempts, self._sleep, self._unread
        ):
            yield from answer["Responses"].get(self._table, [])

    def _unread(self, left: dict[str, Any]) -> RowsNotRead:
        return RowsNotRead(f"{len(left[self._table]['Keys'])} row items unread after {self._attempts} tries")


def _row(item: Item) -> int:
    return row_of(item[SORT]["S"])
