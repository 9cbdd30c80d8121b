"""An operator steering a running job through the smsdrop command line's code, against moto server and the gateway
simulator: a cancel with 4 batches in flight, a stop at -10 then a resume, a resume while another invocation holds the
lease, a cancel then a resume, a pause and a resume across continuations. Each ends with the usual checks: one item per
row, nothing accepted twice, SUBMITTED items are the provider's acceptances."""

import threading
import time
from collections import Counter
from dataclasses import replace

import pytest

from smsdrop.intake.uploads import Upload
from smsdrop.send.continuation import QueueContinuation
from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.send.sweep import Sweep
from smsdrop_cli.main import cancel, main, pause, resume
from smsdrop_cli.target import Where, connect
from tests.reliability.support import campaign, check_promises, stored_items, stored_job

pytestmark = pytest.mark.slow  # each scenario runs a job of 2,000 rows end to end, some several times

ROWS, BAD_EVERY = 2000, 25
VALID = ROWS - ROWS // BAD_EVERY
READ_TIMEOUT_S = 90.0  # answers held for a cancel or another run take seconds on a loaded machine; none is late


def operator(harness):
    """The command line's view of the harness's stack (its code, as `smsdrop --table ... --endpoint-url ...`)."""
    names = harness.aws.names
    where = Where(None, names.bucket, names.table, harness.settings.continuation_queue_url, harness.aws.endpoint)
    return connect(where)


def cli(harness, *args):
    names = harness.aws.names
    flags = ["--endpoint-url", harness.aws.endpoint, "--table", names.table, "--bucket", names.bucket]
    return main([*flags, "--queue-url", harness.settings.continuation_queue_url, "--by", "asha", *args])


def few_batches(n=6):
    checks = iter([60_000] * n)
    return lambda: next(checks, 0)


def run_chain(harness, upload, first=None, **settings):
    """Run the job (or only its queued continuations, with `first` False) until no continuation is left."""
    results = [] if first is False else [harness.run(upload, harness.runner(**settings), few_batches())]
    while message := harness.next_continuation():
        results.append(harness.run(Upload.from_message(message), harness.runner(**settings), few_batches()))
    return results


def end_state(harness, upload, simulator):
    table = harness.aws.names.table
    job = stored_job(table, upload.job_id)
    return job, check_promises(simulator, stored_items(table, upload.job_id), job, ROWS)


