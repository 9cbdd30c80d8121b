"""The one place that spells the SendResults table: its keys, record kinds, indexes, attribute names, the way
items go to and from DynamoDB's wire format, and what a failed condition looks like.

Keys are built here in the wire format (`{"job_id": {"S": ...}, "rec": {"S": ...}}`), for the low-level client
every module uses. A job's row items are spread over `shards` partition keys (`JobRows`): row r of a job of S > 1
shards lives under `<job_id>#<r mod S>`, so S partitions share its writes (docs/table-design.md); a job of one shard
(every job made before shards existed) keeps its rows under `<job_id>` itself, beside its job item. Readers query each
partition with `rows_query` and merge them in row order (smsdrop.store.row_reader).

The opt-out list lives in the same table: one item per number, under a partition key of its own
(`optout#<E.164 digits>`, sort key `OPTOUT`; `opt_out_key`), so a bulk add or a job's checks spread over as many
partitions as there are numbers. A job id is hex digits, so no job's key ever starts with `optout#`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

PARTITION = "job_id"
SORT = "rec"
ROW_DIGITS = 10
LAST_ROW = 10**ROW_DIGITS - 1
MAX_SHARDS = 256
OPT_OUT_MARK = "optout#"  # the partition key of an opt-out item: this, then the number's E.164 digits
SHARD_MARK = "#"  # between a job id (hex digits) and a shard number in a row item's partition key
ROW_SHARDS = "row_shards"  # the job item's shard count: every reader of the job's rows needs it
ROWS_OF = "rows_of"  # a chunk's item: the job whose partitions its row items are under (docs/scale-out.md)
CHUNK_MARK = "."  # between a job id and a chunk number in a chunk's item key

# Global secondary indexes and the attributes they are keyed on.
ACTIVE_INDEX = "ActiveJobs"  # job items of RUNNING jobs, by lease expiry: the sweep's view
ACTIVE = "active"
LEASE_EXPIRES = "lease_expires"
MSG_ID_INDEX = "ByMsgId"  # row items by the provider's msgId: delivery reports find their row
MSG_ID = "msg_id"
AWAITING_INDEX = "AwaitingReport"  # sparse: SUBMITTED rows still waiting for a delivery report
AWAITING = "awaiting_report"
DUE = "report_due"
SUBMITTED_AT = "submitted_at"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class RecordKind(StrEnum):
    """What an item of the table is, told by its sort key: the job item, or one data row's item (a prefix)."""

    JOB = "JOB"
    ROW = "N#"
    OPT_OUT = "OPTOUT"

    @classmethod
    def of(cls, rec: str) -> RecordKind | None:
        """The kind of the item whose sort key is `rec` (None for a key of no known kind)."""
        if rec in (cls.JOB, cls.OPT_OUT):
            return cls(rec)
        return cls.ROW if rec.startswith(cls.ROW) else None


def item_key(partition: str, rec: str) -> dict[str, Any]:
    """An item's key in the wire format."""
    return {PARTITION: {"S": partition}, SORT: {"S": rec}}


def job_key(job_id: str) -> dict[str, Any]:
    """The key of a job's item."""
    return item_key(job_id, RecordKind.JOB.value)


def opt_out_key(number: str) -> dict[str, Any]:
    """The key of a number's opt-out item (`number`: E.164 digits without '+'): a partition key per number."""
    return item_key(f"{OPT_OUT_MARK}{number}", RecordKind.OPT_OUT.value)


def opted_out_number(key: Mapping[str, Any]) -> str:
    """The number an opt-out item's key (wire format) is for."""
    return str(key[PARTITION]["S"]).removeprefix(OPT_OUT_MARK)


def row_rec(row: int) -> str:
    """The sort key of a row's item: zero-padded so rows sort in file order."""
    return f"{RecordKind.ROW}{row:0{ROW_DIGITS}d}"


def row_of(rec: str) -> int:
    """The row number a row item's sort key holds."""
    return int(rec[len(RecordKind.ROW) :])


@dataclass(frozen=True, slots=True)
class JobRows:
    """Where a job's row items live: `shards` partition keys (1..256), as recorded on its job item."""

    job_id: str
    shards: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.shards <= MAX_SHARDS:
            raise ValueError(f"a job's rows take 1 to {MAX_SHARDS} shards, not {self.shards}")

    def partition(self, row: int) -> str:
        """The partition key of row `row`'s item."""
        return self.job_id if self.shards == 1 else f"{self.job_id}{SHARD_MARK}{row % self.shards}"

    def partitions(self) -> list[str]:
        """Every partition key the job's rows may be under, shard 0 first."""
        if self.shards == 1:
            return [self.job_id]
        return [f"{self.job_id}{SHARD_MARK}{shard}" for shard in range(self.shards)]

    def key(self, row: int) -> dict[str, Any]:
        """The whole key of row `row`'s item."""
        return item_key(self.partition(row), row_rec(row))


def chunk_id(job_id: str, index: int) -> str:
    """The key of the item that leases chunk `index` of a scaled-out job (its rows stay under the job's shards)."""
    return f"{job_id}{CHUNK_MARK}{index:05d}"


def job_of(partition: str) -> str:
    """The job id of an item's partition key (the key itself for a job item or a one-shard job's row)."""
    return partition.split(SHARD_MARK, 1)[0]


def row_key(job_id: str, row: int, shards: int = 1) -> dict[str, Any]:
    """The whole key of a row's item, for a job of `shards` shards."""
    return JobRows(job_id, shards).key(row)


def rows_query(partition: str, after_row: int = 0, through_row: int = LAST_ROW) -> dict[str, Any]:
    """The Query arguments (key condition and its values) that read the row items of one partition after
    `after_row` and up to `through_row`, in row order."""
    if after_row <= 0 and through_row >= LAST_ROW:
        return {
            "KeyConditionExpression": f"{PARTITION} = :j AND begins_with({SORT}, :n)",
            "ExpressionAttributeValues": {":j": {"S": partition}, ":n": {"S": RecordKind.ROW.value}},
        }
    return {
        "KeyConditionExpression": f"{PARTITION} = :j AND {SORT} BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":j": {"S": partition},
            ":lo": {"S": row_rec(max(after_row, 0) + 1)},
            ":hi": {"S": row_rec(through_row)},
        },
    }


def serialise(values: Mapping[str, Any]) -> dict[str, Any]:
    """Plain Python values (str, int, bool, dict, list...) to the wire format, name by name."""
    return {name: _serializer.serialize(value) for name, value in values.items()}


def deserialise(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (or attribute map) in the wire format to plain Python values (numbers come back as Decimal)."""
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def is_condition_failed(error: ClientError) -> bool:
    """Whether a write was refused because its condition did not hold (not a fault: an answer)."""
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
