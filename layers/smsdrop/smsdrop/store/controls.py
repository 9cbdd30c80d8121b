"""An operator's hands on a job: cancel it, pause it, resume it (after a pause, a stop or a cancel), and see it.

Each action is one conditional update of the job item, so two operators (or an operator and the runner) never
undo each other; the runner sees a cancel or pause request when it next marks a batch in flight (store.lease).
A resume that needs an invocation answers the upload to queue a continuation for (send.continuation).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from smsdrop.errors import SmsdropError
from smsdrop.intake.uploads import Upload
from smsdrop.store.file_parts import ETAGS, THROUGH, UPLOAD_ID
from smsdrop.store.jobs import JobRecord, JobState, JobStore, record_of
from smsdrop.store.schema import ACTIVE, ACTIVE_INDEX, LEASE_EXPIRES, PARTITION
from smsdrop.store.steering import CANCEL_REQUESTED, CLAIMS, HISTORY, PAUSE_REQUESTED, RESEND, with_entry
from smsdrop.store.updates import RECORDED, Update

RESUMABLE = (JobState.PAUSED, JobState.STOPPED, JobState.CANCELLED)
ASLEEP = (JobState.PAUSED, JobState.SCHEDULED)  # no invocation runs: a cancel wakes them with a continuation
ATTEMPTS = 3  # a state that changes under an action (the runner pausing meanwhile) is read again this often


class Refused(SmsdropError):  # noqa: N818 - the answer to an operator, said plainly
    """The action does not apply to the job as it stands (the message says why)."""


@dataclass(frozen=True, slots=True)
class JobView:
    """A job as an operator sees it: its record, its upload, and the facts around them."""

    record: JobRecord
    upload: Upload
    item: Mapping[str, Any]

    @property
    def state(self) -> JobState:
        """The job's state."""
        return self.record.state

    def number(self, name: str, default: int = 0) -> int:
        """A numeric attribute of the job item (created_at, updated_at, finished_at, size...)."""
        value = self.item.get(name)
        return default if value is None else int(value)

    def text(self, name: str) -> str:
        """A text attribute of the job item ("" when absent)."""
        return str(self.item.get(name) or "")


def view_of(item: Mapping[str, Any]) -> JobView:
    """The view of a job item (plain values)."""
    upload = Upload(
        bucket=item["bucket"],
        key=item["key"],
        version_id=item.get("version_id") or None,
        etag=item.get("etag", ""),
        size=int(item["size"]) if "size" in item else None,
    )
    return JobView(record_of(item), upload, item)


