"""The job item: state, live counts, checkpoint, batches in flight, and the lease that keeps one worker on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from botocore.exceptions import ClientError

from smsdrop.intake.uploads import Upload
from smsdrop.models import Position, Status
from smsdrop.store.lease import Lease
from smsdrop.store.schema import (
    ACTIVE,
    LEASE_EXPIRES,
    PARTITION,
    SORT,
    RecordKind,
    deserialise,
    is_condition_failed,
    job_key,
    serialise,
)
from smsdrop.store.updates import Update


class JobState(StrEnum):
    """Where a job stands."""

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


class LeaseLost(Exception):  # noqa: N818 - a condition the runner acts on
    """Another invocation holds this job now: stop sending at once."""


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A snapshot of the job item."""

    job_id: str
    state: JobState
    checkpoint: Position | None = None
    in_flight: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    stop_reason: str = ""
    rows: int | None = None
    generation: int = 0
    needs_recount: bool = False
    error: str = ""

    @property
    def is_finished(self) -> bool:
        """Whether the job has reached a final state."""
        return self.state is not JobState.RUNNING


@dataclass(frozen=True, slots=True)
class Busy:
    """The job could not be claimed: it is finished, or another invocation holds a live lease."""

    record: JobRecord


class JobStore:
    """Creates, reads and hands out the job item; a holder changes it through its Lease."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def claim(self, upload: Upload, owner: str, now: float, lease_s: int, ttl: int) -> Lease | Busy:
        """Create the job, or take its lease if it is RUNNING with an expired or released lease; Busy otherwise."""
        if self._create(upload, owner, now, lease_s, ttl):
            return Lease(self, JobRecord(job_id=upload.job_id, state=JobState.RUNNING, generation=1), owner)
        take_over = (
            Update()
            .set("lease_owner = :me", {":me": owner})
            .set(f"{LEASE_EXPIRES} = :exp", {":exp": int(now + lease_s)})
            .set("generation = generation + :one", {":one": 1})
            .set("updated_at = :now", {":now": int(now)})
            .when(
                f"#state = :running AND {LEASE_EXPIRES} < :now",
                {":running": str(JobState.RUNNING)},
                {"#state": "state"},
            )
        )
        old = self._apply(upload.job_id, take_over, returns="ALL_OLD")
        if old is None:
            return Busy(self.get(upload.job_id))
        crashed = "lease_owner" in old  # the last holder died instead of handing the job back
        if crashed:
            self._apply(upload.job_id, Update().set("needs_recount = :t", {":t": True}))
        record = _record(old)
        taken = replace(record, generation=record.generation + 1, needs_recount=record.needs_recount or crashed)
        return Lease(self, taken, owner)

    def get(self, job_id: str) -> JobRecord:
        """The job item as it is now (strongly consistent)."""
        item = self._db.get_item(TableName=self._table, Key=job_key(job_id), ConsistentRead=True)["Item"]
        return _record(deserialise(item))

    def apply_held(self, job_id: str, owner: str, update: Update) -> None:
        """Apply `update` to the job item if `owner` still holds its lease; raises LeaseLost if not."""
        if self._apply(job_id, update.when("lease_owner = :owner", {":owner": owner})) is None:
            raise LeaseLost(job_id)

    def _create(self, upload: Upload, owner: str, now: float, lease_s: int, ttl: int) -> bool:
        item = {
            PARTITION: upload.job_id,
            SORT: RecordKind.JOB.value,
            "bucket": upload.bucket,
            "key": upload.key,
            "version_id": upload.version_id or "",
            "etag": upload.etag,
            "state": str(JobState.RUNNING),
            ACTIVE: str(JobState.RUNNING),
            "lease_owner": owner,
            LEASE_EXPIRES: int(now + lease_s),
            "generation": 1,
            "in_flight": {},
            "counts": {str(s): 0 for s in Status},
            "created_at": int(now),
            "updated_at": int(now),
            "expires_at": ttl,
        }
        if upload.size is not None:
            item["size"] = upload.size
        try:
            self._db.put_item(
                TableName=self._table,
                Item=serialise(item),
                ConditionExpression=f"attribute_not_exists({PARTITION})",
            )
        except ClientError as error:
            if is_condition_failed(error):
                return False
            raise
        return True

    def _apply(self, job_id: str, update: Update, returns: str = "NONE") -> dict[str, Any] | None:
        """Apply `update`; the item's attributes as `returns` asks, or None if the update's condition failed."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": job_key(job_id),
            "UpdateExpression": update.expression,
            "ReturnValues": returns,
        }
        if update.values:
            request["ExpressionAttributeValues"] = serialise(update.values)
        if update.names:
            request["ExpressionAttributeNames"] = update.names
        if update.condition:
            request["ConditionExpression"] = update.condition
        try:
            answer = self._db.update_item(**request)
        except ClientError as error:
            if is_condition_failed(error):
                return None
            raise
        return deserialise(answer.get("Attributes", {}))


def _record(item: Mapping[str, Any]) -> JobRecord:
    checkpoint = item.get("checkpoint")
    return JobRecord(
        job_id=item[PARTITION],
        state=JobState(item["state"]),
        checkpoint=Position(int(checkpoint["offset"]), int(checkpoint["row"])) if checkpoint else None,
        in_flight={k: tuple(int(r) for r in v.split(",") if r) for k, v in item.get("in_flight", {}).items()},
        counts={k: int(v) for k, v in item.get("counts", {}).items()},
        stop_reason=item.get("stop_reason", ""),
        rows=int(item["rows"]) if "rows" in item else None,
        generation=int(item.get("generation", 0)),
        needs_recount=bool(item.get("needs_recount", False)),
        error=item.get("error", ""),
    )
