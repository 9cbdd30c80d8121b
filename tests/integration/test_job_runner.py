"""The job runner end to end against moto server and the gateway simulator: at most once, nothing lost."""

import logging
import threading
import time
from collections import Counter
from dataclasses import replace

import pytest

from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.models import UNKNOWN_REASON, Recipient
from smsdrop.send.runner import JobRunner, RunEnd
from tests.fixtures.jobs import csv_of, numbers

CONTENTS = ["Your order has shipped", "Sale ends tonight: 20% off", "Your code is 4471"]


def mixed_rows(count):
    return [(n, CONTENTS[i % 3], f"SHOP{i % 2}", f"o{i}") for i, n in enumerate(numbers(count))]


class Crash(BaseException):
    """The process dies here: nothing after this line runs, no cleanup, the lease is left held."""


class CrashingGateway:
    """Lets `calls_before` calls through, then dies before or after the next one reaches the gateway."""

    def __init__(self, inner, calls_before, after_send):
        self.inner, self.left, self.after_send = inner, calls_before, after_send
        self.lock = threading.Lock()

    def send(self, items, time_left=None):
        with self.lock:
            self.left -= 1
            dying = self.left < 0
        if dying and not self.after_send:
            raise Crash
        outcomes = self.inner.send(items, time_left)
        if dying:
            raise Crash
        return outcomes


