"""The results file as the job runs, end to end against moto server behind AWS's limits: one line a row in file
order through hand-overs and a crash, parts of 5 MiB in a real multipart upload, nothing left behind."""

import csv
import io
import json
import threading
import time
from dataclasses import replace

import pytest

from smsdrop.output.results_file import ReportKeys
from smsdrop.output.stream_state import STATE_PREFIX
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.store.results import ResultWriter
from smsdrop.store.schema import PARTITION, SORT
from tests.fixtures.jobs import csv_of, numbers
from tests.integration.test_job_runner import Crash, CrashingGateway, mixed_rows


def lines_of(harness, upload):
    body = harness.aws.client("s3").get_object(Bucket=upload.bucket, Key=ReportKeys.of(upload).results)["Body"]
    return list(csv.DictReader(io.StringIO(body.read().decode(), newline="")))


def summary_of(harness, upload):
    s3 = harness.aws.client("s3")
    return json.loads(s3.get_object(Bucket=upload.bucket, Key=ReportKeys.of(upload).summary)["Body"].read())


def state_objects(harness):
    listing = harness.aws.client("s3").list_objects_v2(Bucket=harness.aws.names.bucket, Prefix=STATE_PREFIX)
    return [entry["Key"] for entry in listing.get("Contents", [])]


def test_a_file_handed_over_again_and_again_gets_one_line_a_row_in_file_order(harness):
    upload = harness.upload(csv_of(mixed_rows(1200)))

    def two_batches_each():
        checks = iter([10_000, 10_000])
        return lambda: next(checks, 0)

    results = harness.run_to_end(upload, two_batches_each)

    assert results[-1].end is RunEnd.COMPLETED
    assert len(results) >= 5
    items = harness.assert_promises_kept(upload, 1200)
    lines = lines_of(harness, upload)
    assert [int(line["row"]) for line in lines] == list(range(2, 1202))
    assert {line["msgId"].removeprefix("'") for line in lines} == {
        item["msg_id"] for item in items
    }  # the ' a spreadsheet needs
    assert summary_of(harness, upload)["counts"] == {"SUBMITTED": 1200}
    assert state_objects(harness) == []
    assert "recorded" not in harness.job(upload)  # nothing is recorded past the end


def test_a_crash_then_a_retry_still_ends_with_every_row_once_in_the_file(harness):
    upload = harness.upload(csv_of(mixed_rows(1500)))
    settings, ports = harness.ports(in_flight=2)
    with pytest.raises(Crash):
        harness.run(upload, JobRunner(settings, replace(ports, gateway=CrashingGateway(ports.gateway, 7, True))))

    later = harness.runner(clock=lambda: time.time() + 120)
    assert harness.run(upload, later).end is RunEnd.COMPLETED

    items = harness.assert_promises_kept(upload, 1500)
    lines = lines_of(harness, upload)
    assert [int(line["row"]) for line in lines] == list(range(2, 1502))
    assert {int(line["row"]): line["status"] for line in lines} == {int(i["row"]): i["status"] for i in items}
    assert summary_of(harness, upload)["counts"] == dict(sorted(harness.job(upload)["counts"].items()))


class MemoryTable:
    """BatchWriteItem into a dict: rows recorded instantly, so a file of 5 MiB of lines takes seconds."""

    def __init__(self):
        self.items, self.lock = {}, threading.Lock()

    def batch_write_item(self, RequestItems):  # noqa: N803 - boto3's name
        with self.lock:
            for requests in RequestItems.values():
                for request in requests:
                    item = request["PutRequest"]["Item"]
                    self.items[item[PARTITION]["S"], item[SORT]["S"]] = item
        return {"UnprocessedItems": {}}


@pytest.mark.slow
def test_a_file_of_more_than_5_mib_of_lines_goes_up_in_parts_noted_on_the_job_item(harness):
    rows = [(n, "Your order has shipped", "SHOP", f"order-{i:040d}") for i, n in enumerate(numbers(75_000))]
    upload = harness.upload(csv_of(rows))
    settings, ports = harness.ports(numbers_per_call=1000)
    memory = ResultWriter(MemoryTable(), settings.results_table, settings.ttl_days)
    result = harness.run(upload, JobRunner(settings, replace(ports, results=memory)))

    assert result.end is RunEnd.COMPLETED
    lines = lines_of(harness, upload)
    assert [int(line["row"]) for line in lines] == list(range(2, 75_002))
    job = harness.job(upload)
    assert len(job["results_etags"].value) == 16  # one 5 MiB part went up as the job ran; the last one closed it
    assert 0 < int(job["results_through"]) < 75_001
    assert state_objects(harness) == []
