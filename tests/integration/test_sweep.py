"""The recovery sweep: a job whose invocation died is resumed, never left RUNNING."""

import time
from dataclasses import replace

import pytest

from smsdrop.send.runner import JobRunner, RunEnd
from smsdrop.send.sweep import build_sweep
from tests.fixtures.jobs import csv_of, numbers
from tests.integration.test_job_runner import Crash, CrashingGateway


def rows(count):
    return [(n, "Your parcel is on its way", "SHOP", f"o{i}") for i, n in enumerate(numbers(count))]


def sweep_at(harness, seconds_later):
    clients = harness.clients
    return build_sweep(harness.settings, clients.dynamodb, clients.sqs, clock=lambda: time.time() + seconds_later)


def test_a_job_whose_invocation_died_is_queued_again_and_then_completes(harness):
    upload = harness.upload(csv_of(rows(500)))
    settings, ports = harness.ports(in_flight=1)
    crashing = replace(ports, gateway=CrashingGateway(ports.gateway, 2, after_send=True))
    with pytest.raises(Crash):
        harness.run(upload, JobRunner(settings, crashing))

    assert sweep_at(harness, 0).run() == []  # the lease is still live
    assert sweep_at(harness, 60 + 121).run() == [upload.job_id]
    message = harness.next_continuation()
    assert message["job_id"] == upload.job_id

    assert harness.run(upload, harness.runner(clock=lambda: time.time() + 181)).end is RunEnd.COMPLETED
    harness.assert_promises_kept(upload, 500)
    assert sweep_at(harness, 10_000).run() == []  # finished jobs leave the active index


def test_a_job_handed_over_cleanly_is_left_to_its_continuation(harness):
    upload = harness.upload(csv_of(rows(300)))
    checks = iter([10_000])
    assert harness.run(upload, remaining_ms=lambda: next(checks, 0)).end is RunEnd.CONTINUED
    assert sweep_at(harness, 0).run() == []
