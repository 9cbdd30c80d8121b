"""The job item: state, live counts, checkpoint, batches in flight, and the lease that keeps one worker on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from smsdrop.errors import SmsdropError
from smsdrop.intake.uploads import Upload
from smsdrop.models import Position, Status
from smsdrop.store import row_sets
from smsdrop.store.file_parts import PartsRecord
from smsdrop.store.lease import Lease
from smsdrop.store.schema import (
    ACTIVE,
    LEASE_EXPIRES,
    PARTITION,
    ROW_SHARDS,
    ROWS_OF,
    SORT,
    JobRows,
    RecordKind,
    deserialise,
    is_condition_failed,
    job_key,
    serialise,
)
from smsdrop.store.steering import CANCEL_REQUESTED, CLAIMS, HISTORY, PAUSE_REQUESTED, PAUSED, RESEND, Steered
from smsdrop.store.updates import RECORDED, Update
from smsdrop.store.waiting import CLAIM_EARLY_S, SCHEDULE, SCHEDULED, ScheduleRecord

metrics = Metrics()


class JobState(StrEnum):
    """Where a job stands."""

    RUNNING = "RUNNING"
    PAUSED = PAUSED
    SCHEDULED = SCHEDULED
    COMPLETED = "COMPLETED"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


ENDED = frozenset({JobState.COMPLETED, JobState.STOPPED, JobState.FAILED, JobState.CANCELLED})


class LeaseLost(SmsdropError):  # noqa: N818 - a condition the runner acts on
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
    cancel_requested: Mapping[str, Any] | None = None
    pause_requested: Mapping[str, Any] | None = None
    resend: bool = False
    """Resumed after a stop or a cancel: only rows whose items are marked unsent are sent (and nothing else)."""
    history: tuple[Mapping[str, Any], ...] = ()
    claims_without_progress: int = 0
    last_error: str = ""
    row_shards: int = 1
    """Partition keys the job's row items are spread over (1 for jobs made before shards existed)."""
    recorded: tuple[int, ...] = ()
    """Rows recorded past the checkpoint (ascending): a resumed invocation skips them without reading them."""
    parts: PartsRecord | None = None
    """The results file's parts uploaded so far, once there is one."""
    schedule: ScheduleRecord | None = None
    """The schedule a SCHEDULED job waits for (as the claim found it: a holder's record keeps it, the item does not)."""
    rows_of: str = ""
    """A chunk of a scaled-out job: the job whose partitions the rows are under (else the job's own)."""

    @property
    def row_items(self) -> JobRows:
        """Where this job's (or chunk's) row items live."""
        return JobRows(self.rows_of or self.job_id, self.row_shards)

    @property
    def is_finished(self) -> bool:
        """Whether the job has reached a final state."""
        return self.state in ENDED


@dataclass(frozen=True, slots=True)
class Busy:
    """The job could not be claimed: it is finished, or another invocation holds a live lease."""

    record: JobRecord


