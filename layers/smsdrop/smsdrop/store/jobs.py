"""The job item: state, live counts, checkpoint, batches in flight, and the lease that keeps one worker on it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from smsdrop.intake.uploads import Upload
from smsdrop.models import Position, Status

JOB_REC = "JOB"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


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


@dataclass(slots=True)
class Completions:
    """Batches whose items are written but which the job item has not heard of yet: their in-flight marks to drop,
    their counts to add, and the checkpoint they let through. Told with the next batch's mark, or on their own."""

    batches: list[str] = field(default_factory=list)
    counts: Counter[Status] = field(default_factory=Counter)
    checkpoint: Position | None = None

    def add(self, batch: str, counts: Mapping[Status, int], checkpoint: Position | None) -> None:
        """Note one more recorded batch (and the checkpoint, if it moved)."""
        self.batches.append(batch)
        self.counts.update(counts)
        self.checkpoint = checkpoint or self.checkpoint

    def __bool__(self) -> bool:
        return bool(self.batches)


@dataclass(frozen=True, slots=True)
class Busy:
    """The job could not be claimed: it is finished, or another invocation holds a live lease."""

    record: JobRecord


class JobStore:
    """Reads and changes the job item, every change guarded by the caller's lease."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._db = dynamodb
        self._table = table

    def claim(self, upload: Upload, owner: str, now: float, lease_s: int, ttl: int) -> JobRecord | Busy:
        """Create the job, or take its lease if it is RUNNING with an expired or released lease."""
        if self._create(upload, owner, now, lease_s, ttl):
            return JobRecord(job_id=upload.job_id, state=JobState.RUNNING, generation=1)
        try:
            old = self._update(
                upload.job_id,
                "SET lease_owner = :me, lease_expires = :exp, generation = generation + :one, updated_at = :now",
                {":me": owner, ":exp": int(now + lease_s), ":one": 1, ":now": int(now), ":running": "RUNNING"},
                names={"#state": "state"},
                condition="#state = :running AND lease_expires < :now",
                returns="ALL_OLD",
            )
        except LeaseLost:
            return Busy(self.get(upload.job_id))
        crashed = "lease_owner" in old  # the last holder died instead of handing the job back
        if crashed:
            self._update(upload.job_id, "SET needs_recount = :t", {":t": True})
        record = _record(old)
        return replace(record, generation=record.generation + 1, needs_recount=record.needs_recount or crashed)

    def get(self, job_id: str) -> JobRecord:
        """The job item as it is now (strongly consistent)."""
        item = self._db.get_item(TableName=self._table, Key=_key(job_id), ConsistentRead=True)["Item"]
        return _record(_plain(item))

    def mark_in_flight(
        self,
        job_id: str,
        owner: str,
        batch: str,
        rows: tuple[int, ...],
        lease_until: float,
        done: Completions | None = None,
    ) -> None:
        """Record durably, before sending, that `batch` is about to go out to the numbers of `rows`; in the same
        write, what `done` holds (one round trip a batch instead of two)."""
        values = {":rows": ",".join(map(str, rows)), ":exp": int(lease_until)}
        update = _Update(["in_flight.#b = :rows", "lease_expires = :exp"], values, names={"#b": batch})
        update.add_completions(done or Completions())
        self._guarded(job_id, owner, update.expression, update.values, update.names)

    def forget_in_flight(self, job_id: str, owner: str, batches: Sequence[str]) -> None:
        """Drop the in-flight marks of an earlier holder once each of their rows has an item."""
        names = {f"#b{i}": b for i, b in enumerate(batches)}
        self._guarded(job_id, owner, "REMOVE " + ", ".join(f"in_flight.{n}" for n in names), {}, names)

    def renew(self, job_id: str, owner: str, lease_until: float) -> None:
        """Extend the lease; raises LeaseLost if another invocation holds the job now."""
        self._guarded(job_id, owner, "SET lease_expires = :exp", {":exp": int(lease_until)}, {})

    def complete(self, job_id: str, owner: str, done: Completions, lease_until: float) -> None:
        """After batches' items are written: add their counts, drop their in-flight marks, move the checkpoint."""
        update = _Update(["lease_expires = :exp"], {":exp": int(lease_until)})
        update.add_completions(done)
        self._guarded(job_id, owner, update.expression, update.values, update.names)

    def record_stop(self, job_id: str, owner: str, reason: str) -> None:
        """Keep the first stop reason the provider gave; later batches are recorded, not sent."""
        self._guarded(job_id, owner, "SET stop_reason = if_not_exists(stop_reason, :r)", {":r": reason}, {})

    def release(self, job_id: str, owner: str, now: float, checkpoint: Position | None, clean: bool = True) -> None:
        """Hand the job back (to a continuation, or to a retry after an error): save the checkpoint, drop the lease.

        An unclean release (after an error) flags the job for a recount, as a crash would.
        """
        update = _Update(["lease_expires = :past"], {":past": int(now) - 1}, removes=["lease_owner"])
        update.set_checkpoint(checkpoint)
        if not clean:
            update.sets.append("needs_recount = :t")
            update.values[":t"] = True
        self._guarded(job_id, owner, update.expression, update.values, update.names)

    def finish(
        self,
        job_id: str,
        owner: str,
        state: JobState,
        now: float,
        rows: int,
        counts: Mapping[Status, int] | None = None,
        error: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Close the job: final state, row total, (recounted) counts, `extra` facts; it leaves the active index."""
        values: dict[str, Any] = {":s": str(state), ":now": int(now), ":rows": rows}
        sets = ["#state = :s", "finished_at = :now", "updated_at = :now", "#rows = :rows"]
        for i, (name, value) in enumerate((extra or {}).items()):
            sets.append(f"{name} = :x{i}")
            values[f":x{i}"] = value
        if counts is not None:
            sets.append("counts = :counts")
            values[":counts"] = {str(s): n for s, n in counts.items()}
        if error:
            sets.append("#error = :err")
            values[":err"] = error
        expression = f"SET {', '.join(sets)} REMOVE lease_owner, active, lease_expires, needs_recount"
        self._guarded(job_id, owner, expression, values, {"#state": "state", "#rows": "rows", "#error": "error"})

    def _create(self, upload: Upload, owner: str, now: float, lease_s: int, ttl: int) -> bool:
        item = {
            "job_id": upload.job_id,
            "rec": JOB_REC,
            "bucket": upload.bucket,
            "key": upload.key,
            "version_id": upload.version_id or "",
            "etag": upload.etag,
            "state": str(JobState.RUNNING),
            "active": str(JobState.RUNNING),
            "lease_owner": owner,
            "lease_expires": int(now + lease_s),
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
                Item=_dynamo(item),
                ConditionExpression="attribute_not_exists(job_id)",
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def _guarded(self, job_id: str, owner: str, expression: str, values: dict[str, Any], names: dict[str, str]) -> None:
        self._update(
            job_id,
            expression,
            values | {":owner": owner},
            names=names,
            condition="lease_owner = :owner",
        )

    def _update(
        self,
        job_id: str,
        expression: str,
        values: dict[str, Any],
        names: dict[str, str] | None = None,
        condition: str | None = None,
        returns: str = "NONE",
    ) -> dict[str, Any]:
        names = {k: v for k, v in (names or {}).items() if k in expression or k in (condition or "")}
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(job_id),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": _dynamo(values),
            "ReturnValues": returns,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        if condition:
            request["ConditionExpression"] = condition
        try:
            answer = self._db.update_item(**request)
        except ClientError as error:
            if _is_condition_failure(error):
                raise LeaseLost(job_id) from None
            raise
        return _plain(answer.get("Attributes", {}))


@dataclass(slots=True)
class _Update:
    """An update expression of the job item being put together: SET, REMOVE and ADD clauses, values, names."""

    sets: list[str]
    values: dict[str, Any]
    names: dict[str, str] = field(default_factory=dict)
    removes: list[str] = field(default_factory=list)
    adds: list[str] = field(default_factory=list)

    def add_completions(self, done: Completions) -> None:
        """Drop the marks of `done`'s batches, add their counts, move the checkpoint."""
        for i, batch in enumerate(done.batches):
            self.names[f"#d{i}"] = batch
            self.removes.append(f"in_flight.#d{i}")
        for i, (status, n) in enumerate(done.counts.items()):
            self.names[f"#c{i}"], self.values[f":c{i}"] = str(status), n
            self.adds.append(f"counts.#c{i} :c{i}")
        self.set_checkpoint(done.checkpoint)

    def set_checkpoint(self, checkpoint: Position | None) -> None:
        """Save `checkpoint`, if there is one."""
        if checkpoint is not None:
            self.sets.append("checkpoint = :cp")
            self.values[":cp"] = {"offset": checkpoint.offset, "row": checkpoint.row}

    @property
    def expression(self) -> str:
        """The UpdateExpression."""
        clauses = [("SET", self.sets), ("REMOVE", self.removes), ("ADD", self.adds)]
        return " ".join(f"{verb} {', '.join(parts)}" for verb, parts in clauses if parts)


def _key(job_id: str) -> dict[str, Any]:
    return {"job_id": {"S": job_id}, "rec": {"S": JOB_REC}}


def _dynamo(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _record(item: Mapping[str, Any]) -> JobRecord:
    checkpoint = item.get("checkpoint")
    return JobRecord(
        job_id=item["job_id"],
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
