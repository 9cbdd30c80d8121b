"""AWS's DynamoDB limits, which moto server does not enforce: every rule of the local stack's limits layer.

`local.limits_proxy.LimitsProxy`, an HTTP proxy on 127.0.0.1 between boto3 and moto server, hands every DynamoDB
request (header `X-Amz-Target: DynamoDB_20120810.<Op>`) to `AwsLimits.check`, which answers as DynamoDB would:

- Per partition key value (of the table, or of an index for a Query on it): at most 1,000 write units/s or 3,000
  read units/s, or a linear combination of both.
- Per table (and per index), on demand: a new table takes at most 4,000 write units/s or 12,000 read units/s (a
  table pre-warmed with WarmThroughput takes more: `AwsLimits(table_write_units=...)`).
- Burst: DynamoDB keeps up to 300 s of unused capacity; here at most `burst_s` = 1 s, so we are never kinder.
- Over a limit: HTTP 400 `ProvisionedThroughputExceededException` for a partition, `ThrottlingException` for the
  table (the answer of an on-demand table that must scale first). A BatchWriteItem writes the items that fit and
  returns the rest as `UnprocessedItems`; when none fits, the whole request is throttled.
- An item over 400 KB: `ValidationException` "Item size has exceeded the maximum allowed size" ("Item size to update
  has exceeded..." for an UpdateItem).
- Sizes: attribute names (UTF-8) plus values: strings in UTF-8 bytes, numbers (significant digits / 2) + 1 (+1 when
  negative), binary in raw bytes, booleans and nulls 1, sets the sum of their members, lists and maps 3 bytes plus
  1 per element plus the elements. An approximation never smaller than AWS's own.
- Units: a write costs ceil(size / 1 KB), at least 1; PutItem is charged on the new item, DeleteItem on the stored
  item (read first, uncharged), UpdateItem on the larger of the item before and after (the stored item before it is
  forwarded, the rest once it is done; the 400 KB check counts all the update writes on top). A read costs
  ceil(size / 4 KB) per item (GetItem, BatchGetItem) or per page (Query, Scan), at least 1, half when eventually
  consistent. A read's size is known only from the answer: it is charged after, and a partition in debt refuses
  the next read, as DynamoDB effectively does. Projections do not make a read cheaper on AWS: a projected item is
  charged at least at the table's mean written item size.

Not modelled: transactions and PartiQL (smsdrop uses neither) pass uncharged; writes are not charged to the
indexes they update. Everything else (S3, SQS, Secrets Manager, moto's own API) passes through the proxy untouched.
Sources: the DynamoDB developer guide's "Item sizes and formats", "On-demand capacity mode" (initial throughput) and
"Troubleshooting throttling"; the ThrottlingException is the answer on-demand tables give while they scale.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

Json = dict[str, Any]
MAX_ITEM_BYTES = 400 * 1024
WRITE_UNIT_BYTES, READ_UNIT_BYTES = 1024, 4096
PARTITION_THROTTLED = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
TABLE_THROTTLED = "com.amazon.coral.availability#ThrottlingException"
INVALID = "com.amazon.coral.validate#ValidationException"
_MESSAGES = {
    PARTITION_THROTTLED: "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API.",
    TABLE_THROTTLED: "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically "
    "scaling your table or index so please try again shortly.",
}
TOO_LARGE = "Item size has exceeded the maximum allowed size"
TOO_LARGE_UPDATE = "Item size to update has exceeded the maximum allowed size"


# ---------------------------------------------------------------- sizes and units


def item_size(item: Json) -> int:
    """An item's size as DynamoDB counts it (see the module's docstring)."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: Json) -> int:
    """One attribute value's size, in the wire format ({"S": "..."}, {"M": {...}}...)."""
    ((kind, v),) = value.items()
    return _SIZES[kind](v)


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
    return (len(digits) + 1) // 2 + 1 + text.startswith("-")


