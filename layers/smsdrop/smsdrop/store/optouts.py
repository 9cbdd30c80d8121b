"""The opt-out list: numbers that must never be texted, one item per number in the results table.

Each number's item has a partition key of its own (smsdrop.store.schema.opt_out_key), so neither a bulk add of a
million numbers nor a job's checks meet on one partition. A batch's numbers are checked with BatchGetItem (100 keys
a request, the requests of one batch in parallel, strongly consistent: an opt-out written before the check is seen
by it; unprocessed keys asked again); numbers are added and removed with BatchWriteItem (25 a request, unprocessed
requests sent again). Opt-out items carry no `expires_at`: they never expire.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import islice
from typing import Any

from smsdrop.errors import SmsdropError
from smsdrop.store.batch_retry import Request, retried
from smsdrop.store.schema import PARTITION, opt_out_key, opted_out_number

GET_LIMIT = 100  # keys per BatchGetItem
WRITE_LIMIT = 25  # requests per BatchWriteItem


class OptOutsNotDone(SmsdropError):  # noqa: N818 - what happened, said plainly
    """DynamoDB kept some opt-out keys or writes unprocessed after every retry: nothing may be sent unchecked."""


class OptOutList:
    """The opt-out list in the table `table`: check, add and remove numbers (E.164 digits without '+')."""

    def __init__(
        self,
        dynamodb: Any,
        table: str,
        threads: int = 10,
        attempts: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._db = dynamodb
        self._table = table
        self._threads = threads
        self._attempts = attempts
        self._sleep = sleep

    def opted_out(self, numbers: Iterable[str]) -> set[str]:
        """Those of `numbers` on the list (strongly consistent reads, 100 keys a request, requests in parallel)."""
        chunks = list(_chunks(sorted(set(numbers)), GET_LIMIT))
        if len(chunks) <= 1:
            return set().union(*map(self._listed, chunks))
        with ThreadPoolExecutor(max_workers=min(self._threads, len(chunks)), thread_name_prefix="optout") as pool:
            return set().union(*pool.map(self._listed, chunks))

    def add(self, numbers: Iterable[str], source: str, now: float) -> int:
        """Put `numbers` on the list, noting where they came from (`source`) and when; how many distinct numbers."""
        return self._write(numbers, lambda number: {"PutRequest": {"Item": _item(number, source, now)}})

    def remove(self, numbers: Iterable[str]) -> int:
        """Take `numbers` off the list (a number not on it is no error); how many distinct numbers."""
        return self._write(numbers, lambda number: {"DeleteRequest": {"Key": opt_out_key(number)}})

    def _listed(self, numbers: list[str]) -> set[str]:
        keys = [opt_out_key(n) for n in numbers]
        names = {"ProjectionExpression": "#p", "ExpressionAttributeNames": {"#p": PARTITION}}
        pending: Request = {self._table: {"Keys": keys, "ConsistentRead": True, **names}}
        found: set[str] = set()
        for answer in self._retried(pending, "batch_get_item", "UnprocessedKeys"):
            found.update(opted_out_number(item) for item in answer.get("Responses", {}).get(self._table, []))
        return found

    def _write(self, numbers: Iterable[str], request: Callable[[str], Request]) -> int:
        """BatchWriteItem, 25 distinct numbers a request (one may not name a key twice); the numbers written."""
        written = 0
        for chunk in _distinct_chunks(numbers, WRITE_LIMIT):
            for _ in self._retried({self._table: [request(n) for n in chunk]}, "batch_write_item", "UnprocessedItems"):
                pass
            written += len(chunk)
        return written

    def _retried(self, pending: Request, operation: str, unprocessed: str) -> Iterator[Request]:
        """Each answer to `operation` on `pending`, asked again for what it left unprocessed (backing off)."""

        def not_done(_: Request) -> OptOutsNotDone:
            return OptOutsNotDone(f"{operation}: {unprocessed} left after {self._attempts} tries")

        call = getattr(self._db, operation)
        return retried(call, pending, unprocessed, self._attempts, self._sleep, not_done)


def _item(number: str, source: str, now: float) -> Request:
    key = opt_out_key(number)
    return key | {"number": {"S": number}, "source": {"S": source[:256]}, "added_at": {"N": str(int(now))}}


def _chunks(values: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(values)
    while chunk := list(islice(it, size)):
        yield chunk


def _distinct_chunks(values: Iterable[str], size: int) -> Iterator[list[str]]:
    """`values` in chunks of `size` distinct values (a value repeated in a later chunk comes again)."""
    chunk: dict[str, None] = {}
    for value in values:
        chunk[value] = None
        if len(chunk) == size:
            yield list(chunk)
            chunk = {}
    if chunk:
        yield list(chunk)
