"""Every invocation makes progress, and nothing costs O(rows done): a hand-over carries the rows recorded past the
checkpoint on the job item (nothing is read back), a crash costs a bounded read, every invocation starts a batch,
and a call the deadline leaves no time to make is handed back, never recorded."""

import pytest

from smsdrop.models import UNKNOWN_REASON, Status
from smsdrop.provider.retry import CallNotMade
from smsdrop.send.runner import JobRunner, RunEnd
from tests.fixtures.fake_jobs import StoredJob
from tests.fixtures.fakes import NOW, UPLOAD, FakeGateway, Fakes, Stored, after, recipient, settings

NO_DEADLINE = lambda: 900_000  # noqa: E731


def run(fakes, remaining_ms=NO_DEADLINE, **changes):
    return JobRunner(settings(**changes), fakes.ports(), clock=lambda: NOW).run(UPLOAD, remaining_ms)


def alternating(count):
    """Rows of two texts in turn: each call takes one text, so rows are recorded ahead of the checkpoint."""
    return [recipient(r, "Your order has shipped" if r % 2 else "Sale ends tonight") for r in range(2, 2 + count)]


def batches_then_out_of_time(n):
    checks = iter([10_000] * n)
    return lambda: next(checks, 0)


def test_a_hand_over_tells_the_rows_recorded_past_the_checkpoint_and_the_next_invocation_reads_nothing_back():
    fakes = Fakes(alternating(12))

    first = run(fakes, batches_then_out_of_time(3), in_flight=1)

    assert first.end is RunEnd.CONTINUED
    recorded = set(fakes.results.rows(UPLOAD.job_id))
    checkpoint = fakes.job.checkpoint.row
    assert fakes.job.recorded == tuple(sorted(r for r in recorded if r > checkpoint))
    assert fakes.job.recorded  # rows of one text went out ahead of the other's

    second = run(fakes, in_flight=1)

    assert second.end is RunEnd.COMPLETED
    assert fakes.results.reads == []  # neither invocation read a row item back
    assert sorted(fakes.gateway.sent_rows) == list(range(2, 14))  # each row once
    assert fakes.results_file.lines == list(range(2, 14))  # the results file: every row once, in row order


