"""When a job ends: the results file and summary in reports/; dry runs that check everything and send nothing."""

import csv
import io
import json

import pytest

from smsdrop.send.runner import RunEnd
from tests.fixtures.jobs import csv_of, numbers


def read(harness, key):
    return harness.aws.client("s3").get_object(Bucket=harness.aws.names.bucket, Key=key)["Body"].read().decode()


def campaign(count):
    rows = [(n, "Your code is 4471", "BANK", f"r{i}") for i, n in enumerate(numbers(count))]
    return csv_of([*rows, ("12ab", "hi", "", '=HYPERLINK("http://x")')])


def test_a_finished_job_writes_one_results_line_per_row_and_a_summary(harness):
    upload = harness.upload(campaign(40), key="incoming/nov/list.csv")
    result = harness.run(upload)
    assert result.end is RunEnd.COMPLETED
    assert result.reports.results == "reports/nov/list.results.csv"
    lines = list(csv.DictReader(io.StringIO(read(harness, result.reports.results))))
    assert [int(line["row"]) for line in lines] == list(range(2, 43))
    assert {line["status"] for line in lines[:40]} == {"SUBMITTED"}
    assert all(line["msgId"] for line in lines[:40])
    assert lines[40]["orderId"] == '\'=HYPERLINK("http://x")'
    summary = json.loads(read(harness, result.reports.summary))
    assert summary["counts"] == {"SUBMITTED": 40, "REJECTED": 1}
    assert summary["rows"] == 41
    assert summary["cost"] == {"parts": 40, "estimated": "0.0880"}  # 40 one-part texts at 0.0022 to +91
    assert harness.job(upload)["results_key"] == result.reports.results


def test_a_stopped_job_still_writes_its_reports(harness):
    harness.simulator.set_faults(balance=0)
    upload = harness.upload(campaign(10))
    result = harness.run(upload)
    assert result.end is RunEnd.STOPPED
    summary = json.loads(read(harness, result.reports.summary))
    assert summary["stop_reason"].startswith("-10")
    assert summary["counts"] == {"FAILED": 10, "REJECTED": 1}


@pytest.mark.parametrize("how", ["folder", "metadata"], ids=["dry-run-folder", "dry-run-metadata"])
def test_a_dry_run_validates_and_batches_but_sends_nothing(harness, how):
    if how == "folder":
        upload = harness.upload(campaign(250), key="incoming/dry-run/campaign.csv")
    else:
        upload = harness.upload(campaign(250), metadata={"dry-run": "true"})
    result = harness.run(upload)
    assert result.end is RunEnd.COMPLETED
    assert result.counts == {"VALIDATED": 250, "REJECTED": 1}
    assert harness.simulator.audit().calls == 0
    assert harness.job(upload)["dry_run"] is True
    summary = json.loads(read(harness, result.reports.summary))
    assert summary["dry_run"] is True
    assert summary["cost"] == {"parts": 250, "estimated": "0.5500"}  # the estimate before anything is sent
