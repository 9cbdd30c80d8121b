"""Caps and check-first on the runner's fakes: a file over MAX_ROWS_PER_JOB or MAX_COST_PER_JOB, or one that cannot
be read to its last row, is refused whole with nothing sent; exactly at a cap it is sent."""

from dataclasses import replace
from decimal import Decimal

import pytest

from smsdrop.config import ConfigError, Settings
from smsdrop.output.sms_parts import PriceTable
from smsdrop.send.check_first import Caps, CheckedFirst
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.store.jobs import JobState
from tests.fixtures.fakes import NOW, UPLOAD, FakeReader, Fakes, after, recipient, rejected, settings

PRICES = PriceTable.from_json('{"91": 0.01, "default": 0.05}')
ROWS = [recipient(r) for r in range(2, 12)] + [rejected(12)]  # 11 data rows, 10 to send: 0.10 at 0.01 a part


def run(fakes, caps, refuse_at=None):
    """One invocation whose reader is checked first as `caps` say (UPLOAD is 1,000 bytes)."""

    def reader(upload, job_id):
        return CheckedFirst(FakeReader(fakes.rows, refuse_at), lambda: FakeReader(fakes.rows, refuse_at), caps, upload)

    ports = replace(fakes.ports(), reader_factory=reader)
    return JobRunner(settings(), ports, clock=lambda: NOW).run(UPLOAD, lambda: 900_000)


@pytest.mark.parametrize(
    ("caps", "error"),
    [
        (Caps(PRICES, max_rows=10), "11 rows is over MAX_ROWS_PER_JOB 10: nothing was sent"),
        (Caps(PRICES, max_cost=Decimal("0.09")), "estimated cost 0.10 (11 rows) is over MAX_COST_PER_JOB 0.09"),
    ],
    ids=["rows-over-by-one", "cost-over"],
)
def test_a_file_over_a_cap_is_refused_whole_with_its_figures_and_nothing_sent(caps, error):
    fakes = Fakes(ROWS)
    result = run(fakes, caps)
    assert result.end is RunEnd.FAILED
    assert error in result.error
    assert fakes.gateway.calls == []
    assert fakes.results.items_of(UPLOAD.job_id) == {}
    assert fakes.job.state is JobState.FAILED
    (summary,) = fakes.results_file.summaries
    assert summary["intake"]["guards"]["checked_first"] == {"rows": 11, "estimated_cost": "0.10"}


@pytest.mark.parametrize(
    "caps",
    [Caps(PRICES, max_rows=11), Caps(PRICES, max_cost=Decimal("0.10")), Caps(PRICES, max_rows=11, max_cost=1)],
    ids=["rows-at-the-cap", "cost-at-the-cap", "both-within"],
)
def test_a_file_exactly_at_a_cap_is_sent(caps):
    fakes = Fakes(ROWS)
    assert run(fakes, caps).end is RunEnd.COMPLETED
    assert len(fakes.gateway.sent_rows) == 10
    (summary,) = fakes.results_file.summaries
    assert summary["intake"]["guards"]["max_rows_per_job"] == (caps.max_rows or None)


def test_check_first_refuses_a_file_whose_last_row_cannot_be_read_before_anything_is_sent():
    fakes = Fakes(ROWS)
    result = run(fakes, Caps(PRICES, check_first_below=1001), refuse_at=12)
    assert result.end is RunEnd.FAILED
    assert "row 12 is not closed" in result.error
    assert fakes.gateway.calls == []
    assert fakes.results.items_of(UPLOAD.job_id) == {}


def test_a_file_too_large_to_check_first_is_refused_where_its_problem_is_with_the_rows_before_recorded():
    fakes = Fakes(ROWS)
    result = run(fakes, Caps(PRICES, check_first_below=1000), refuse_at=12)
    assert result.end is RunEnd.FAILED
    assert sorted(fakes.gateway.sent_rows) == list(range(2, 12))


def test_a_continuation_from_a_checkpoint_trusts_the_check_made_at_the_start():
    def never():
        raise AssertionError("checked again")

    reader = CheckedFirst(FakeReader(ROWS), never, Caps(PRICES, max_rows=1), UPLOAD)
    assert [row.row for row in reader.rows(after(10))] == [11, 12]
    assert reader.report()["guards"]["checked_first"] is None


@pytest.mark.parametrize(
    ("env", "capped", "checks_first"),
    [
        ({}, False, True),
        ({"CHECK_FIRST_BELOW_BYTES": "1000"}, False, False),
        ({"CHECK_FIRST_BELOW_BYTES": "0", "MAX_ROWS_PER_JOB": "12000"}, True, True),
        ({"CHECK_FIRST_BELOW_BYTES": "0", "MAX_COST_PER_JOB": "25.50"}, True, True),
        ({"CHECK_FIRST_BELOW_BYTES": "0", "MAX_COST_PER_JOB": "0"}, False, False),
    ],
    ids=["default-size", "file-not-below-the-size", "row-cap", "cost-cap", "cost-zero-is-no-cap"],
)
def test_a_cap_always_checks_first_and_without_one_the_size_decides(env, capped, checks_first):
    caps = Caps.from_settings(Settings.from_env(env), PRICES)
    assert caps.capped is capped
    assert caps.checks_first(UPLOAD) is checks_first


def test_a_cost_cap_that_is_no_number_is_a_configuration_error():
    with pytest.raises(ConfigError, match="MAX_COST_PER_JOB"):
        Caps.from_settings(Settings.from_env({"MAX_COST_PER_JOB": "ten"}), PRICES)
