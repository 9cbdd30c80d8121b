"""Scheduled sends on the fakes: a job waits SCHEDULED for its send-at or the send window through a one-time schedule,
stops at a batch boundary when the window closes, and each row is sent once across the waits. The clock is injected."""

from datetime import datetime

import pytest

from smsdrop.intake.send_at import SendAtRefused
from smsdrop.models import Status
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.store.jobs import JobState
from tests.fixtures.fakes import UPLOAD, FakeGateway, Fakes, after, recipient, settings

NO_DEADLINE = lambda: 900_000  # noqa: E731
ROWS = range(2, 12)  # ten rows: five calls of two


class Clock:
    """Epoch seconds that a test moves on (a call to the gateway may move it, as time passes while it sends)."""

    def __init__(self, at: str) -> None:
        self.now = datetime.fromisoformat(at).timestamp()

    def __call__(self) -> float:
        return self.now

    def to(self, epoch_s: float) -> None:
        self.now = epoch_s


def run(fakes, clock, upload=UPLOAD, **changes):
    """One invocation of a fresh runner (a cold start) at `clock`'s time."""
    return JobRunner(settings(**changes), fakes.ports(), clock=clock).run(upload, NO_DEADLINE)


def fire(fakes, clock, **changes):
    """Move the clock to the next schedule and run the continuation it queues (as the scheduler and SQS would)."""
    clock.to(fakes.schedules.next_at())
    (upload,) = fakes.schedules.fire(clock())
    return run(fakes, clock, upload, **changes)


def test_a_send_at_in_the_future_waits_for_its_schedule_and_firing_it_sends_every_row_once():
    fakes = Fakes([recipient(r) for r in ROWS], send_at=datetime.fromisoformat("2026-12-01T09:30:00+05:30"))
    clock = Clock("2026-12-01T08:00:00+05:30")

    result = run(fakes, clock)

    assert result.end is RunEnd.SCHEDULED
    assert (fakes.gateway.calls, fakes.readers, fakes.continuation.requested) == ([], [], [])
    (name,) = fakes.schedules.made
    assert name == f"{UPLOAD.job_id}-20261201T040000Z"
    assert (fakes.job.state, fakes.job.owner, fakes.job.schedule.name) == (JobState.SCHEDULED, None, name)
    assert fakes.job.lease_expires == datetime.fromisoformat("2026-12-01T04:00:00Z").timestamp()
    assert fakes.job.history[-1]["event"] == "scheduled"

    assert fire(fakes, clock).end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == list(ROWS)
    assert fakes.job.state is JobState.COMPLETED
    assert fakes.schedules.deleted == []  # it fired: the scheduler deletes it


@pytest.mark.parametrize(
    "send_at", ["2026-12-01T07:00:00+05:30", "2026-12-01T08:00:59+05:30"], ids=["past", "within-a-minute"]
)
def test_a_send_at_past_or_within_a_minute_sends_now(send_at):
    fakes = Fakes([recipient(r) for r in ROWS], send_at=datetime.fromisoformat(send_at))

    assert run(fakes, Clock("2026-12-01T08:00:00+05:30")).end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == list(ROWS)
    assert fakes.schedules.made == {}


def test_a_send_at_that_cannot_be_used_refuses_the_file_sending_nothing():
    refusal = SendAtRefused("send-at '2026-12-01T09:30' has no UTC offset, so its zone is unknown")
    fakes = Fakes([recipient(r) for r in ROWS], send_at=refusal)

    result = run(fakes, Clock("2026-12-01T08:00:00+05:30"))

    assert result.end is RunEnd.FAILED
    assert (fakes.gateway.calls, fakes.readers, fakes.schedules.made) == ([], [], {})
    assert (fakes.job.state, fakes.job.error) == (JobState.FAILED, str(refusal))
    (summary,) = fakes.results_file.summaries
    assert summary["error"] == str(refusal)


def test_a_dry_run_never_waits():
    fakes = Fakes([recipient(r) for r in ROWS], dry_run=True, send_at=datetime.fromisoformat("2026-12-02T09:30:00Z"))

    assert run(fakes, Clock("2026-12-01T08:00:00+05:30"), send_window="09:00-21:00").end is RunEnd.COMPLETED
    assert (fakes.gateway.calls, fakes.schedules.made) == ([], {})
    guards = fakes.results_file.summaries[-1]["intake"]["guards"]
    assert guards["send_window"] == "09:00-21:00 Asia/Kolkata"
    assert guards["would_wait"] == {  # the summary tells when the real send would start, and why
        "until": "2026-12-02T09:30:00+00:00",
        "why": "send-at 2026-12-02T09:30:00+00:00",
    }


def test_a_run_that_need_not_wait_says_so_in_its_summary_with_the_window_it_kept():
    fakes = Fakes([recipient(r) for r in ROWS])

    assert run(fakes, Clock("2026-12-01T10:00:00+05:30"), send_window="09:00-21:00").end is RunEnd.COMPLETED
    guards = fakes.results_file.summaries[-1]["intake"]["guards"]
    assert (guards["send_window"], guards["would_wait"]) == ("09:00-21:00 Asia/Kolkata", None)


