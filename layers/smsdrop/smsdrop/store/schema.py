"""The one place that spells the SendResults table: its keys, record kinds, indexes, attribute names, the way
items go to and from DynamoDB's wire format, and what a failed condition looks like.

Keys are built here in the wire format (`{"job_id": {"S": ...}, "rec": {"S": ...}}`), for the low-level client
every module uses. A row's whole key comes from one function, `row_key(job_id, row)`, and a job's rows are read
through `rows_query(job_id)`: a later change can spread row items over several partitions (`<job_id>#<shard>`)
here alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

PARTITION = "job_id"
SORT = "rec"
ROW_DIGITS = 10
LAST_ROW = 10**ROW_DIGITS - 1

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

    @classmethod
    def of(cls, rec: str) -> RecordKind | None:
        """The kind of the item whose sort key is `rec` (None for a key of no known kind)."""
        if rec == cls.JOB:
            return cls.JOB
        return cls.ROW if rec.startswith(cls.ROW) else None


def item_key(partition: str, rec: str) -> dict[str, Any]:
    """An item's key in the wire format."""
    return {PARTITION: {"S": partition}, SORT: {"S": rec}}


def job_key(job_id: str) -> dict[str, Any]:
    """The key of a job's item."""
    return item_key(job_id, RecordKind.JOB.value)


def row_rec(row: int) -> str:
    """The sort key of a row's item: zero-padded so rows sort in file order."""
    return f"{RecordKind.ROW}{row:0{ROW_DIGITS}d}"


def row_of(rec: str) -> int:
    """The row number a row item's sort key holds."""
    return int(rec[len(RecordKind.ROW) :])


def row_key(job_id: str, row: int) -> dict[str, Any]:
    """The whole key of a row's item."""
    return item_key(job_id, row_rec(row))


def rows_query(job_id: str, after_row: int = 0) -> dict[str, Any]:
    """The Query arguments (key condition and its values) that read a job's row items after `after_row`,
    in row order."""
    if after_row <= 0:
        return {
            "KeyConditionExpression": f"{PARTITION} = :j AND begins_with({SORT}, :n)",
            "ExpressionAttributeValues": {":j": {"S": job_id}, ":n": {"S": RecordKind.ROW.value}},
        }
    return {
        "KeyConditionExpression": f"{PARTITION} = :j AND {SORT} BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":j": {"S": job_id},
            ":lo": {"S": row_rec(after_row + 1)},
            ":hi": {"S": row_rec(LAST_ROW)},
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
