"""A job resumed after a stop or a cancel (resend mode), on in-memory fakes: exactly the rows left unsent are sent,
every other item stays as it is, counts move from the old statuses, and the new results file lists every row once."""

from collections import Counter

from smsdrop.models import UNKNOWN_REASON, Status
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.store.jobs import JobState
from tests.fixtures.fake_jobs import StoredJob
from tests.fixtures.fakes import NOW, UPLOAD, FakeGateway, Fakes, Stored, recipient, rejected, settings, stop_at_call

NO_DEADLINE = lambda: 900_000  # noqa: E731


def run(fakes, remaining_ms=NO_DEADLINE, **changes):
    return JobRunner(settings(**changes), fakes.ports(), clock=lambda: NOW).run(UPLOAD, remaining_ms)


def resumed(fakes, gateway=None):
    """What `smsdrop resume` does to a STOPPED or CANCELLED job (store.controls): RUNNING in resend mode, read
    again from the top, a new results file; the provider takes calls again."""
    job = fakes.job
    job.state, job.resend, job.checkpoint, job.stop_reason, job.lease_expires = JobState.RUNNING, True, None, "", 0
    job.cancel_requested, job.recorded = None, ()
    fakes.results_file.lines, fakes.results_file.through_row, fakes.results_file.left = [], 0, []
    fakes.gateway = gateway or FakeGateway()


def test_a_job_stopped_mid_file_and_resumed_sends_each_unsent_row_once_and_ends_completed_with_exact_counts():
    fakes = Fakes([recipient(r) for r in range(2, 12)] + [rejected(12)], gateway=FakeGateway(stop_at_call(3)))
    assert run(fakes, in_flight=1).end is RunEnd.STOPPED
    first = list(fakes.gateway.sent_rows)
    accepted = first[:4]  # the third call was answered -10: nothing of it was taken
    resumed(fakes)

    result = run(fakes, in_flight=1)

    assert result.end is RunEnd.COMPLETED
    assert sorted(accepted + fakes.gateway.sent_rows) == list(range(2, 12))  # each row accepted exactly once
    assert Counter(item.status for item in fakes.results.items_of(UPLOAD.job_id).values()) == {
        Status.SUBMITTED: 10,
        Status.REJECTED: 1,
    }
    assert {k: v for k, v in fakes.job.counts.items() if v} == {"SUBMITTED": 10, "REJECTED": 1}  # FAILED moved
    assert sorted(fakes.results_file.lines) == list(range(2, 13))  # the new file: every row once
    assert (fakes.job.state, fakes.job.rows) == (JobState.COMPLETED, 11)


def test_a_resume_sends_no_row_that_was_submitted_rejected_unknown_or_failed_by_the_provider():
    fakes = Fakes([recipient(r) for r in range(2, 10)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(UPLOAD.job_id, owner=None, lease_expires=0, state=JobState.STOPPED)
    fakes.results.items[UPLOAD.job_id] = {
        2: Stored(Status.SUBMITTED, "", "1.0"),
        3: Stored(Status.DELIVERED, "", "1.0"),
        4: Stored(Status.UNKNOWN, UNKNOWN_REASON, "1.1"),
        5: Stored(Status.REJECTED, "bad number", "1.1"),
        6: Stored(Status.FAILED, "-9 abnormal number", "1.2"),  # the provider refused this number: not resent
        7: Stored(Status.FAILED, "-10 insufficient balance", "1.2", unsent=True),
        8: Stored(Status.FAILED, "not sent: job stopped (-10 ...)", "1.3", unsent=True),
        9: Stored(Status.CANCELLED, "not sent: job cancelled by ops", "1.3", unsent=True),
    }
    fakes.job.counts.update({"SUBMITTED": 1, "DELIVERED": 1, "UNKNOWN": 1, "REJECTED": 1, "FAILED": 3, "CANCELLED": 1})
    resumed(fakes)

    assert run(fakes).end is RunEnd.COMPLETED

    assert sorted(fakes.gateway.sent_rows) == [7, 8, 9]
    statuses = {row: item.status for row, item in fakes.results.items_of(UPLOAD.job_id).items()}
    assert statuses == {
        2: Status.SUBMITTED,
        3: Status.DELIVERED,
        4: Status.UNKNOWN,
        5: Status.REJECTED,
        6: Status.FAILED,
        7: Status.SUBMITTED,
        8: Status.SUBMITTED,
        9: Status.SUBMITTED,
    }
    assert {k: v for k, v in fakes.job.counts.items() if v} == {
        "SUBMITTED": 4,
        "DELIVERED": 1,
        "UNKNOWN": 1,
        "REJECTED": 1,
        "FAILED": 1,
    }
    assert sorted(fakes.results_file.lines) == list(range(2, 10))


def test_rows_a_dead_resend_holder_had_in_flight_are_recorded_unknown_over_their_unsent_items_never_resent():
    fakes = Fakes([recipient(r) for r in range(2, 8)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id, owner="died", lease_expires=0, resend=True, in_flight={"2.0": (2, 3)}
    )
    unsent = Stored(Status.CANCELLED, "not sent: job cancelled by ops", "1.0", unsent=True)
    fakes.results.items[UPLOAD.job_id] = dict.fromkeys(range(2, 8), unsent)

    assert run(fakes).end is RunEnd.COMPLETED

    assert sorted(fakes.gateway.sent_rows) == [4, 5, 6, 7]
    items = fakes.results.items_of(UPLOAD.job_id)
    assert {row: (items[row].status, items[row].unsent) for row in (2, 3)} == dict.fromkeys(
        (2, 3), (Status.UNKNOWN, False)
    )


def test_a_job_cancelled_then_resumed_sends_exactly_the_cancelled_rows():
    fakes = Fakes([recipient(r) for r in range(2, 14)])

    def cancel_at_the_second_call(call, rows):
        if call == 2:
            fakes.store.request(UPLOAD.job_id, cancel=True)

    fakes.gateway = FakeGateway(cancel_at_the_second_call)
    assert run(fakes, in_flight=1).end is RunEnd.CANCELLED
    first = list(fakes.gateway.sent_rows)
    cancelled = fakes.results.rows(UPLOAD.job_id, Status.CANCELLED)
    resumed(fakes)

    assert run(fakes, in_flight=1).end is RunEnd.COMPLETED

    assert sorted(fakes.gateway.sent_rows) == cancelled
    assert sorted(first + fakes.gateway.sent_rows) == list(range(2, 14))
    assert fakes.results.rows(UPLOAD.job_id, Status.SUBMITTED) == list(range(2, 14))