class JobControls:
    """Cancel, pause, resume and read the jobs of one table; `by` names the operator in the job's history."""

    def __init__(self, dynamodb: Any, table: str, clock: Callable[[], float] = time.time) -> None:
        self._db = dynamodb
        self._table = table
        self._store = JobStore(dynamodb, table)
        self._clock = clock

    def view(self, job_id: str) -> JobView:
        """The job as it is now; Refused if there is no such job."""
        item = self._store.item(job_id)
        if item is None:
            raise Refused(f"no job {job_id} in table {self._table}")
        return view_of(item)

    def active(self) -> Iterator[JobView]:
        """RUNNING, PAUSED and SCHEDULED jobs (the sweep's index), by lease expiry (a SCHEDULED job's: its time)."""
        for state in (JobState.RUNNING, *ASLEEP):
            request = {
                "TableName": self._table,
                "IndexName": ACTIVE_INDEX,
                "KeyConditionExpression": f"{ACTIVE} = :s",
                "ExpressionAttributeValues": {":s": {"S": str(state)}},
            }
            for page in self._db.get_paginator("query").paginate(**request):
                for item in page["Items"]:
                    yield self.view(item[PARTITION]["S"])

    def cancel(self, job_id: str, by: str) -> Upload | None:
        """Ask that nothing more be sent: batches in flight finish, every unsent row ends CANCELLED. A paused or
        scheduled job is woken to do so (the holder deletes a schedule not yet fired): the upload to queue a
        continuation for (None for a running job, which sees it itself)."""
        for _ in range(ATTEMPTS):
            job = self.view(job_id)
            request = {"by": by, "at": int(self._clock())}
            if job.record.cancel_requested:
                raise Refused(f"cancel already requested ({_who(job.record.cancel_requested)})")
            if job.state not in (JobState.RUNNING, *ASLEEP):
                raise Refused(f"job {job_id} already ended {job.state}")
            update = Update().set(f"{CANCEL_REQUESTED} = :c", {":c": request}).remove(PAUSE_REQUESTED)
            if job.state in ASLEEP:
                update = _waking(update, self._clock())
            if self._store.update(job_id, _in_state(update, job.state)):
                return job.upload if job.state in ASLEEP else None
        raise Refused(f"job {job_id} kept changing; try again")

    def pause(self, job_id: str, by: str) -> None:
        """Ask a running job to hand over at its next batch boundary and sleep until resumed."""
        job = self.view(job_id)
        if job.state is not JobState.RUNNING:
            raise Refused(f"only a RUNNING job can be paused; job {job_id} is {job.state}")
        if job.record.cancel_requested or job.record.pause_requested:
            raise Refused(f"job {job_id} is being cancelled or paused already")
        update = (
            Update()
            .set(f"{PAUSE_REQUESTED} = :p", {":p": {"by": by, "at": int(self._clock())}})
            .when(f"attribute_not_exists({CANCEL_REQUESTED}) AND attribute_not_exists({PAUSE_REQUESTED})")
        )
        if not self._store.update(job_id, _in_state(update, JobState.RUNNING)):
            raise Refused(f"job {job_id} changed meanwhile; look at it again")

    def resume(self, job_id: str, by: str) -> Upload | None:
        """Wake a paused job, or send a STOPPED or CANCELLED job's unsent rows (and nothing else); a pause not yet
        taken is withdrawn. The upload to queue a continuation for (None when the running holder goes on)."""
        for _ in range(ATTEMPTS):
            job = self.view(job_id)
            if job.state is JobState.RUNNING and job.record.pause_requested:
                withdrawn = Update().remove(PAUSE_REQUESTED).when(f"attribute_exists({PAUSE_REQUESTED})")
                if self._store.update(job_id, _in_state(withdrawn, JobState.RUNNING)):
                    return None
                continue
            if job.state not in RESUMABLE:
                raise Refused(f"only a PAUSED, STOPPED or CANCELLED job can be resumed; job {job_id} is {job.state}")
            if self._store.update(job_id, self._resumed(job, by)):
                return job.upload
        raise Refused(f"job {job_id} kept changing; try again")

    def _resumed(self, job: JobView, by: str) -> Update:
        now = self._clock()
        history = with_entry(job.record.history, "resumed", now, by=by, was=str(job.state))
        update = _waking(Update(), now).set(f"{HISTORY} = :h", {":h": history}).remove(PAUSE_REQUESTED)
        if job.state is not JobState.PAUSED:  # after a stop or a cancel: read it all again, send what was never sent
            update.set(f"{RESEND} = :t", {":t": True}).set("in_flight = :none", {":none": {}})
            update.remove(
                "stop_reason", "checkpoint", "#error", "finished_at", CANCEL_REQUESTED, names={"#error": "error"}
            )
            update.remove(RECORDED, UPLOAD_ID, ETAGS, THROUGH)  # a new results file, written as the resend runs
        return _in_state(update, job.state)


def _waking(update: Update, now: float) -> Update:
    """The job RUNNING again, in the sweep's view, its lease lapsed so the next invocation takes it at once."""
    return (
        update.set("#state = :running", {":running": str(JobState.RUNNING)}, {"#state": "state"})
        .set(f"{ACTIVE} = :running")
        .set(f"{LEASE_EXPIRES} = :past", {":past": int(now) - 1})
        .set(f"{CLAIMS} = :zero", {":zero": 0})
        .set("updated_at = :now", {":now": int(now)})
    )


def _in_state(update: Update, state: JobState) -> Update:
    return update.when("#state = :was", {":was": str(state)}, {"#state": "state"})


def _who(request: Mapping[str, Any]) -> str:
    return f"by {request.get('by', '?')} at {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(int(request['at'])))}Z"