class JobStore:
    """Creates, reads and hands out the job item; a holder changes it through its Lease."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def claim(
        self, upload: Upload, owner: str, now: float, lease_s: int, ttl: int, row_shards: int = 1
    ) -> Lease | Busy:
        """Create the job (its rows over `row_shards` partitions), or take its lease if it is RUNNING with an expired
        or released lease, or SCHEDULED and due (its schedule fired); Busy otherwise."""
        if self._create(upload, owner, now, lease_s, ttl, row_shards):
            created = JobRecord(
                job_id=upload.job_id,
                state=JobState.RUNNING,
                generation=1,
                row_shards=row_shards,
                rows_of=upload.rows_of,
            )
            metrics.add_metric(name="JobsStarted", unit=MetricUnit.Count, value=1)
            return Lease(self, created, owner)
        take_over = (
            Update()
            .set("lease_owner = :me", {":me": owner})
            .set(f"{LEASE_EXPIRES} = :exp", {":exp": int(now + lease_s)})
            .set("generation = generation + :one", {":one": 1})
            .set("updated_at = :now", {":now": int(now)})
            .add(f"{CLAIMS} :one")
            .when(
                f"(#state = :running AND {LEASE_EXPIRES} < :now) OR (#state = :scheduled AND {LEASE_EXPIRES} < :due)",
                {":running": str(JobState.RUNNING), ":scheduled": SCHEDULED, ":due": int(now) + CLAIM_EARLY_S},
                {"#state": "state"},
            )
            # a waiting job whose schedule fired (or fires within CLAIM_EARLY_S) runs again, its schedule done with
            .set("#state = :running")
            .set(f"{ACTIVE} = :running")
            .remove(SCHEDULE)
        )
        old = self._apply(upload.job_id, take_over, returns="ALL_OLD")
        if old is None:
            return Busy(self.get(upload.job_id))
        crashed = "lease_owner" in old  # the last holder died instead of handing the job back
        if crashed:
            self._apply(upload.job_id, Update().set("needs_recount = :t", {":t": True}))
        record = record_of(old)
        taken = replace(
            record,
            generation=record.generation + 1,
            needs_recount=record.needs_recount or crashed,
            claims_without_progress=record.claims_without_progress + 1,
        )
        return Lease(self, taken, owner)

    def get(self, job_id: str) -> JobRecord:
        """The job item as it is now (strongly consistent)."""
        item = self._db.get_item(TableName=self._table, Key=job_key(job_id), ConsistentRead=True)["Item"]
        return record_of(deserialise(item))

    def item(self, job_id: str) -> dict[str, Any] | None:
        """The whole job item in plain values (strongly consistent), or None if there is no such job."""
        item = self._db.get_item(TableName=self._table, Key=job_key(job_id), ConsistentRead=True).get("Item")
        return deserialise(item) if item else None

    def update(self, job_id: str, update: Update) -> bool:
        """Apply an operator's `update` (under its condition); whether it was applied."""
        return self._apply(job_id, update) is not None

    def apply_held(self, job_id: str, owner: str, update: Update, steered: bool = False) -> None:
        """Apply `update` to the job item if `owner` still holds its lease; raises LeaseLost if not.

        `steered`: also only if the operator asked neither to cancel nor to pause the job; raises Steered if so.
        """
        update.when("lease_owner = :owner", {":owner": owner})
        if steered:
            update.when(f"attribute_not_exists({CANCEL_REQUESTED}) AND attribute_not_exists({PAUSE_REQUESTED})")
        try:
            self._db.update_item(**self._request(job_id, update, "NONE"), ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except ClientError as error:
            if not is_condition_failed(error):
                raise
            item = deserialise(error.response.get("Item") or {})  # type: ignore[arg-type]  # the stubs type Item loosely
            if item.get("lease_owner") != owner:
                raise LeaseLost(job_id) from None
            raise Steered(job_id, item.get(CANCEL_REQUESTED), item.get(PAUSE_REQUESTED)) from None

    def _create(self, upload: Upload, owner: str, now: float, lease_s: int, ttl: int, row_shards: int) -> bool:
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
            ROW_SHARDS: row_shards,
            CLAIMS: 0,
            "created_at": int(now),
            "updated_at": int(now),
            "expires_at": ttl,
        }
        if upload.size is not None:
            item["size"] = upload.size
        if upload.rows_of:
            item[ROWS_OF] = upload.rows_of
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
        try:
            answer = self._db.update_item(**self._request(job_id, update, returns))
        except ClientError as error:
            if is_condition_failed(error):
                return None
            raise
        return deserialise(answer.get("Attributes", {}))

    def _request(self, job_id: str, update: Update, returns: str) -> dict[str, Any]:
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
        return request


def record_of(item: Mapping[str, Any]) -> JobRecord:
    """The JobRecord of a job item (plain values, as `deserialise` gives them)."""
    checkpoint = item.get("checkpoint")
    return JobRecord(
        job_id=item[PARTITION],
        state=JobState(item["state"]),
        checkpoint=Position(int(checkpoint["offset"]), int(checkpoint["row"])) if checkpoint else None,
        in_flight={k: row_sets.unpack(_raw(v)) for k, v in item.get("in_flight", {}).items()},
        counts={k: int(v) for k, v in item.get("counts", {}).items()},
        stop_reason=item.get("stop_reason", ""),
        rows=int(item["rows"]) if "rows" in item else None,
        generation=int(item.get("generation", 0)),
        needs_recount=bool(item.get("needs_recount", False)),
        error=item.get("error", ""),
        cancel_requested=item.get(CANCEL_REQUESTED),
        pause_requested=item.get(PAUSE_REQUESTED),
        resend=bool(item.get(RESEND, False)),
        history=tuple(item.get(HISTORY, ())),
        claims_without_progress=int(item.get(CLAIMS, 0)),
        last_error=item.get("last_error", ""),
        row_shards=int(item.get(ROW_SHARDS, 1)),
        recorded=row_sets.unpack(_raw(item.get(RECORDED, b""))),
        parts=PartsRecord.of(item),
        schedule=ScheduleRecord.of(item.get(SCHEDULE)),
        rows_of=item.get(ROWS_OF, ""),
    )


def _raw(value: Any) -> bytes | str:
    """A binary attribute's bytes (boto3 reads them as Binary), or a string as it is."""
    return value if isinstance(value, str) else bytes(getattr(value, "value", value))
