"""A job must always end (issue 13): errors no retry can heal end it FAILED with the rows recorded and a results
file; a job claimed too often without progress ends FAILED; rows an earlier holder may have sent are recorded
before a refusal, and rows without a result are always named in the job's error."""

from collections import Counter

import pytest
from botocore.exceptions import ClientError

from smsdrop.models import UNKNOWN_REASON, Status
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.store.jobs import JobState
from tests.fixtures.fake_jobs import StoredJob
from tests.fixtures.fakes import NOW, UPLOAD, FakeReader, FakeResults, Fakes, Stored, after, recipient
from tests.fixtures.fakes import settings as fake_settings

NO_DEADLINE = lambda: 900_000  # noqa: E731


def run(fakes, **changes):
    return JobRunner(fake_settings(**changes), fakes.ports(), clock=lambda: NOW).run(UPLOAD, NO_DEADLINE)


def client_error(code, message="refused"):
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


class ResultsRefusingTheSecondWrite(FakeResults):
    def __init__(self, error):
        super().__init__()
        self.error, self.writes = error, 0

    def write(self, job_id, results, now):
        self.writes += 1
        if self.writes == 2:
            raise self.error
        return super().write(job_id, results, now)


class ReaderRaising(FakeReader):
    def __init__(self, error):
        super().__init__([])
        self.error = error

    def rows(self, start=None):
        raise self.error


PERMANENT = [
    (client_error("ValidationException", "Item size has exceeded the maximum allowed size"), "DynamoDB refused"),
    (UnicodeEncodeError("utf-8", "\udce9", 0, 1, "surrogates not allowed"), "text that cannot be encoded"),
]


@pytest.mark.parametrize(("error", "reason"), PERMANENT, ids=["item-too-large", "unicode-error"])
def test_an_error_no_retry_can_heal_ends_the_job_failed_with_the_reason_and_a_results_file(error, reason):
    fakes = Fakes([recipient(r) for r in range(2, 10)], results=ResultsRefusingTheSecondWrite(error))

    result = run(fakes, in_flight=1)

    assert result.end is RunEnd.FAILED
    assert result.error.startswith(reason)
    assert "rows 4-5 were in flight without a result: they may have been sent" in result.error
    assert (fakes.job.state, fakes.job.error) == (JobState.FAILED, result.error)
    (summary,) = fakes.results_file.summaries
    assert (summary["state"], summary["counts"]) == ("FAILED", {"SUBMITTED": 2})


def test_an_upload_whose_version_is_gone_ends_the_job_failed_instead_of_raising_on_every_retry():
    fakes = Fakes([recipient(r) for r in range(2, 6)])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(UPLOAD.job_id, owner=None, lease_expires=NOW - 1, checkpoint=after(3))
    fakes.results.items[UPLOAD.job_id] = dict.fromkeys((2, 3), Stored(Status.SUBMITTED, "", "1.0"))
    fakes.job.counts.update({"SUBMITTED": 2})
    gone = client_error("NoSuchVersion", "The specified version does not exist.")
    fakes._reader = lambda upload, job_id: ReaderRaising(gone)

    result = run(fakes)

    assert result.end is RunEnd.FAILED
    assert result.error.startswith("the uploaded file's version is gone (NoSuchVersion")
    assert fakes.results_file.summaries[0]["counts"] == {"SUBMITTED": 2}


def test_a_results_file_that_cannot_be_written_still_ends_the_job_and_says_why():
    fakes = Fakes([recipient(r) for r in range(2, 6)])

    def unwritable(upload, summary):
        raise UnicodeEncodeError("utf-8", "\udce9", 0, 1, "surrogates not allowed")

    fakes.results_file.write = unwritable

    result = run(fakes)

    assert (result.end, fakes.job.state) == (RunEnd.COMPLETED, JobState.COMPLETED)
    assert result.error.startswith("results file not written: text that cannot be encoded")
    assert "results_key" not in fakes.job.extra


def test_a_job_claimed_again_and_again_without_progress_ends_failed_with_the_last_error():
    fakes = Fakes([recipient(r) for r in range(2, 6)])
    readers = []

    def broken_reader(upload, job_id):
        readers.append(ReaderRaising(RuntimeError("a bug")))
        return readers[-1]

    fakes._reader = broken_reader
    for _ in range(5):
        with pytest.raises(RuntimeError, match="a bug"):
            run(fakes)

    result = run(fakes)

    assert result.end is RunEnd.FAILED
    assert result.error == "no progress after 5 attempts: RuntimeError: a bug"
    assert len(readers) == 5  # the sixth claim reads nothing
    assert (fakes.job.state, fakes.results_file.summaries[0]["state"]) == (JobState.FAILED, "FAILED")


def test_a_checkpoint_that_moves_starts_the_no_progress_count_again():
    fakes = Fakes([recipient(r) for r in range(2, 10)])
    checks = iter([10_000])
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id, owner=None, lease_expires=NOW - 1, claims_without_progress=3
    )

    first = JobRunner(fake_settings(in_flight=1), fakes.ports(), clock=lambda: NOW).run(UPLOAD, lambda: next(checks, 0))

    assert first.end is RunEnd.CONTINUED
    assert fakes.job.claims_without_progress == 0
    assert run(fakes).end is RunEnd.COMPLETED


def test_rows_an_earlier_holder_may_have_sent_are_recorded_unknown_before_a_refusal_and_the_rest_named():
    fakes = Fakes([recipient(r) for r in range(2, 12)], refuse_at=8)
    fakes.store.jobs[UPLOAD.job_id] = StoredJob(
        UPLOAD.job_id, owner="died", lease_expires=NOW - 300, checkpoint=after(3), in_flight={"1.1": (4, 5)}
    )
    fakes.job.counts.update({"SUBMITTED": 2})
    fakes.results.items[UPLOAD.job_id] = dict.fromkeys((2, 3), Stored(Status.SUBMITTED, "", "1.0"))

    result = run(fakes, numbers_per_call=3, in_flight=1)

    assert result.end is RunEnd.FAILED
    statuses = {row: item.status for row, item in fakes.results.items[UPLOAD.job_id].items()}
    assert {row: statuses.get(row) for row in (4, 5)} == dict.fromkeys((4, 5), Status.UNKNOWN)
    assert fakes.results.items[UPLOAD.job_id][4].reason == UNKNOWN_REASON
    assert Counter(statuses.values()) == {Status.SUBMITTED: 2, Status.UNKNOWN: 2}
    assert fakes.gateway.calls == []  # rows 6 and 7 waited for a fuller call when row 8 was refused
    assert result.error.startswith("a quoted field in row 8 is not closed properly")
    assert result.error.endswith("; 2 rows have no result")
