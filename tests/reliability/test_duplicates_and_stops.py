"""Duplicate S3 events delivered at once and while the job runs; what makes a re-upload a new job; and a balance
that runs out mid-file: the job stops, every unsent row says why, and delivering the events again sends nothing."""

import io
import threading
from collections import Counter

import pytest

from smsdrop.intake.uploads import Upload
from smsdrop.send.runner import RunEnd
from tests.reliability.support import campaign, check_promises, stored_items, stored_job

NOT_SENT = "not sent: job stopped ("


def test_duplicate_events_delivered_at_once_while_the_job_runs_and_after_it_ended_run_it_once(harness, simulator):
    upload = harness.upload(campaign(3000, bad_every=50))
    ends, lock, threads = Counter(), threading.Lock(), []

    def deliver(barrier=None):
        if barrier is not None:
            barrier.wait()
        end = harness.run(upload).end  # a fresh runner: a cold start of its own
        with lock:
            ends[end] += 1

    def start(*args):
        thread = threading.Thread(target=deliver, args=args)
        threads.append(thread)
        thread.start()

    at_once = threading.Barrier(8)
    # The winner's calls (of 30) during which another duplicate arrives: early enough that the job is still running
    # when that duplicate claims, even on a loaded machine (at call 26 it once found the job finished).
    during = {2, 4, 6, 9, 11, 14}
    seen = Counter()

    def duplicate_during(_):
        with lock:
            seen["calls"] += 1
            arrives = seen["calls"] in during
        if arrives:
            start()

    simulator.on_call = duplicate_during
    for _ in range(8):
        start(at_once)
    while any(t.is_alive() for t in threads):
        for thread in list(threads):
            thread.join(120)
    for _ in range(2):
        deliver()

    assert ends == {RunEnd.COMPLETED: 1, RunEnd.BUSY: 7 + len(during), RunEnd.ALREADY_FINISHED: 2}
    table = harness.aws.names.table
    state = check_promises(simulator, stored_items(table, upload.job_id), stored_job(table, upload.job_id), 3000)
    assert state.statuses == {"SUBMITTED": 2940, "REJECTED": 60}
    assert len(simulator.audit().accepted) == 2940


def test_identical_bytes_uploaded_again_to_the_versioned_bucket_are_a_new_job_that_sends_again_by_design(
    harness, simulator
):
    body = campaign(200)
    first, second = harness.upload(body), harness.upload(body)
    assert (first.key, first.etag) == (second.key, second.etag)
    assert first.version_id != second.version_id
    assert first.job_id != second.job_id
    assert harness.run(first).end is harness.run(second).end is RunEnd.COMPLETED
    assert harness.run(first).end is harness.run(second).end is RunEnd.ALREADY_FINISHED
    assert len(simulator.audit().accepted) == 400
    assert simulator.audit().duplicate_order_ids == 200  # the same orderIds, sent once per upload


def test_without_versioning_an_upload_is_known_by_its_etag_so_identical_bytes_again_are_the_same_job(
    harness, simulator
):
    s3 = harness.aws.client("s3")
    bucket = f"{harness.aws.names.bucket}-unversioned"
    s3.create_bucket(Bucket=bucket)

    def upload(body):
        answer = s3.put_object(Bucket=bucket, Key="incoming/c.csv", Body=io.BytesIO(body))
        assert "VersionId" not in answer
        return Upload(bucket, "incoming/c.csv", None, answer["ETag"], len(body))

    first = upload(campaign(200))
    assert harness.run(first).end is RunEnd.COMPLETED
    again = upload(campaign(200))
    assert again.job_id == first.job_id
    assert harness.run(again).end is RunEnd.ALREADY_FINISHED
    changed = upload(campaign(201))
    assert changed.job_id != first.job_id
    assert harness.run(changed).end is RunEnd.COMPLETED
    assert len(simulator.audit().accepted) == 401


@pytest.mark.parametrize("in_flight", [1, 4], ids=["one-batch-in-flight", "four-batches-in-flight"])
def test_a_balance_that_runs_out_mid_file_stops_the_job_fails_every_unsent_row_with_the_reason_and_resends_nothing(
    harness, simulator, in_flight
):
    simulator.set_faults(balance=834)
    upload = harness.upload(campaign(2000, bad_every=25))

    def few_batches():
        checks = iter([60_000] * 8)
        return lambda: next(checks, 0)

    runner_settings = {"in_flight": in_flight}
    results = [harness.run(upload, harness.runner(**runner_settings), few_batches())]
    while message := harness.next_continuation():
        results.append(harness.run(Upload.from_message(message), harness.runner(**runner_settings), few_batches()))

    assert len(results) > 2  # the stop is carried over from invocation to invocation
    assert results[-1].end is RunEnd.STOPPED
    job = stored_job(harness.aws.names.table, upload.job_id)
    assert job["state"] == "STOPPED"
    assert job["stop_reason"].startswith("-10 ")
    assert " at row " in job["stop_reason"]
    items = stored_items(harness.aws.names.table, upload.job_id)
    state = check_promises(simulator, items, job, 2000)
    accepted = len(simulator.audit().accepted)
    assert state.statuses["SUBMITTED"] == accepted <= 834
    assert state.statuses["REJECTED"] == 80
    failed = [i for i in items if i["status"] == "FAILED"]
    assert len(failed) == 2000 - 80 - accepted
    told = [i for i in failed if i.get("provider_code") == "-10"]  # the calls the provider answered -10
    assert told
    assert all("balance" in i["reason"] for i in told)
    unsent = [i for i in failed if i.get("provider_code") != "-10"]
    assert all(i["reason"] == f"{NOT_SENT}{job['stop_reason']})" for i in unsent)
    assert unsent  # rows after the stop were never sent, and say so
    assert min(int(i["row"]) for i in unsent) > min(int(i["row"]) for i in told)

    calls = len(simulator.calls)
    event_again = harness.run(upload, harness.runner(**runner_settings))
    continuation_again = harness.run(Upload.from_message(upload.to_message()), harness.runner())
    assert event_again.end is continuation_again.end is RunEnd.ALREADY_FINISHED
    assert (len(simulator.calls), len(simulator.audit().accepted)) == (calls, accepted)
