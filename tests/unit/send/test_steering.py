"""An operator's hands on a running job, on in-memory fakes: cancel, pause (taken, withdrawn, found at a claim), and
rows recorded unsent marked so a resume can find them."""

from collections import Counter

from smsdrop.models import Status
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.store.jobs import JobState
from tests.fixtures.fake_jobs import StoredJob
from tests.fixtures.fakes import NOW, UPLOAD, FakeGateway, Fakes, after, recipient, rejected, settings, stop_at_call

NO_DEADLINE = lambda: 900_000  # noqa: E731


def run(fakes, **changes):
    return JobRunner(settings(**changes), fakes.ports(), clock=lambda: NOW).run(UPLOAD, NO_DEADLINE)


def items(fakes):
    return fakes.results.items[UPLOAD.job_id]


def test_a_cancel_lets_the_batches_in_flight_finish_sends_nothing_more_and_records_every_other_row_cancelled():
    fakes = Fakes([recipient(r) for r in range(2, 14)] + [rejected(14)])
    at_cancel = {}

    def cancel_during_the_second_call(call, rows):
        if call == 2:
            fakes.store.request(UPLOAD.job_id, cancel=True, by="asha")
            at_cancel.update(calls=call, in_flight={r for rows in fakes.job.in_flight.values() for r in rows})

    fakes.gateway = FakeGateway(cancel_during_the_second_call)

    result = run(fakes, in_flight=2)

    assert result.end is RunEnd.CANCELLED
    after_cancel = {row for call in fakes.gateway.calls[at_cancel["calls"] :] for row in call}
    assert after_cancel <= at_cancel["in_flight"]  # only batches marked before the cancel went out after it
    assert len(fakes.gateway.calls) <= at_cancel["calls"] + 1
    cancelled = [row for row, item in items(fakes).items() if item.status is Status.CANCELLED]
    assert sorted(cancelled) == [r for r in range(2, 14) if r not in fakes.gateway.sent_rows]
    assert {items(fakes)[row].reason for row in cancelled} == {"not sent: job cancelled by asha"}
    assert all(items(fakes)[row].unsent for row in cancelled)
    assert items(fakes)[14].status is Status.REJECTED
    assert sorted(items(fakes)) == list(range(2, 15))  # every row exactly one final status
    assert (fakes.job.state, fakes.job.in_flight) == (JobState.CANCELLED, {})
    (summary,) = fakes.results_file.summaries
    assert (summary["state"], summary["cancelled"]["by"]) == ("CANCELLED", "asha")
    assert fakes.job.history[-1]["event"] == "cancelled"


def test_a_cancel_found_at_a_claim_records_the_rest_cancelled_without_a_call():
    fakes = Fakes([recipient(r) for r in range(2, 8)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id, owner=None, lease_expires=NOW - 1, checkpoint=after(3), cancel_requested={"by": "ops", "at": 1}
    )

    assert run(fakes).end is RunEnd.CANCELLED
    assert fakes.gateway.calls == []
    assert Counter(item.status for item in items(fakes).values()) == {Status.CANCELLED: 4}


def test_a_pause_hands_over_at_the_next_batch_boundary_sleeps_without_a_continuation_and_resumes_where_it_was():
    fakes = Fakes([recipient(r) for r in range(2, 12)])

    def pause_during_the_second_call(call, rows):
        if call == 2:
            fakes.store.request(UPLOAD.job_id, pause=True)

    fakes.gateway = FakeGateway(pause_during_the_second_call)

    paused = run(fakes, in_flight=1)

    assert paused.end is RunEnd.PAUSED
    assert fakes.gateway.sent_rows == [2, 3, 4, 5]
    assert (fakes.job.state, fakes.job.owner, fakes.job.checkpoint) == (JobState.PAUSED, None, after(5))
    assert fakes.continuation.requested == []
    assert fakes.job.history[-1]["event"] == "paused"
    assert run(fakes).end is RunEnd.PAUSED  # a duplicate event or message finds it asleep

    fakes.job.state, fakes.job.pause_requested = JobState.RUNNING, None  # what `smsdrop resume` does
    assert run(fakes).end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == list(range(2, 12))


def test_a_pause_withdrawn_before_the_holder_sleeps_hands_the_job_over_as_usual():
    fakes = Fakes([recipient(r) for r in range(2, 12)])

    def pause_during_the_second_call(call, rows):
        if call == 2:
            fakes.store.request(UPLOAD.job_id, pause=True)

    def withdrawn(job):  # `smsdrop resume` lands right after the holder saw the request
        job.pause_requested = None

    fakes.gateway = FakeGateway(pause_during_the_second_call)
    fakes.store.after_steering = withdrawn

    result = run(fakes, in_flight=1)

    assert result.end is RunEnd.CONTINUED
    assert fakes.continuation.requested == [UPLOAD]
    assert (fakes.job.state, fakes.job.owner, fakes.job.checkpoint) == (JobState.RUNNING, None, after(5))


def test_a_pause_found_at_a_claim_sleeps_at_once_reading_nothing():
    fakes = Fakes([recipient(r) for r in range(2, 8)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id, owner=None, lease_expires=NOW - 1, checkpoint=after(3), pause_requested={"by": "ops", "at": 1}
    )

    assert run(fakes).end is RunEnd.PAUSED
    assert (fakes.readers, fakes.gateway.calls) == ([], [])
    assert (fakes.job.state, fakes.job.checkpoint) == (JobState.PAUSED, after(3))


def test_rows_a_stop_leaves_unsent_are_marked_unsent_and_rows_the_provider_refused_one_by_one_are_not():
    fakes = Fakes([recipient(r) for r in range(2, 8)], gateway=FakeGateway(stop_at_call(2)))

    assert run(fakes, in_flight=1).end is RunEnd.STOPPED

    assert {row: item.unsent for row, item in items(fakes).items()} == {
        **dict.fromkeys((2, 3), False),
        **dict.fromkeys(range(4, 8), True),
    }
    assert items(fakes)[4].reason == "-10 insufficient balance"  # the call answered -10: nothing of it was taken
