"""Delivery state in SendResults: the sparse AwaitingReport index, and moves that never go backwards.

A SUBMITTED item with a msgId carries `awaiting_report` (a shard, "00".."31", from the msgId: 32 index
partitions share the write load of a big send, twice what a job's default 16 row shards can write), `report_due`
(epoch s of the next getReport ask) and `submitted_at`. The index `AwaitingReport` (awaiting_report, report_due)
holds only items with both, so it holds exactly the numbers still waiting for a report; a final move REMOVEs them
and the item leaves it. Items come from the index with their own key (a row shard's partition), and the job whose
counts move is told by that partition (schema.job_of).

Moves: SUBMITTED -> DELIVERED or UNDELIVERED, under `#s = SUBMITTED AND msg_id = :m`, so a final state is
never overwritten and a duplicate report changes nothing. Job counts move with the item: the job item's
`counts.SUBMITTED` goes down by one and `counts.DELIVERED` (or UNDELIVERED) up by one, so the counts keep
adding up to the row count.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from smsdrop.delivery.receipts import Report, Source
from smsdrop.models import Status
from smsdrop.store.schema import (
    AWAITING,
    AWAITING_INDEX,
    DUE,
    MSG_ID,
    MSG_ID_INDEX,
    PARTITION,
    SORT,
    SUBMITTED_AT,
    is_condition_failed,
    item_key,
    job_key,
    job_of,
)

logger = Logger(child=True)

SHARDS = 32  # was 16: the poller walks "00".."31", so items of either era are found
FIRST_ASK_DELAY_S = 60


def shard_of(msg_id: str) -> str:
    """The index partition of a msgId: "00".."31", stable for a msgId."""
    return f"{zlib.crc32(msg_id.encode()) % SHARDS:02d}"


def shards() -> list[str]:
    """Every index partition, in order."""
    return [f"{n:02d}" for n in range(SHARDS)]


def awaiting_report_attributes(msg_id: str, now: float) -> dict[str, Any]:
    """What a SUBMITTED item with `msg_id` carries (DynamoDB JSON) so the poller finds it; first ask in 60 s."""
    return {
        AWAITING: {"S": shard_of(msg_id)},
        DUE: {"N": str(int(now) + FIRST_ASK_DELAY_S)},
        SUBMITTED_AT: {"N": str(int(now))},
    }


@dataclass(frozen=True, slots=True)
class ItemKey:
    """The key of a per-number item, as an index gives it: its partition (`<job_id>#<shard>`, or the job id of a
    one-shard job) and its sort key."""

    partition: str
    rec: str

    @property
    def job_id(self) -> str:
        """The job the item belongs to, whose counts move with it."""
        return job_of(self.partition)

    def dynamo(self) -> dict[str, Any]:
        """The key as DynamoDB JSON."""
        return item_key(self.partition, self.rec)


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A SUBMITTED number waiting for its report, as the index gives it."""

    key: ItemKey
    msg_id: str
    submitted_at: int


def moved(verdict: Status) -> Counter[str]:
    """The job count change of one item going from SUBMITTED to `verdict`."""
    return Counter({str(Status.SUBMITTED): -1, str(verdict): 1})


class DeliveryStore:
    """Reads the awaiting index and msgId index; moves items to a final state and the job counts with them."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def due(self, shard: str, now: int, page_size: int = 200) -> Iterator[Awaiting]:
        """The numbers of one partition whose next ask is due, oldest due first (read page by page)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": AWAITING_INDEX,
            "KeyConditionExpression": "#a = :shard AND #d <= :now",
            "ExpressionAttributeNames": {"#a": AWAITING, "#d": DUE},
            "ExpressionAttributeValues": {":shard": {"S": shard}, ":now": {"N": str(now)}},
            "Limit": page_size,
        }
        while True:
            page = self._db.query(**request)
            for item in page["Items"]:
                if MSG_ID in item:
                    yield Awaiting(
                        ItemKey(item[PARTITION]["S"], item[SORT]["S"]),
                        item[MSG_ID]["S"],
                        int(item.get(SUBMITTED_AT, item[DUE])["N"]),
                    )
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def find(self, msg_id: str) -> list[ItemKey]:
        """The items that hold `msg_id` (normally one; none if unknown or not yet indexed)."""
        answer = self._db.query(
            TableName=self._table,
            IndexName=MSG_ID_INDEX,
            KeyConditionExpression=f"{MSG_ID} = :m",
            ExpressionAttributeValues={":m": {"S": msg_id}},
        )
        return [ItemKey(i[PARTITION]["S"], i[SORT]["S"]) for i in answer["Items"]]

    def settle(self, key: ItemKey, msg_id: str, verdict: Status, report: Report, source: Source, now: int) -> bool:
        """Move a SUBMITTED item to `verdict` and out of the awaiting index; False if it was not SUBMITTED."""
        sets = ["#s = :v", "reason = :r", "report_source = :src", "updated_at = :now"]
        values: dict[str, Any] = {
            ":v": {"S": str(verdict)},
            ":r": {"S": report.reason},
            ":src": {"S": str(source)},
            ":now": {"N": str(now)},
            ":sub": {"S": str(Status.SUBMITTED)},
            ":m": {"S": msg_id},
        }
        optional = {
            "report_code": {"S": report.code} if report.code else None,
            "receive_time": {"S": report.receive_time} if report.receive_time else None,
            "price_detail": {"M": {k: {"S": v} for k, v in report.price_detail.items()}}
            if report.price_detail
            else None,
        }
        for name, value in optional.items():
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        return self._update(
            key,
            f"SET {', '.join(sets)} REMOVE {AWAITING}, {DUE}",
            values,
            "#s = :sub AND msg_id = :m",
        )

    def postpone(self, key: ItemKey, msg_id: str, due: int) -> bool:
        """Ask about a still-SUBMITTED item again at `due`; False if it has left the index meanwhile."""
        return self._update(
            key,
            f"SET {DUE} = :due",
            {":due": {"N": str(due)}, ":sub": {"S": str(Status.SUBMITTED)}, ":m": {"S": msg_id}},
            f"#s = :sub AND msg_id = :m AND attribute_exists({AWAITING})",
        )

    def add_counts(self, job_id: str, changes: Mapping[str, int]) -> None:
        """ADD `changes` to the job item's counts (a missing job item is logged, not created)."""
        changes = {k: n for k, n in changes.items() if n}
        if not changes:
            return
        names = {f"#c{i}": name for i, name in enumerate(changes)}
        values = {f":c{i}": {"N": str(n)} for i, n in enumerate(changes.values())}
        try:
            self._db.update_item(
                TableName=self._table,
                Key=job_key(job_id),
                UpdateExpression="ADD " + ", ".join(f"counts.#c{i} :c{i}" for i in range(len(changes))),
                ConditionExpression="attribute_exists(counts)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            logger.warning("Job item without counts: delivery counts not added", extra={"job_id": job_id})

    def _update(self, key: ItemKey, expression: str, values: dict[str, Any], condition: str) -> bool:
        try:
            self._db.update_item(
                TableName=self._table,
                Key=key.dynamo(),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True
