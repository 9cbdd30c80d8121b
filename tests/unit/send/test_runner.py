"""The job runner on in-memory fakes of its ports: what it sends, records and tells the job item, and when."""

import threading
from collections import Counter

import pytest

from smsdrop.models import UNKNOWN_REASON, Status
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.store.jobs import JobState
from tests.fixtures.fake_jobs import StoredJob
from tests.fixtures.fakes import (
    NOW,
    UPLOAD,
    FakeGateway,
    Fakes,
    Stored,
    after,
    recipient,
    rejected,
    settings,
    stop_at_call,
    wait_for,
)

NO_DEADLINE = lambda: 900_000  # noqa: E731


def run(fakes, remaining_ms=NO_DEADLINE, pacer=None, **changes):
    """One invocation of a fresh runner (a cold start) on `fakes`."""
    return JobRunner(settings(**changes), fakes.ports(), clock=lambda: NOW, pacer=pacer).run(UPLOAD, remaining_ms)


def statuses(fakes):
    return {row: item.status for row, item in fakes.results.items[UPLOAD.job_id].items()}


def test_a_file_is_sent_once_row_by_row_and_the_job_closes_with_its_counts_and_summary():
    fakes = Fakes([recipient(r) for r in range(2, 8)] + [rejected(8)])
    result = run(fakes)
    assert result.end is RunEnd.COMPLETED
    assert sorted(fakes.gateway.sent_rows) == [2, 3, 4, 5, 6, 7]
    assert statuses(fakes) == {**dict.fromkeys(range(2, 8), Status.SUBMITTED), 8: Status.REJECTED}
    assert result.counts == {"SUBMITTED": 6, "REJECTED": 1}
    assert (fakes.job.state, fakes.job.rows, fakes.job.in_flight) == (JobState.COMPLETED, 7, {})
    (summary,) = fakes.results_file.summaries
    assert (summary["state"], summary["rows"], summary["counts"]) == ("COMPLETED", 7, result.counts)


def test_the_checkpoint_waits_for_an_earlier_batch_that_completes_after_later_ones():
    fakes = Fakes([recipient(r) for r in range(2, 12)])  # five batches of two rows

    def first_batch_answers_last(call, rows):
        if rows == (2, 3):  # held until a later batch's mark has gone out carrying the completions before it
            with fakes.store.changed:
                wait_for(lambda: "1.3" in {batch for batch, _ in fakes.job.told}, fakes.store.changed)

    fakes.gateway = FakeGateway(first_batch_answers_last)
    assert run(fakes, in_flight=3).end is RunEnd.COMPLETED

    told = dict(fakes.job.told)
    assert told["1.3"].batches
    assert set(told["1.3"].batches) <= {"1.1", "1.2"}
    assert told["1.3"].checkpoint is None  # batch 1.0 (rows 2-3) was not recorded yet: no checkpoint past it
    checkpoints = [done.checkpoint.row for _, done in fakes.job.told if done.checkpoint]
    assert checkpoints == sorted(set(checkpoints))
    assert (fakes.job.checkpoint, fakes.job.in_flight) == (after(11), {})
    assert fakes.job.counts["SUBMITTED"] == 10


