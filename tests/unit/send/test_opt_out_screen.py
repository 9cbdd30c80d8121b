"""The opt-out list checked batch by batch on the runner's fakes: listed numbers are REJECTED "opted out" and never
sent, the list is asked as each batch is taken, so an opt-out added while a job runs holds for the batches after."""

import pytest

from smsdrop.intake.rejections import Rejection
from smsdrop.models import Status
from smsdrop.send.opt_out_screen import screened
from smsdrop.send.runner import JobRunner, RunEnd
from tests.fixtures.fakes import NOW, UPLOAD, FakeOptOuts, Fakes, recipient, rejected, settings

NO_DEADLINE = lambda: 900_000  # noqa: E731


def run(fakes, **changes):
    return JobRunner(settings(**changes), fakes.ports(), clock=lambda: NOW).run(UPLOAD, NO_DEADLINE)


def number(row):
    return recipient(row).number


class AddedWhileRunning(FakeOptOuts):
    """Puts `number` on the list once `after` lookups have been answered (the job is running by then)."""

    def __init__(self, number, after):
        super().__init__()
        self._late, self._after = number, after

    def opted_out(self, numbers):
        if len(self.lookups) == self._after:
            self.numbers.add(self._late)
        return super().opted_out(numbers)


@pytest.mark.parametrize("dry_run", [False, True], ids=["send", "dry-run"])
def test_a_listed_number_is_rejected_opted_out_with_its_code_and_never_sent(dry_run):
    fakes = Fakes([recipient(r) for r in range(2, 8)] + [rejected(8)], dry_run=dry_run)
    fakes.optouts.numbers = {number(3), number(6)}
    result = run(fakes)
    items = fakes.results.items[UPLOAD.job_id]
    assert result.end is RunEnd.COMPLETED
    assert {row for row, item in items.items() if item.reason == "opted out"} == {3, 6}
    assert {items[3].status, items[6].status} == {Status.REJECTED}
    assert not {3, 6} & set(fakes.gateway.sent_rows)
    assert result.counts["REJECTED"] == 3
    assert all(len(asked) <= 2 for asked in fakes.optouts.lookups)  # one lookup a batch, its numbers only


def test_an_opt_out_added_while_the_job_runs_holds_for_every_batch_after_it():
    rows = [recipient(r, content=f"text {r % 2}") for r in range(2, 14)]
    fakes = Fakes(rows)
    fakes.optouts = AddedWhileRunning(number(12), after=2)  # two batches screened and under way before it
    fakes.optouts.numbers.add(number(2))
    assert run(fakes, in_flight=1).end is RunEnd.COMPLETED
    items = fakes.results.items[UPLOAD.job_id]
    assert items[12].status is Status.REJECTED
    assert items[12].reason == "opted out"
    assert items[2].reason == "opted out"
    assert sorted(fakes.gateway.sent_rows) == [*list(range(3, 12)), 13]


def test_a_batch_whose_every_number_is_listed_makes_no_call_and_keeps_its_place():
    fakes = Fakes([recipient(r) for r in range(2, 8)])
    fakes.optouts.numbers = {number(4), number(5)}
    run(fakes)
    assert (4, 5) not in fakes.gateway.calls
    assert len(fakes.gateway.calls) == 2
    assert fakes.job.checkpoint.row == 7


def test_the_screen_moves_listed_recipients_to_rejected_rows_and_asks_nothing_for_a_batch_without_a_call():
    from smsdrop.models import Batch, CallItem, Position

    one = CallItem("hi", "SHOP", (recipient(2), recipient(3)))
    two = CallItem("bye", "SHOP", (recipient(4),))
    batches = [Batch(0, (one, two), (rejected(5),), Position(50, 5)), Batch(1, (), (rejected(6),), Position(60, 6))]
    optouts = FakeOptOuts({number(3), number(4)})
    first, second = screened(batches, optouts)
    assert [r.row for r in first.recipients] == [2]
    assert [(e.row, e.code, e.reason) for e in first.rejected] == [
        (5, "letters", "number contains letters"),
        (3, Rejection.OPTED_OUT, "opted out"),
        (4, Rejection.OPTED_OUT, "opted out"),
    ]
    assert second is batches[1]
    assert optouts.lookups == [{number(2), number(3), number(4)}]