def test_after_a_crash_only_the_rows_in_flight_and_the_lines_since_the_file_s_state_are_read_back():
    fakes = Fakes([recipient(r) for r in range(2, 30)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id,
        owner="died",
        lease_expires=NOW - 300,
        checkpoint=after(9),
        in_flight={"1.4": (12, 13), "1.5": (14, 15)},
        recorded=(16, 17),
    )
    fakes.results.items[UPLOAD.job_id] = {
        **{r: Stored(Status.SUBMITTED, "", "1.0") for r in range(2, 10)},
        **{r: Stored(Status.SUBMITTED, "", "1.4") for r in (12, 13, 16, 17)},  # 1.4 recorded, never told
    }
    fakes.results_file.lines, fakes.results_file.through_row = [2, 3, 4, 5], 5  # its last state: through row 5

    result = run(fakes, in_flight=1)

    assert result.end is RunEnd.COMPLETED
    assert fakes.results.reads == [("range", (5, 9)), ("rows", [12, 13, 14, 15, 16, 17])]
    assert not {12, 13, 16, 17} & set(fakes.gateway.sent_rows)  # recorded by the dead holder: never sent again
    assert [fakes.results.items[UPLOAD.job_id][r].status for r in (14, 15)] == [Status.UNKNOWN] * 2
    assert fakes.results.items[UPLOAD.job_id][14].reason == UNKNOWN_REASON
    assert sorted(fakes.gateway.sent_rows) == [10, 11, *range(18, 30)]
    assert fakes.results_file.lines == list(range(2, 30))
    assert fakes.job.in_flight == {}


class Killed(BaseException):
    """SIGKILL, as a fake can play it: nothing catches it, nothing more is written."""


def test_a_holder_that_drops_a_dead_holder_s_marks_and_dies_at_its_first_call_leaves_those_rows_recorded():
    # The dead holder's batch 1.2 was recorded but never told; the next holder finds its items, drops its mark
    # with its own first mark, and is killed at that call: the job item must still say rows 4-5 are done.
    fakes = Fakes([recipient(r) for r in range(2, 12)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id, owner="died", lease_expires=NOW - 300, checkpoint=after(3), in_flight={"1.2": (4, 5)}
    )
    fakes.results.items[UPLOAD.job_id] = {
        **{r: Stored(Status.SUBMITTED, "", "1.0") for r in (2, 3)},
        **{r: Stored(Status.SUBMITTED, "", "1.2") for r in (4, 5)},  # 1.2 recorded, never told
    }
    fakes.results_file.lines, fakes.results_file.through_row = [2, 3], 3

    def killed_at_the_first_call(n, rows):
        raise Killed

    fakes.gateway = FakeGateway(killed_at_the_first_call)
    with pytest.raises(Killed):
        run(fakes, in_flight=1)
    assert "1.2" not in fakes.job.in_flight  # its mark went with the first mark of the holder that died
    assert {4, 5} <= set(fakes.job.recorded)  # ... so the rows it had in flight are listed as recorded instead

    fakes.gateway = FakeGateway()
    third = JobRunner(settings(in_flight=1), fakes.ports(), clock=lambda: NOW + 300).run(UPLOAD, NO_DEADLINE)

    assert third.end is RunEnd.COMPLETED
    assert not {4, 5} & set(fakes.gateway.sent_rows)  # recorded by the first holder: never sent again
    assert [fakes.results.items[UPLOAD.job_id][r].batch for r in (4, 5)] == ["1.2", "1.2"]


def test_an_invocation_with_no_time_left_still_starts_a_batch_so_a_chain_of_them_always_ends():
    fakes = Fakes([recipient(r) for r in range(2, 12)])
    ends = [run(fakes, lambda: 0, in_flight=1).end]
    while ends[-1] is RunEnd.CONTINUED and len(ends) < 20:
        ends.append(run(fakes, lambda: 0, in_flight=1).end)
    assert ends == [RunEnd.CONTINUED] * 4 + [RunEnd.COMPLETED]  # a batch of two rows each, then the close
    assert sorted(fakes.gateway.sent_rows) == list(range(2, 12))


def test_the_gateway_gets_the_time_left_but_a_quarter_of_the_margin_from_the_second_call_on():
    seen = []

    class Watching(FakeGateway):
        def send(self, items, time_left=None):
            seen.append(time_left and time_left())
            return super().send(items, time_left)

    fakes = Fakes([recipient(r) for r in range(2, 6)], gateway=Watching())
    run(fakes, lambda: 30_000, time_margin_ms=8_000, in_flight=1)
    first, second = seen
    assert first is None  # the first call of an invocation has no deadline: every invocation makes progress
    assert 27.0 < second <= 28.0  # 30 s left when the batch started, less 2 s kept back (and the moment since)


def test_a_call_not_made_in_time_is_handed_back_unrecorded_and_sent_once_by_the_next_invocation():
    calls = []

    class LateOnce(FakeGateway):
        def send(self, items, time_left=None):
            rows = tuple(r.row for item in items for r in item.recipients)
            if not calls:
                calls.append(rows)
                raise CallNotMade("out of time after 0 attempt(s)")
            return super().send(items, time_left)

    fakes = Fakes([recipient(r) for r in range(2, 8)], gateway=LateOnce())

    first = run(fakes, in_flight=1)

    assert first.end is RunEnd.CONTINUED
    assert fakes.results.rows(UPLOAD.job_id) == []  # nothing recorded for the rows not sent
    assert (fakes.job.in_flight, fakes.job.checkpoint) == ({}, None)  # their mark is gone, the checkpoint before them
    assert fakes.continuation.requested == [UPLOAD]

    assert run(fakes, in_flight=1).end is RunEnd.COMPLETED
    assert sorted(fakes.gateway.sent_rows) == list(range(2, 8))
    assert calls == [(2, 3)]