def test_rows_an_earlier_holder_had_in_flight_are_recorded_unknown_and_never_sent():
    fakes = Fakes([recipient(r) for r in range(2, 10)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id, owner="died", lease_expires=NOW - 300, checkpoint=after(3), in_flight={"1.1": (4, 5)}
    )
    fakes.job.counts.update({"SUBMITTED": 2})
    fakes.results.items[UPLOAD.job_id] = dict.fromkeys((2, 3), Stored(Status.SUBMITTED, "", "1.0"))

    result = run(fakes)

    assert result.end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == [6, 7, 8, 9]
    recovered = {row: fakes.results.items[UPLOAD.job_id][row] for row in (4, 5)}
    assert set(recovered.values()) == {Stored(Status.UNKNOWN, UNKNOWN_REASON, "recovered")}
    assert fakes.job.in_flight == {}  # the dead holder's mark is forgotten once its rows are recorded
    assert fakes.job.counts == {"SUBMITTED": 6, "UNKNOWN": 2}  # recounted from the items: a holder died
    assert result.counts == {"SUBMITTED": 6, "UNKNOWN": 2}


class HeldPacer:
    """The first call waits until a second batch waits behind it; that one waits until the job is stopped."""

    def __init__(self, fakes):
        self.fakes, self.arrived, self.lock = fakes, 0, threading.Condition()

    def wait(self):
        with self.lock:
            self.arrived += 1
            mine = self.arrived
            self.lock.notify_all()
            if mine == 1:
                wait_for(lambda: self.arrived >= 2, self.lock)
                return
        if mine == 2:
            with self.fakes.store.changed:
                wait_for(lambda: bool(self.fakes.job.stop_reason), self.fakes.store.changed)


def test_a_stop_while_batches_wait_their_turn_records_them_unsent_and_sends_none_of_them():
    fakes = Fakes([recipient(r) for r in range(2, 8)], gateway=FakeGateway(stop_at_call(1)))

    result = run(fakes, pacer=HeldPacer(fakes))

    assert result.end is RunEnd.STOPPED
    assert result.stop_reason.startswith("-10 insufficient balance at row ")
    assert len(fakes.gateway.calls) == 1
    (stopped,) = fakes.gateway.calls
    items = fakes.results.items[UPLOAD.job_id]
    assert {items[row].reason for row in stopped} == {"-10 insufficient balance"}
    unsent = {items[row].reason for row in range(2, 8) if row not in stopped}
    assert unsent == {f"not sent: job stopped ({result.stop_reason})"}
    assert set(statuses(fakes).values()) == {Status.FAILED}
    assert (fakes.job.state, fakes.job.stop_reason) == (JobState.STOPPED, result.stop_reason)


def test_a_lease_lost_mid_run_stops_sending_and_overwrites_nothing():
    fakes = Fakes([recipient(r) for r in range(2, 10)])

    def taken_over_during_the_second_call(call, rows):
        if call == 2:  # the new holder takes the job and records this call's rows UNKNOWN before the answer comes
            fakes.store.take_over(UPLOAD.job_id)
            fakes.results.items[UPLOAD.job_id][5] = Stored(Status.UNKNOWN, UNKNOWN_REASON, "recovered")

    fakes.gateway = FakeGateway(taken_over_during_the_second_call)

    result = run(fakes, in_flight=1)

    assert result.end is RunEnd.LEASE_LOST
    assert fakes.gateway.calls == [(2, 3), (4, 5)]
    assert fakes.results.written_once == [4, 5]  # what it learnt, written only where nothing is
    assert statuses(fakes) == {2: Status.SUBMITTED, 3: Status.SUBMITTED, 4: Status.SUBMITTED, 5: Status.UNKNOWN}
    assert (fakes.job.state, fakes.job.owner) == (JobState.RUNNING, "someone-else")
    assert fakes.continuation.requested == []


def test_time_running_short_hands_the_rest_over_at_the_checkpoint_and_the_next_invocation_finishes():
    fakes = Fakes([recipient(r) for r in range(2, 10)])
    checks = iter([10_000, 10_000])

    first = run(fakes, remaining_ms=lambda: next(checks, 0), in_flight=1)

    assert first.end is RunEnd.CONTINUED
    assert (first.batches, first.counts) == (2, {"SUBMITTED": 4})
    assert fakes.gateway.sent_rows == [2, 3, 4, 5]
    assert fakes.continuation.requested == [UPLOAD]
    assert (fakes.job.owner, fakes.job.checkpoint, fakes.job.in_flight) == (None, after(5), {})

    second = run(fakes)

    assert second.end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == [2, 3, 4, 5, 6, 7, 8, 9]
    assert not fakes.job.needs_recount
    assert fakes.job.counts["SUBMITTED"] == 8


def test_a_dry_run_checks_and_records_every_row_and_sends_none():
    fakes = Fakes([*(recipient(r) for r in range(2, 6)), rejected(6)], dry_run=True)

    result = run(fakes)

    assert result.end is RunEnd.COMPLETED
    assert fakes.gateway.calls == []
    assert all(batch == "" for batch, _ in fakes.job.told)  # nothing was ever marked in flight
    assert statuses(fakes) == {**dict.fromkeys(range(2, 6), Status.VALIDATED), 6: Status.REJECTED}
    assert {fakes.results.items[UPLOAD.job_id][r].reason for r in range(2, 6)} == {"dry run: checked, not sent"}
    assert result.counts == {"VALIDATED": 4, "REJECTED": 1}
    assert fakes.results_file.summaries[0]["dry_run"] is True
    assert fakes.job.extra["dry_run"] is True


def test_a_file_refused_part_way_closes_the_job_failed_with_the_rows_recorded_before():
    fakes = Fakes([recipient(r) for r in range(2, 10)], refuse_at=6)

    result = run(fakes, in_flight=1)

    assert result.end is RunEnd.FAILED
    assert result.error.startswith("a quoted field in row 6 is not closed properly")
    assert Counter(statuses(fakes).values()) == {Status.SUBMITTED: 4}
    assert (fakes.job.state, fakes.job.rows, fakes.job.error) == (JobState.FAILED, 4, result.error)


def test_a_job_held_by_another_invocation_is_busy_and_a_finished_one_already_finished():
    fakes = Fakes([recipient(r) for r in range(2, 4)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(UPLOAD.job_id, owner="alive", lease_expires=NOW + 30)
    assert run(fakes).end is RunEnd.BUSY

    fakes.job.lease_expires = NOW - 1
    assert run(fakes).end is RunEnd.COMPLETED
    again = run(fakes)
    assert (again.end, again.counts) == (RunEnd.ALREADY_FINISHED, {"SUBMITTED": 2})
    assert fakes.gateway.sent_rows == [2, 3]


def test_an_unexpected_error_hands_the_job_back_flagged_for_a_recount():
    def broken(call, rows):
        raise RuntimeError("a bug")

    fakes = Fakes([recipient(r) for r in range(2, 6)], gateway=FakeGateway(broken))

    with pytest.raises(RuntimeError, match="a bug"):
        run(fakes, in_flight=1)

    assert (fakes.job.owner, fakes.job.needs_recount, fakes.job.state) == (None, True, JobState.RUNNING)
