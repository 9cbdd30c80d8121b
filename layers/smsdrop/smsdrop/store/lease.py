"""An invocation's hold on a job: every change it makes to the job item goes through its lease, and is refused
(LeaseLost) once another invocation has taken the job over."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from smsdrop.models import Position, Status
from smsdrop.store import row_sets
from smsdrop.store.file_parts import PartsRecord
from smsdrop.store.schema import ACTIVE, LEASE_EXPIRES
from smsdrop.store.steering import CANCEL_REQUESTED, CLAIMS, HISTORY, PAUSE_REQUESTED, PAUSED, RESEND, Steered
from smsdrop.store.updates import Update
from smsdrop.store.waiting import SCHEDULE, SCHEDULED, ScheduleRecord

if TYPE_CHECKING:
    from smsdrop.store.jobs import JobRecord, JobState, JobStore

ERROR_CHARS = 1024


@dataclass(slots=True)
class Completions:
    """Batches whose items are written but which the job item has not heard of yet: their in-flight marks to drop,
    their counts to add, and the checkpoint they let through. Told with the next batch's mark, or on their own."""

    batches: list[str] = field(default_factory=list)
    counts: Counter[Status] = field(default_factory=Counter)
    checkpoint: Position | None = None
    recorded: tuple[int, ...] | None = None
    """Every row recorded past the checkpoint, when that changed (a resumed invocation skips them unread)."""

    def add(self, batch: str, counts: Mapping[Status, int], checkpoint: Position | None) -> None:
        """Note one more recorded batch (and the checkpoint, if it moved)."""
        self.batches.append(batch)
        self.counts.update(counts)
        self.checkpoint = checkpoint or self.checkpoint

    def __bool__(self) -> bool:
        return bool(self.batches)