def test_a_cancel_with_four_batches_in_flight_lets_them_finish_and_sends_nothing_after_them(harness, simulator):
    upload = harness.upload(campaign(ROWS, bad_every=BAD_EVERY))
    target, lock = operator(harness), threading.Lock()
    seen = {"calls": 0, "cancelled_at": None, "calls_after": 0, "marked_after": 0}

    def cancel_after_the_third_answer(order_ids):
        with lock:
            seen["calls"] += 1
            now = seen["calls"] == 3
        if now:
            cancel(target, upload.job_id, "asha")
            seen["cancelled_at"] = time.monotonic()

    def count_calls_after_the_cancel(order_ids):
        if seen["cancelled_at"] is not None:
            seen["calls_after"] += 1

    simulator.after_call, simulator.on_call = cancel_after_the_third_answer, count_calls_after_the_cancel
    simulator.late_s = READ_TIMEOUT_S
    settings, ports = harness.ports(in_flight=4, read_timeout_s=READ_TIMEOUT_S)  # the third answer waits for the cancel

    class WatchedStore:
        """The job store, whose leases note any batch marked in flight after the cancel was acknowledged."""

        def __getattr__(self, name):
            return getattr(ports.store, name)

        def claim(self, *args):
            lease = ports.store.claim(*args)
            mark = getattr(lease, "mark_in_flight", None)
            if mark is not None:

                def watched(*mark_args, **kwargs):
                    asked = time.monotonic()
                    mark(*mark_args, **kwargs)
                    cancelled_at = seen["cancelled_at"]
                    if cancelled_at is not None and asked > cancelled_at:
                        seen["marked_after"] += 1

                lease.mark_in_flight = watched
            return lease

    runner = JobRunner(settings, replace(ports, store=WatchedStore()), time.time)
    result = harness.run(upload, runner)

    assert result.end is RunEnd.CANCELLED
    assert seen["marked_after"] == 0  # no batch was marked in flight once the cancel was acknowledged
    assert seen["calls_after"] <= 4  # only the batches already in flight went out after it
    job, state = end_state(harness, upload, simulator)
    accepted = len(simulator.audit().accepted)
    assert state.statuses == {"SUBMITTED": accepted, "REJECTED": ROWS // BAD_EVERY, "CANCELLED": VALID - accepted}
    assert job["state"] == "CANCELLED"
    assert job["history"][-1]["event"] == "cancelled"
    assert job["history"][-1]["by"] == "asha"
    print(f"\ncancel with 4 in flight: {accepted} accepted, {VALID - accepted} CANCELLED, 0 duplicates")


def test_a_job_stopped_at_minus_10_then_resumed_has_every_valid_row_accepted_exactly_once(harness, simulator):
    simulator.set_faults(balance=834)
    upload = harness.upload(campaign(ROWS, bad_every=BAD_EVERY))
    assert run_chain(harness, upload)[-1].end is RunEnd.STOPPED
    before = len(simulator.audit().accepted)

    simulator.set_faults(balance=None)  # the operator tops the balance up
    assert cli(harness, "resume", f"s3://{upload.bucket}/{upload.key}?versionId={upload.version_id}") == 0
    results = run_chain(harness, upload, first=False)

    assert results[-1].end is RunEnd.COMPLETED
    job, state = end_state(harness, upload, simulator)
    audit = simulator.audit()
    assert len(audit.accepted) == VALID
    assert Counter(a.order_id for a in audit.accepted).most_common(1)[0][1] == 1
    assert state.statuses == {"SUBMITTED": VALID, "REJECTED": ROWS // BAD_EVERY}
    assert [e["event"] for e in job["history"]] == ["stopped", "resumed", "completed"]
    body = harness.aws.client("s3").get_object(Bucket=upload.bucket, Key=job["results_key"])["Body"].read()
    assert len(body.decode().splitlines()) == ROWS + 1  # the new results file: every row once
    print(
        f"\nstop then resume: {before} accepted before the stop, {len(audit.accepted) - before} after the resume, "
        f"{len(audit.accepted)} of {VALID} valid rows accepted, {audit.duplicate_order_ids} duplicate orderIds, "
        f"{audit.duplicate_numbers} duplicate numbers"
    )


def test_a_resume_while_another_invocation_holds_the_lease_sends_nothing_twice(harness, simulator):
    simulator.set_faults(balance=500)
    upload = harness.upload(campaign(ROWS, bad_every=BAD_EVERY))
    assert run_chain(harness, upload)[-1].end is RunEnd.STOPPED
    simulator.set_faults(balance=None)
    assert cli(harness, "resume", upload.job_id) == 0
    message = harness.next_continuation()
    held, go_on = threading.Event(), threading.Event()

    def hold_the_first_call(order_ids):
        if not held.is_set():
            held.set()
            assert go_on.wait(60)

    simulator.on_call, simulator.late_s = hold_the_first_call, READ_TIMEOUT_S
    holder, patient = {}, harness.runner(read_timeout_s=READ_TIMEOUT_S)  # its first answer waits for the others
    thread = threading.Thread(target=lambda: holder.update(end=harness.run(Upload.from_message(message), patient).end))
    thread.start()
    assert held.wait(60)

    duplicate = harness.run(Upload.from_message(message))  # the same message delivered twice
    again = cli(harness, "resume", upload.job_id)  # and the operator, impatient
    go_on.set()
    thread.join(120)

    assert (duplicate.end, again) == (RunEnd.BUSY, 1)
    assert holder["end"] is RunEnd.COMPLETED
    assert harness.next_continuation() is None
    _, state = end_state(harness, upload, simulator)
    assert state.statuses == {"SUBMITTED": VALID, "REJECTED": ROWS // BAD_EVERY}


def test_a_job_cancelled_then_resumed_sends_exactly_the_rows_the_cancel_left(harness, simulator):
    upload = harness.upload(campaign(ROWS, bad_every=BAD_EVERY))
    target = operator(harness)

    def cancel_at_the_second_call(order_ids):
        if len(simulator.calls) == 2:
            cancel(target, upload.job_id, "asha")

    simulator.after_call = cancel_at_the_second_call
    assert run_chain(harness, upload, in_flight=1)[-1].end is RunEnd.CANCELLED
    simulator.after_call = None
    cancelled = {
        i["order_id"] for i in stored_items(harness.aws.names.table, upload.job_id) if i["status"] == "CANCELLED"
    }
    before = {a.order_id for a in simulator.audit().accepted}

    assert resume(target, upload.job_id, "asha").endswith("its unsent rows are being sent")
    assert run_chain(harness, upload, first=False)[-1].end is RunEnd.COMPLETED

    after = {a.order_id for a in simulator.audit().accepted} - before
    assert cancelled
    assert after == cancelled
    _, state = end_state(harness, upload, simulator)
    assert state.statuses == {"SUBMITTED": VALID, "REJECTED": ROWS // BAD_EVERY}


def test_a_paused_job_sleeps_out_of_the_sweeps_sight_and_a_resume_carries_it_on_across_continuations(
    harness, simulator
):
    upload = harness.upload(campaign(ROWS, bad_every=BAD_EVERY))
    target = operator(harness)

    def pause_at_the_second_call(order_ids):
        if len(simulator.calls) == 2:
            pause(target, upload.job_id, "asha")

    simulator.after_call = pause_at_the_second_call
    results = run_chain(harness, upload, in_flight=1)
    simulator.after_call = None

    assert results[-1].end is RunEnd.PAUSED
    assert harness.next_continuation() is None  # nothing queued while it sleeps
    sweep = Sweep(
        harness.aws.client("dynamodb"),
        harness.aws.names.table,
        QueueContinuation(harness.aws.client("sqs"), harness.settings.continuation_queue_url),
        clock=lambda: time.time() + 3600,
    )
    assert sweep.run() == []  # not RUNNING in the sweep's index, however long it sleeps
    paused_at = len(simulator.audit().accepted)
    assert stored_job(harness.aws.names.table, upload.job_id)["state"] == "PAUSED"

    assert cli(harness, "resume", upload.job_id) == 0
    results = run_chain(harness, upload, first=False, in_flight=1)

    assert len(results) > 1  # carried across continuations
    assert results[-1].end is RunEnd.COMPLETED
    job, state = end_state(harness, upload, simulator)
    assert state.statuses == {"SUBMITTED": VALID, "REJECTED": ROWS // BAD_EVERY}
    assert 0 < paused_at < VALID
    assert [e["event"] for e in job["history"]] == ["paused", "resumed", "completed"]