class CrashingWriter:
    """Writes half of one batch's results, then dies."""

    def __init__(self, inner, writes_before):
        self.inner, self.left = inner, writes_before

    def write(self, rows, results, now):
        self.left -= 1
        if self.left < 0:
            self.inner.write(rows, results[: len(results) // 2], now)
            raise Crash
        return self.inner.write(rows, results, now)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def later(seconds):
    return lambda: time.time() + seconds


def test_a_file_of_mixed_contents_gets_one_item_per_row_matching_the_audit(harness):
    upload = harness.upload(csv_of(mixed_rows(3000)))
    result = harness.run(upload)
    assert result.end is RunEnd.COMPLETED
    items = harness.assert_promises_kept(upload, 3000)
    assert Counter(i["status"] for i in items) == {"SUBMITTED": 3000}
    assert len(harness.simulator.audit().accepted) == 3000
    assert harness.job(upload)["counts"]["SUBMITTED"] == 3000


def test_bad_rows_are_recorded_rejected_with_their_reason_and_never_sent(harness):
    rows = [*mixed_rows(5), ("12ab45", "hi", "", "x1"), ("919812345678", "", "", "x2")]
    upload = harness.upload(csv_of(rows))
    assert harness.run(upload).end is RunEnd.COMPLETED
    items = {i["order_id"]: i for i in harness.assert_promises_kept(upload, 7)}
    assert items["x1"]["status"] == items["x2"]["status"] == "REJECTED"
    assert items["x1"]["reason"]
    assert len(harness.simulator.audit().accepted) == 5


def test_a_file_without_a_number_column_fails_the_job_with_a_clear_error(harness):
    upload = harness.upload(b"name,content\nann,hi\n")
    result = harness.run(upload)
    assert result.end is RunEnd.FAILED
    assert "number" in harness.job(upload)["error"]
    assert harness.items(upload) == []


@pytest.mark.parametrize(
    ("stage", "gateway_calls", "writes"),
    [("before-send", (3, False), None), ("after-send", (3, True), None), ("mid-write", None, 3)],
    ids=["crash-before-send", "crash-after-send-before-write", "crash-mid-write"],
)
def test_a_crash_at_any_stage_then_a_redelivered_event_sends_nothing_twice_and_loses_nothing(
    harness, stage, gateway_calls, writes
):
    upload = harness.upload(csv_of(mixed_rows(1500)))
    settings, ports = harness.ports(in_flight=1)
    if gateway_calls:
        ports = replace(ports, gateway=CrashingGateway(ports.gateway, *gateway_calls))
    if writes:
        ports = replace(ports, results=CrashingWriter(ports.results, writes))
    with pytest.raises(Crash):
        harness.run(upload, JobRunner(settings, ports))

    assert harness.run(upload).end is RunEnd.BUSY  # the dead invocation's lease is still live
    assert harness.run(upload, harness.runner(clock=later(120))).end is RunEnd.COMPLETED

    items = harness.assert_promises_kept(upload, 1500)
    unknown = [i for i in items if i["status"] == "UNKNOWN"]
    assert len(unknown) == (50 if stage == "mid-write" else 100)
    assert all(i["reason"] == UNKNOWN_REASON for i in unknown)
    accepted = len(harness.simulator.audit().accepted)
    assert accepted == (1500 if stage != "before-send" else 1400)


def test_a_duplicate_event_after_completion_does_nothing(harness):
    upload = harness.upload(csv_of(mixed_rows(300)))
    assert harness.run(upload).end is RunEnd.COMPLETED
    assert harness.run(upload).end is RunEnd.ALREADY_FINISHED
    harness.assert_promises_kept(upload, 300)
    assert len(harness.simulator.audit().accepted) == 300


def test_concurrent_duplicate_events_run_the_job_once(harness):
    upload = harness.upload(csv_of(mixed_rows(2000)))
    ends = []
    threads = [threading.Thread(target=lambda: ends.append(harness.run(upload).end)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ends) == sorted([RunEnd.COMPLETED] + [RunEnd.BUSY] * 3)
    harness.assert_promises_kept(upload, 2000)
    assert len(harness.simulator.audit().accepted) == 2000


def test_a_tiny_time_budget_hands_the_file_over_across_many_invocations(harness):
    upload = harness.upload(csv_of(mixed_rows(2500)))

    def two_batches_each():
        checks = iter([10_000, 10_000])
        return lambda: next(checks, 0)

    results = harness.run_to_end(upload, two_batches_each)
    assert results[-1].end is RunEnd.COMPLETED
    assert {r.end for r in results[:-1]} == {RunEnd.CONTINUED}
    assert len(results) >= 10
    harness.assert_promises_kept(upload, 2500)
    assert len(harness.simulator.audit().accepted) == 2500


def test_insufficient_balance_stops_the_job_and_a_rerun_resends_nothing(harness):
    harness.simulator.set_faults(balance=450)
    upload = harness.upload(csv_of(mixed_rows(1000)))
    result = harness.run(upload, harness.runner(in_flight=1))
    assert result.end is RunEnd.STOPPED
    assert result.stop_reason.startswith("-10")
    items = harness.assert_promises_kept(upload, 1000)
    statuses = Counter(i["status"] for i in items)
    assert statuses == {"SUBMITTED": 400, "FAILED": 600}
    assert harness.job(upload)["state"] == "STOPPED"
    assert harness.run(upload).end is RunEnd.ALREADY_FINISHED
    assert len(harness.simulator.audit().accepted) == 400


def test_http_500_bursts_are_retried_when_server_errors_may_be_retried_and_nothing_is_sent_twice(harness):
    harness.simulator.set_faults(http_500_rate=0.3)
    upload = harness.upload(csv_of(mixed_rows(1000)))
    runner = harness.runner(max_attempts=8, retry_server_errors=True)
    assert harness.run(upload, runner).end is RunEnd.COMPLETED
    items = harness.assert_promises_kept(upload, 1000)
    assert Counter(i["status"] for i in items)["SUBMITTED"] == len(harness.simulator.audit().accepted)


def test_a_stalled_call_is_unknown_and_never_resent(harness):
    harness.simulator.set_faults(stall_rate=0.5, stall_s=3.0)  # past the runner's 2 s read timeout
    upload = harness.upload(csv_of(mixed_rows(1000)))
    assert harness.run(upload, harness.runner(read_timeout_s=2.0)).end is RunEnd.COMPLETED
    items = harness.assert_promises_kept(upload, 1000)
    unknown = [i for i in items if i["status"] == "UNKNOWN"]
    assert unknown
    assert len(harness.simulator.audit().accepted) == 1000  # the stalled calls were accepted, once


def test_the_same_file_uploaded_as_a_new_version_is_a_new_job(harness):
    body = csv_of(mixed_rows(50))
    first, second = harness.upload(body), harness.upload(body)
    assert first.job_id != second.job_id
    assert harness.run(first).end is RunEnd.COMPLETED
    assert harness.run(second).end is RunEnd.COMPLETED
    assert len(harness.simulator.audit().accepted) == 100


def test_continuations_take_back_the_reader_state_and_answer_every_row_as_one_whole_read(harness, caplog):
    rows = mixed_rows(400)
    rows += [(n, CONTENTS[i % 3], f"SHOP{i % 2}", f"r{i}") for i, n in enumerate(numbers(100))]  # duplicates
    rows += [(n, "Back in stock", "SHOP1", f"o{i}") for i, n in enumerate(numbers(50, start=5000))]  # orderIds again
    upload = harness.upload(csv_of(rows))
    whole = RecipientReader(
        harness.clients.s3, upload.bucket, upload.key, upload.version_id, RowRules(job_id=upload.job_id)
    )
    expected = [
        (r.row, "SUBMITTED", "") if isinstance(r, Recipient) else (r.row, "REJECTED", r.reason) for r in whole.rows()
    ]

    def one_batch_each():
        checks = iter([10_000])
        return lambda: next(checks, 0)

    with caplog.at_level(logging.INFO, logger="smsdrop.intake"):
        results = harness.run_to_end(upload, one_batch_each)
    assert results[-1].end is RunEnd.COMPLETED
    assert len(results) >= 4
    assert len([r for r in caplog.records if r.getMessage() == "Reader snapshot saved"]) == len(results) - 1
    assert not [r for r in caplog.records if "without" in r.getMessage()]  # every continuation took its state back
    assert [(int(i["row"]), i["status"], i["reason"]) for i in harness.items(upload)] == expected
    assert Counter(status for _, status, _ in expected) == {"SUBMITTED": 400, "REJECTED": 150}
    audit = harness.simulator.audit()
    assert (len(audit.accepted), audit.duplicate_numbers, audit.duplicate_order_ids) == (400, 0, 0)