def test_a_job_outside_the_window_waits_for_its_opening():
    fakes = Fakes([recipient(r) for r in ROWS])
    clock = Clock("2026-12-01T22:15:00+05:30")

    assert run(fakes, clock, send_window="09:00-21:00").end is RunEnd.SCHEDULED
    assert fakes.job.lease_expires == datetime.fromisoformat("2026-12-02T09:00:00+05:30").timestamp()
    assert fakes.job.schedule.why == "send window 09:00-21:00 Asia/Kolkata"

    assert fire(fakes, clock, send_window="09:00-21:00").end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == list(ROWS)


def test_the_window_closing_stops_sending_at_a_batch_boundary_and_its_opening_sends_the_rest_once():
    clock = Clock("2026-12-01T18:30:00+05:30")
    fakes = Fakes([recipient(r) for r in ROWS], gateway=FakeGateway(lambda n, rows: clock.to(clock() + 3600)))

    result = run(fakes, clock, in_flight=1, send_window="09:00-21:00")

    # calls at 18:30, 19:30 and 20:30; at 21:30 the window has closed: no fourth call
    assert result.end is RunEnd.SCHEDULED
    assert fakes.gateway.calls == [(2, 3), (4, 5), (6, 7)]
    assert (fakes.job.state, fakes.job.checkpoint, fakes.job.in_flight) == (JobState.SCHEDULED, after(7), {})
    assert set(fakes.results.items_of(UPLOAD.job_id)) == set(range(2, 8))  # nothing recorded for the rest
    assert fakes.job.lease_expires == datetime.fromisoformat("2026-12-02T09:00:00+05:30").timestamp()
    assert fakes.job.schedule.why == "send window 09:00-21:00 Asia/Kolkata closed"

    assert fire(fakes, clock, in_flight=1, send_window="09:00-21:00").end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == list(ROWS)
    assert set(fakes.results.rows(UPLOAD.job_id, Status.SUBMITTED)) == set(ROWS)
    assert fakes.results_file.lines == list(ROWS)
    assert fakes.job.counts["SUBMITTED"] == len(ROWS)


def test_a_window_crossing_midnight_sends_through_midnight_and_stops_at_its_close():
    clock = Clock("2026-12-01T23:30:00+05:30")
    fakes = Fakes([recipient(r) for r in ROWS], gateway=FakeGateway(lambda n, rows: clock.to(clock() + 7200)))

    # calls at 23:30, 01:30, 03:30 and 05:30; at 07:30 the window has closed until 21:00
    assert run(fakes, clock, in_flight=1, send_window="21:00-06:00").end is RunEnd.SCHEDULED
    assert fakes.gateway.calls == [(2, 3), (4, 5), (6, 7), (8, 9)]
    assert fakes.job.lease_expires == datetime.fromisoformat("2026-12-02T21:00:00+05:30").timestamp()

    assert fire(fakes, clock, in_flight=1, send_window="21:00-06:00").end is RunEnd.COMPLETED
    assert fakes.gateway.sent_rows == list(ROWS)


def test_cancelling_a_scheduled_job_deletes_its_schedule_and_records_every_row_cancelled_sending_nothing():
    fakes = Fakes([recipient(r) for r in ROWS], send_at=datetime.fromisoformat("2026-12-01T09:30:00+05:30"))
    clock = Clock("2026-12-01T08:00:00+05:30")
    run(fakes, clock)
    (schedule,) = fakes.schedules.made

    # what `smsdrop cancel` does to a waiting job: the request, the job RUNNING with its lease lapsed, a continuation
    fakes.store.request(UPLOAD.job_id, cancel=True)
    fakes.job.state, fakes.job.lease_expires = JobState.RUNNING, clock() - 1
    clock.to(clock() + 60)

    assert run(fakes, clock).end is RunEnd.CANCELLED
    assert fakes.schedules.deleted == [schedule]
    assert fakes.schedules.made == {}
    assert fakes.gateway.calls == []
    assert set(fakes.results.rows(UPLOAD.job_id, Status.CANCELLED)) == set(ROWS)


def test_a_duplicate_event_while_the_job_waits_makes_no_second_schedule():
    fakes = Fakes([recipient(r) for r in ROWS], send_at=datetime.fromisoformat("2026-12-01T09:30:00+05:30"))
    clock = Clock("2026-12-01T08:00:00+05:30")
    run(fakes, clock)
    clock.to(clock() + 600)

    assert run(fakes, clock).end is RunEnd.SCHEDULED
    assert len(fakes.schedules.created) == 1
    assert fakes.gateway.calls == []


def test_a_cancel_asked_while_the_holder_makes_the_schedule_hands_over_and_drops_the_schedule():
    fakes = Fakes([recipient(r) for r in ROWS], send_at=datetime.fromisoformat("2026-12-01T09:30:00+05:30"))
    create = fakes.schedules.create

    def cancelled_meanwhile(upload, at, why):
        fakes.store.request(UPLOAD.job_id, cancel=True)
        return create(upload, at, why)

    fakes.schedules.create = cancelled_meanwhile
    clock = Clock("2026-12-01T08:00:00+05:30")

    assert run(fakes, clock).end is RunEnd.CONTINUED
    assert (fakes.schedules.made, fakes.continuation.requested) == ({}, [UPLOAD])
    assert (fakes.job.state, fakes.job.owner) == (JobState.RUNNING, None)

    assert run(fakes, clock).end is RunEnd.CANCELLED
    assert fakes.gateway.calls == []
