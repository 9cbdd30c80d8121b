"""An operator's actions on the job item (store.controls) against moto server: each a conditional update, refused
when it does not apply; a mark in flight refused once a cancel or pause is asked; a bounded history."""

import time

import pytest

from smsdrop.intake.uploads import Upload
from smsdrop.models import Position
from smsdrop.store.controls import JobControls, Refused
from smsdrop.store.jobs import JobState, JobStore, LeaseLost
from smsdrop.store.lease import Completions, Lease
from smsdrop.store.steering import HISTORY_LIMIT, Steered, with_entry
from smsdrop.store.updates import Update

UPLOAD = Upload("bucket", "incoming/campaign.csv", "v1", '"etag"', 1000)


@pytest.fixture
def store(aws):
    return JobStore(aws.client("dynamodb"), aws.names.table)


@pytest.fixture
def controls(aws):
    return JobControls(aws.client("dynamodb"), aws.names.table)


def claimed(store, owner="holder"):
    now = time.time()
    return store.claim(UPLOAD, owner, now, 600, int(now) + 3600)


def test_a_cancel_refuses_the_next_mark_in_flight_and_says_who_asked(store, controls):
    lease = claimed(store)
    lease.mark_in_flight("1.0", (2, 3), time.time() + 600)

    assert controls.cancel(UPLOAD.job_id, "asha") is None  # a running job sees it itself

    with pytest.raises(Steered) as refused:
        lease.mark_in_flight("1.1", (4, 5), time.time() + 600)
    assert (refused.value.cancel["by"], refused.value.pause) == ("asha", None)
    assert set(store.get(UPLOAD.job_id).in_flight) == {"1.0"}  # nothing marked after the cancel
    with pytest.raises(Refused, match="cancel already requested"):
        controls.cancel(UPLOAD.job_id, "ravi")


def test_a_mark_refused_because_another_holder_took_the_job_is_a_lost_lease_not_a_request(store, controls):
    lease = claimed(store)
    store.apply_held(UPLOAD.job_id, "holder", Update().set("lease_owner = :other", {":other": "someone-else"}))
    with pytest.raises(LeaseLost):
        lease.mark_in_flight("1.0", (2, 3), time.time() + 600)


def test_a_pause_taken_sleeps_out_of_the_sweeps_partition_and_a_cancel_wakes_it_to_record_the_rest(store, controls):
    lease = claimed(store)
    lease.complete(Completions(checkpoint=Position(100, 10)), time.time() + 600)
    controls.pause(UPLOAD.job_id, "asha")
    with pytest.raises(Refused, match="being cancelled or paused already"):
        controls.pause(UPLOAD.job_id, "asha")

    assert lease.pause(time.time(), Position(100, 10), with_entry((), "paused", time.time(), by="asha"))

    paused = controls.view(UPLOAD.job_id)
    assert (paused.state, paused.item["active"], "lease_owner" in paused.item) == (JobState.PAUSED, "PAUSED", False)
    assert [job.record.job_id for job in controls.active()] == [UPLOAD.job_id]  # listed, as PAUSED
    assert controls.cancel(UPLOAD.job_id, "ravi") == UPLOAD  # woken: the caller queues its continuation
    woken = controls.view(UPLOAD.job_id)
    assert (woken.state, woken.item["active"], woken.record.cancel_requested["by"]) == (
        JobState.RUNNING,
        "RUNNING",
        "ravi",
    )
    assert woken.record.pause_requested is None
    assert isinstance(claimed(store, "next"), Lease)  # the sweep or its continuation takes it at once


def test_a_resume_before_the_holder_pauses_withdraws_the_request_and_the_holder_hands_over(store, controls):
    lease = claimed(store)
    controls.pause(UPLOAD.job_id, "asha")

    assert controls.resume(UPLOAD.job_id, "asha") is None  # nothing to queue: the holder goes on

    assert controls.view(UPLOAD.job_id).record.pause_requested is None
    assert lease.pause(time.time(), None, []) is False
    assert controls.view(UPLOAD.job_id).state is JobState.RUNNING


def test_a_resume_of_a_stopped_job_resends_from_the_top_with_a_new_results_file(store, controls):
    lease = claimed(store)
    lease.complete(Completions(checkpoint=Position(900, 90)), time.time() + 600)
    lease.record_stop("-10 insufficient balance at row 40")
    lease.finish(JobState.STOPPED, time.time(), 89, extra={"results_upload": "u1", "history": []})
    with pytest.raises(Refused, match="only a RUNNING job can be paused"):
        controls.pause(UPLOAD.job_id, "asha")

    assert controls.resume(UPLOAD.job_id, "asha") == UPLOAD

    job = controls.view(UPLOAD.job_id)
    assert (job.state, job.record.resend, job.record.checkpoint, job.record.stop_reason) == (
        JobState.RUNNING,
        True,
        None,
        "",
    )
    assert "results_upload" not in job.item
    assert [(e["event"], e["by"], e["was"]) for e in job.record.history] == [("resumed", "asha", "STOPPED")]
    with pytest.raises(Refused, match="is RUNNING"):
        controls.resume(UPLOAD.job_id, "asha")


def test_the_history_keeps_the_last_entries_only():
    history = []
    for n in range(HISTORY_LIMIT + 5):
        history = with_entry(history, "resumed", n, by=f"op{n}")
    assert len(history) == HISTORY_LIMIT
    assert (history[0]["by"], history[-1]["by"]) == ("op5", f"op{HISTORY_LIMIT + 4}")