def _binary_size(text: str) -> int:
    return len(text) * 3 // 4 - text[-2:].count("=")


_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda v: len(v.encode()),
    "N": _number_size,
    "B": _binary_size,
    "BOOL": lambda v: 1,
    "NULL": lambda v: 1,
    "SS": lambda v: sum(len(s.encode()) for s in v),
    "NS": lambda v: sum(_number_size(n) for n in v),
    "BS": lambda v: sum(_binary_size(b) for b in v),
    "L": lambda v: 3 + sum(1 + value_size(e) for e in v),
    "M": lambda v: 3 + len(v) + item_size(v),
}


def write_units(size: int) -> int:
    """Write units of a write of `size` bytes."""
    return max(1, math.ceil(size / WRITE_UNIT_BYTES))


def read_units(size: int, consistent: bool) -> float:
    """Read units of a read of `size` bytes (one item, or a Query/Scan page)."""
    return max(1, math.ceil(size / READ_UNIT_BYTES)) * (1.0 if consistent else 0.5)


# ---------------------------------------------------------------- the limits


class Store(Protocol):
    """What the limits must ask the upstream (uncharged): key schemas and stored items."""

    def hash_keys(self, table: str) -> dict[str, str]:
        """The hash key attribute of the table ("") and of each index; {} for no such table."""
        ...

    def stored_item(self, table: str, key: Json) -> Json | None:
        """The item stored under `key`, if any."""
        ...