class Lease:
    """The job `job_id` as held by `owner`; `record` is the job item as it was when the lease was taken."""

    def __init__(self, store: JobStore, record: JobRecord, owner: str) -> None:
        self.job_id = record.job_id
        self.owner = owner
        self.record = record
        self._store = store

    def mark_in_flight(
        self, batch: str, rows: tuple[int, ...], lease_until: float, done: Completions | None = None
    ) -> None:
        """Record durably, before sending, that `batch` is about to go out to the numbers of `rows`; in the same
        write, what `done` holds (one round trip a batch instead of two).

        Refused (Steered) once the operator asked to cancel or pause the job: nothing is marked, nothing is told
        (tell `done` with `complete`)."""
        update = Update().set("in_flight.#b = :rows", {":rows": row_sets.pack(rows)}, {"#b": batch})
        done = done or Completions()
        self._store.apply_held(
            self.job_id, self.owner, _progress(_renewing(update, lease_until).add_completions(done), done), True
        )

    def renew(self, lease_until: float) -> None:
        """Extend the lease; raises LeaseLost if another invocation holds the job now."""
        self._apply(_renewing(Update(), lease_until))

    def complete(self, done: Completions, lease_until: float) -> None:
        """After batches' items are written: add their counts, drop their in-flight marks, move the checkpoint."""
        self._apply(_progress(_renewing(Update(), lease_until).add_completions(done), done))

    def record_parts(self, parts: PartsRecord) -> None:
        """Note the results file's parts uploaded so far (after the last one is in S3)."""
        self._apply(parts.update())

    def record_stop(self, reason: str) -> None:
        """Keep the first stop reason the provider gave; later batches are recorded, not sent."""
        self._apply(Update().set("stop_reason = if_not_exists(stop_reason, :r)", {":r": reason}))

    def release(self, now: float, checkpoint: Position | None, clean: bool = True, error: str = "") -> None:
        """Hand the job back (to a continuation, or to a retry after an error): save the checkpoint, drop the lease.

        An unclean release (after an error) flags the job for a recount, as a crash would, and keeps `error` as
        the job's last error (what the no-progress cap reports).
        """
        update = Update().set(f"{LEASE_EXPIRES} = :past", {":past": int(now) - 1}).remove("lease_owner")
        update.set_checkpoint(checkpoint)
        if not clean:
            update.set("needs_recount = :t", {":t": True})
        if error:
            update.set("last_error = :e", {":e": error[:ERROR_CHARS]})
        self._apply(update)

    def pause(self, now: float, checkpoint: Position | None, history: list[dict[str, Any]]) -> bool:
        """Put the job to sleep at `checkpoint` as the operator asked: PAUSED, out of the sweep's view, no lease.

        False (nothing changed) if the pause request was withdrawn meanwhile (`smsdrop resume`): hand over instead.
        """
        update = (
            Update()
            .set("#state = :paused", {":paused": PAUSED}, {"#state": "state"})
            .set(f"{ACTIVE} = :paused")
            .set(f"{LEASE_EXPIRES} = :past", {":past": int(now) - 1})
            .set("updated_at = :now", {":now": int(now)})
            .set(f"{HISTORY} = :h", {":h": history})
            .set_checkpoint(checkpoint)
            .remove("lease_owner")
            .when(f"attribute_exists({PAUSE_REQUESTED})")
        )
        try:
            self._apply(update)
        except Steered:
            return False
        return True

    def hold(
        self, now: float, checkpoint: Position | None, schedule: ScheduleRecord, history: list[dict[str, Any]]
    ) -> None:
        """Let the job wait at `checkpoint` for `schedule` to queue its continuation: SCHEDULED, no lease, in the
        sweep's view under SCHEDULED until the schedule's time. Refused (Steered, nothing changed) once the operator
        asked to cancel or pause the job: hand over instead."""
        update = (
            Update()
            .set("#state = :held", {":held": SCHEDULED}, {"#state": "state"})
            .set(f"{ACTIVE} = :held")
            .set(f"{LEASE_EXPIRES} = :at", {":at": schedule.at})
            .set(f"{SCHEDULE} = :schedule", {":schedule": schedule.item()})
            .set(f"{CLAIMS} = :zero", {":zero": 0})
            .set("updated_at = :now", {":now": int(now)})
            .set(f"{HISTORY} = :h", {":h": history})
            .set_checkpoint(checkpoint)
            .remove("lease_owner")
        )
        self._store.apply_held(self.job_id, self.owner, update, steered=True)

    def finish(
        self,
        state: JobState,
        now: float,
        rows: int,
        counts: Mapping[Status, int] | None = None,
        error: str = "",
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Close the job: final state, row total, (recounted) counts, `extra` facts; it leaves the active index, and
        the operator's requests and the resend mode are done with."""
        update = (
            Update()
            .set("#state = :s", {":s": str(state)}, {"#state": "state"})
            .set("finished_at = :now", {":now": int(now)})
            .set("updated_at = :now")
            .set("#rows = :rows", {":rows": rows}, {"#rows": "rows"})
        )
        for i, (name, value) in enumerate((extra or {}).items()):
            update.set(f"{name} = :x{i}", {f":x{i}": value})
        if counts is not None:
            update.set("counts = :counts", {":counts": {str(s): n for s, n in counts.items()}})
        if error:
            update.set("#error = :err", {":err": error[:ERROR_CHARS]}, {"#error": "error"})
        removed = ("lease_owner", ACTIVE, LEASE_EXPIRES, "needs_recount", CANCEL_REQUESTED, PAUSE_REQUESTED, RESEND)
        self._apply(update.remove(*removed))

    def _apply(self, update: Update) -> None:
        self._store.apply_held(self.job_id, self.owner, update)


def _renewing(update: Update, lease_until: float) -> Update:
    return update.set(f"{LEASE_EXPIRES} = :exp", {":exp": int(lease_until)})


def _progress(update: Update, done: Completions) -> Update:
    """Rows recorded are progress (the checkpoint moved, batches completed, rows recorded past the checkpoint): the
    no-progress count starts again."""
    moved = done.checkpoint is not None or done.recorded is not None or bool(done.batches)
    return update.set(f"{CLAIMS} = :zero", {":zero": 0}) if moved else update
