"""The report page in S3: written when a job ends, redrawn with new counts when delivery reports move them."""

import json
import time

import pytest

from smsdrop.delivery.push import PushReceiver
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_poller
from smsdrop.output.page_files import PageFiles, data_key
from smsdrop.output.page_refresh import REFRESH_EVERY_S, PageRefresher
from smsdrop.send.runner import RunEnd
from smsdrop.store.delivery import DeliveryStore
from tests.fixtures.jobs import csv_of, numbers
from tests.unit.test_delivery_push import TOKEN, url_event


def read(harness, key):
    return harness.aws.client("s3").get_object(Bucket=harness.aws.names.bucket, Key=key)["Body"].read().decode()


def counts_shown(html):
    """The counts table's numbers, as the page writes them."""
    rows = html.split('<tr data-status="')[1:]
    return {row.split('"')[0]: int(row.split('<td class="n">')[1].split("<")[0].replace(",", "")) for row in rows}


def finished_job(harness, count=30):
    rows = [(n, "Your code is 4471", "BANK", f"r{i}") for i, n in enumerate(numbers(count))]
    upload = harness.upload(csv_of([*rows, ("12ab", "hi", "", "bad")]), key="incoming/nov/list.csv")
    result = harness.run(upload)
    assert result.end is RunEnd.COMPLETED
    return upload, result


def refresher(harness):
    return PageRefresher(harness.aws.client("s3"), harness.aws.client("dynamodb"), harness.aws.names.table)


def test_a_finished_job_writes_its_page_beside_the_results_and_the_data_to_draw_it_again(harness):
    upload, result = finished_job(harness)
    assert result.reports.page == "reports/nov/list.html"
    html = read(harness, result.reports.page)
    assert counts_shown(html) == {"SUBMITTED": 30, "REJECTED": 1, "FAILED": 0, "UNKNOWN": 0}
    assert '<a href="list.results.csv">' in html
    data = json.loads(read(harness, data_key(result.reports.page)))
    assert data["summary"]["counts"] == {"SUBMITTED": 30, "REJECTED": 1}
    assert data["summary"]["cost"] == {"parts": 30, "estimated": "0.0660"}
    head = harness.aws.client("s3").head_object(Bucket=upload.bucket, Key=result.reports.page)
    assert head["ContentType"] == "text/html; charset=utf-8"


def test_a_page_that_cannot_be_written_does_not_keep_the_job_from_ending(harness, monkeypatch):
    def broken(self, bucket, data):
        raise RuntimeError("S3 said no")

    monkeypatch.setattr(PageFiles, "write", broken)
    upload, result = finished_job(harness)
    assert harness.job(upload)["state"] == "COMPLETED"
    assert json.loads(read(harness, result.reports.summary))["counts"] == {"SUBMITTED": 30, "REJECTED": 1}


def test_the_delivery_poller_redraws_the_page_of_a_job_whose_counts_it_moved(harness):
    _, result = finished_job(harness)
    later = time.time() + 120
    poller = build_poller(
        harness.settings,
        DeliverySettings(),
        harness.aws.client("dynamodb"),
        harness.aws.client("secretsmanager"),
        lambda: later,
        s3=harness.aws.client("s3"),
    )
    summary = poller.run(lambda: 900_000)
    assert (summary.delivered, summary.pages_refreshed) == (30, 1)
    html = read(harness, result.reports.page)
    assert counts_shown(html) == {"SUBMITTED": 0, "REJECTED": 1, "FAILED": 0, "UNKNOWN": 0, "DELIVERED": 30}
    assert "counts updated from delivery reports" in html


def test_a_page_is_redrawn_at_most_once_per_interval_whoever_asks(harness):
    upload, _ = finished_job(harness)
    now = int(time.time())
    pages = refresher(harness)
    assert pages.refresh(upload.job_id, now)
    assert not refresher(harness).refresh(upload.job_id, now + REFRESH_EVERY_S - 1)
    assert pages.refresh(upload.job_id, now + REFRESH_EVERY_S)
    assert harness.job(upload)["page_refreshed_at"] == now + REFRESH_EVERY_S


def test_a_running_job_has_no_page_to_redraw(harness):
    # An invocation out of time still sends one batch (100 numbers here) before it hands over: 250 rows stay RUNNING.
    upload = harness.upload(csv_of([(n, "hi", "", f"r{i}") for i, n in enumerate(numbers(250))]))
    assert harness.run(upload, remaining_ms=lambda: 0).end is RunEnd.CONTINUED
    assert not refresher(harness).refresh(upload.job_id, int(time.time()))
    assert "page_refreshed_at" not in harness.job(upload)


def test_a_job_nobody_knows_gets_no_item_and_no_page(harness):
    assert not refresher(harness).refresh("no-such-job", int(time.time()))
    table = harness.aws.client("dynamodb").scan(TableName=harness.aws.names.table)
    assert table["Count"] == 0


def test_a_page_whose_data_is_gone_is_an_error_for_the_caller_to_log(harness):
    upload, result = finished_job(harness)
    harness.aws.client("s3").delete_object(Bucket=upload.bucket, Key=data_key(result.reports.page))
    with pytest.raises(harness.aws.client("s3").exceptions.NoSuchKey):
        refresher(harness).refresh(upload.job_id, int(time.time()))


def test_pushed_reports_redraw_the_page_at_most_once_per_interval_one_conditional_write_per_job(harness, monkeypatch):
    upload, result = finished_job(harness)
    dynamodb = harness.aws.client("dynamodb")
    items = dynamodb.scan(TableName=harness.aws.names.table)["Items"]
    msg_ids = sorted(item["msg_id"]["S"] for item in items if "msg_id" in item)
    assert len(msg_ids) == 30
    now = [int(time.time()) + 120]
    store = DeliveryStore(dynamodb, harness.aws.names.table)
    receiver = PushReceiver(store, lambda: TOKEN, lambda: now[0], pages=refresher(harness))
    asked, real = [], PageRefresher.refresh
    monkeypatch.setattr(
        PageRefresher, "refresh", lambda self, job_id, at: asked.append(job_id) or real(self, job_id, at)
    )

    def push(ids):
        body = json.dumps([harness.simulator.push_body(m) | {"status": 0} for m in ids])
        assert receiver.handle(url_event(body=body))["statusCode"] == 200
        return counts_shown(read(harness, result.reports.page))["DELIVERED"]

    assert push(msg_ids[:10]) == 10  # ten reports of one job in one request: one conditional write, one redraw
    assert asked == [upload.job_id]
    assert push(msg_ids[10:20]) == 10  # within REFRESH_EVERY_S: the write loses, the page is not redrawn
    now[0] += REFRESH_EVERY_S
    assert push(msg_ids[20:]) == 30
    assert push(msg_ids[:5]) == 30  # duplicates move no counts: not even the conditional write
    assert asked == [upload.job_id] * 3
    assert harness.job(upload)["page_refreshed_at"] == now[0]