@dataclass(slots=True)
class _Bucket:
    """Capacity in write units (a read unit costs rate / read rate): refills at `rate`, holds `burst_s` of it."""

    rate: float
    capacity: float
    tokens: float
    at: float

    def refill(self, now: float) -> _Bucket:
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return self


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with one DynamoDB request: refuse it with `refusal` (an error body), or forward it (`request`,
    when rewritten), add `unprocessed` items to the answer, and charge its reads from the answer (`charge`)."""

    refusal: Json | None = None
    request: Json | None = None
    unprocessed: dict[str, list[Json]] = field(default_factory=dict)
    charge: Callable[[Json], None] | None = None


def error_body(kind: str, message: str = "", reason: str = "") -> Json:
    """An error body as DynamoDB writes it (with a ThrottlingReasons entry for a key range over its limit)."""
    body: Json = {"__type": kind, "message": message or _MESSAGES[kind]}
    if reason:
        body["ThrottlingReasons"] = [{"reason": reason}]
    return body


@dataclass
class AwsLimits:
    """DynamoDB's throughput limits in units per second, the burst kept, and the clock that drives them."""

    partition_write_units: float = 1000
    partition_read_units: float = 3000
    table_write_units: float = 4000
    table_read_units: float = 12000
    burst_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[tuple[str, str | None], _Bucket] = field(default_factory=dict, init=False, repr=False)
    _written: dict[str, tuple[int, int]] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def check(self, op: str, request: Json, store: Store) -> Verdict:
        """The verdict on one DynamoDB request, before it is forwarded."""
        if op == "BatchWriteItem":
            return self._batch_write(request, store)
        if op == "BatchGetItem":
            return self._read(request["RequestItems"], store, op)
        table = request.get("TableName", "")
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            hashes = store.hash_keys(table)
            return self._write(op, table, request, hashes[""], store) if hashes else Verdict()
        if op in ("GetItem", "Query", "Scan"):
            return self._read({table: request}, store, op)
        return Verdict()

    def _write(self, op: str, table: str, request: Json, hash_key: str, store: Store) -> Verdict:
        key = request["Item"] if op == "PutItem" else request["Key"]
        stored = None if op == "PutItem" else store.stored_item(table, key)
        size = self._size(op, table, request, stored)
        if size > MAX_ITEM_BYTES:
            return Verdict(error_body(INVALID, TOO_LARGE_UPDATE if op == "UpdateItem" else TOO_LARGE))
        partition = _text(key[hash_key])
        units = write_units(item_size(stored or key) if op == "UpdateItem" else size)  # an update: the rest after
        throttled = self._take(table, partition, units)
        if throttled:
            return Verdict(error_body(throttled, reason=_reason(throttled, "", "Write")))
        if op != "UpdateItem":
            return Verdict()
        return Verdict(charge=partial(self._charge_update, store, table, key, partition, units))

    def _size(self, op: str, table: str, request: Json, stored: Json | None) -> int:
        """The item's size (PutItem), the stored item's (DeleteItem), or at most what it can be after an UpdateItem."""
        if op == "PutItem":
            self._note_written(table, size := item_size(request["Item"]))
            return size
        size = item_size(stored or request["Key"])
        if op == "UpdateItem":  # the stored item and everything the update could add to it
            size += len(request.get("UpdateExpression", "").encode())
            size += sum(value_size(v) for v in request.get("ExpressionAttributeValues", {}).values())
            size += sum(len(n.encode()) for n in request.get("ExpressionAttributeNames", {}).values())
        return size

    def _charge_update(self, store: Store, table: str, key: Json, partition: str, paid: int, answer: Json) -> None:
        """An update costs the larger of the item before and after: the item as it now is, beyond what was paid."""
        after = write_units(item_size(store.stored_item(table, key) or key))
        if after > paid:
            self._debit(table, partition, writes=after - paid)

    def _batch_write(self, request: Json, store: Store) -> Verdict:
        sized = []
        for table, writes in request["RequestItems"].items():
            hash_key = store.hash_keys(table).get("")
            for write in writes:
                put = write.get("PutRequest")
                item = put["Item"] if put else write["DeleteRequest"]["Key"]
                stored = None if put else store.stored_item(table, item)
                size = self._size("PutItem" if put else "DeleteItem", table, put or {"Key": item}, stored)
                if size > MAX_ITEM_BYTES:
                    return Verdict(error_body(INVALID, TOO_LARGE))
                sized.append((table, write, _text(item[hash_key]) if hash_key else None, write_units(size)))
        admitted: dict[str, list[Json]] = {}
        unprocessed: dict[str, list[Json]] = {}
        first = ""
        for table, write, partition, units in sized:
            throttled = self._take(table, partition, units)
            (unprocessed if throttled else admitted).setdefault(table, []).append(write)
            first = first or throttled
        if not admitted:
            return Verdict(error_body(first, reason=_reason(first, "", "Write")))
        return Verdict(request={**request, "RequestItems": admitted} if unprocessed else None, unprocessed=unprocessed)

    def _read(self, requests: dict[str, Json], store: Store, op: str) -> Verdict:
        """GetItem, Query, Scan ({table: request}) or BatchGetItem (its RequestItems): refused while a partition or
        table read from is in debt; charged from the answer."""
        reads = []
        for table, request in requests.items():
            scope = f"{table}/{request['IndexName']}" if request.get("IndexName") else table
            hash_key = store.hash_keys(table).get(request.get("IndexName", "")) if op != "Scan" else None
            keys = request.get("Keys") or [request.get("Key")]
            parts = [_query_partition(request, hash_key) if op == "Query" else _key_part(k, hash_key) for k in keys]
            for partition in parts:
                throttled = self._in_debt(scope, partition)
                if throttled:
                    return Verdict(error_body(throttled, reason=_reason(throttled, request.get("IndexName"), "Read")))
            reads.append((table, scope, hash_key, parts[0], bool(request.get("ConsistentRead"))))
        return Verdict(charge=partial(self._charge_reads, op, reads))

    def _charge_reads(self, op: str, reads: list[tuple[str, str, str | None, str | None, bool]], answer: Json) -> None:
        for table, scope, hash_key, partition, consistent in reads:
            mean = self._mean_written(table) if scope == table else 0  # an index's entries: as projected
            if op in ("Query", "Scan"):
                size = max(sum(map(item_size, answer.get("Items", []))), answer.get("ScannedCount", 0) * mean)
                self._debit(scope, partition, reads=read_units(size, consistent))
                continue
            items = answer.get("Responses", {}).get(table, []) if op == "BatchGetItem" else [answer.get("Item")]
            for item in items:
                size = max(item_size(item), mean) if item else 0
                self._debit(scope, _key_part(item, hash_key) or partition, reads=read_units(size, consistent))

    # ---------------------------------------------------------------- buckets

    def _bucket(self, scope: str, partition: str | None, now: float) -> _Bucket:
        """The bucket of a partition of `scope` (a table, or table/index), or of `scope` itself (partition None)."""
        bucket = self._buckets.get((scope, partition))
        if bucket is None:
            if len(self._buckets) >= 4096:  # forget partitions idle long enough to be full again
                self._buckets = {k: b for k, b in self._buckets.items() if b.refill(now).tokens < b.capacity}
            rate = self.table_write_units if partition is None else self.partition_write_units
            bucket = self._buckets[scope, partition] = _Bucket(rate, rate * self.burst_s, rate * self.burst_s, now)
        return bucket.refill(now)

    def _pair(self, scope: str, partition: str | None) -> tuple[_Bucket | None, _Bucket]:
        now = self.clock()
        return (self._bucket(scope, partition, now) if partition else None), self._bucket(scope, None, now)

    def _take(self, scope: str, partition: str | None, units: int) -> str:
        """Take `units` write units from the partition and its table; the error kind when either lacks them."""
        with self._lock:
            part, table = self._pair(scope, partition)
            if part is not None and part.tokens < units:
                return PARTITION_THROTTLED
            if table.tokens < units:
                return TABLE_THROTTLED
            for bucket in (part, table):
                if bucket is not None:
                    bucket.tokens -= units
            return ""

    def _in_debt(self, scope: str, partition: str | None) -> str:
        with self._lock:
            part, table = self._pair(scope, partition)
            if part is not None and part.tokens <= 0:
                return PARTITION_THROTTLED
            return TABLE_THROTTLED if table.tokens <= 0 else ""

    def _debit(self, scope: str, partition: str | None, reads: float = 0.0, writes: float = 0.0) -> None:
        """Charge units already spent (the bucket may go into debt)."""
        with self._lock:
            part, table = self._pair(scope, partition)
            if part is not None:
                part.tokens -= writes + reads * self.partition_write_units / self.partition_read_units
            table.tokens -= writes + reads * self.table_write_units / self.table_read_units

    def _note_written(self, table: str, size: int) -> None:
        with self._lock:
            total, count = self._written.get(table, (0, 0))
            self._written[table] = (total + size, count + 1)

    def _mean_written(self, table: str) -> int:
        total, count = self._written.get(table, (0, 0))
        return total // count if count else 0


def _text(value: Json) -> str:
    return str(next(iter(value.values())))


def _key_part(key: Json | None, hash_key: str | None) -> str | None:
    return _text(key[hash_key]) if key and hash_key and hash_key in key else None


_EQUALS = re.compile(r"(#?[\w.\-]+)\s*=\s*(:[\w\-]+)")


def _query_partition(request: Json, hash_key: str | None) -> str | None:
    """The partition key value a Query reads (its key condition's `hash = :value`)."""
    names, values = request.get("ExpressionAttributeNames", {}), request.get("ExpressionAttributeValues", {})
    for name, placeholder in _EQUALS.findall(request.get("KeyConditionExpression", "")):
        if names.get(name, name) == hash_key and placeholder in values:
            return _text(values[placeholder])
    condition = request.get("KeyConditions", {}).get(hash_key)
    return _text(condition["AttributeValueList"][0]) if condition else None


def _reason(kind: str, index: str | None, operation: str) -> str:
    return (
        f"{'Index' if index else 'Table'}{operation}KeyRangeThroughputExceeded" if kind == PARTITION_THROTTLED else ""
    )
