"""Scheduled sends against moto server: a send-at holds the job through a real one-time schedule (EventBridge
Scheduler, which moto keeps but never fires: the local scheduler clock fires it), `smsdrop status` and `jobs` show the
wait, firing it sends every row once; `smsdrop cancel` of a waiting job deletes its schedule and sends nothing; the
sweep wakes a job whose schedule was lost."""

import json
import re
from dataclasses import replace
from datetime import datetime

import pytest

from local.scheduler_clock import LocalClock, SchedulerClock
from smsdrop.intake.uploads import Upload
from smsdrop.send.runner import RunEnd
from smsdrop.send.sweep import build_sweep
from smsdrop.send.wiring import build_runner
from tests.fixtures.jobs import NO_DEADLINE, csv_of, numbers
from tests.integration.test_operator_cli import smsdrop

NOW = "2026-12-01T08:00:00+05:30"
SEND_AT = "2026-12-01T09:30:00+05:30"


@pytest.fixture
def scheduled(harness):
    """The harness with the stack's schedule group, role and queue ARN; a runner on `clock` with a scheduler client."""
    aws = harness.aws
    sqs = aws.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=harness.settings.continuation_queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    settings = replace(
        harness.settings,
        schedule_group=aws.names.schedule_group,
        scheduler_role_arn="arn:aws:iam::123456789012:role/smsdrop-scheduler",
        continuation_queue_arn=queue_arn,
    )
    clients = replace(harness.clients, scheduler=aws.client("scheduler"))
    return lambda clock: build_runner(settings, clients, clock)


def test_a_send_at_waits_for_a_real_schedule_shown_by_status_and_firing_it_sends_every_row_once(harness, scheduled):
    body = csv_of([(n, "Hello") for n in numbers(30)], "number,content")
    upload = harness.upload(body, metadata={"send-at": SEND_AT})
    clock = LocalClock(datetime.fromisoformat(NOW).timestamp())

    assert scheduled(clock).run(upload, NO_DEADLINE).end is RunEnd.SCHEDULED
    assert harness.simulator.audit().accepted == []
    job = harness.job(upload)
    assert (job["state"], job["active"]) == ("SCHEDULED", "SCHEDULED")
    name = f"{upload.job_id}-20261201T040000Z"
    assert job["schedule"]["name"] == name

    schedule = harness.aws.client("scheduler").get_schedule(Name=name, GroupName=harness.aws.names.schedule_group)
    assert schedule["ScheduleExpression"] == "at(2026-12-01T04:00:00)"
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert json.loads(schedule["Target"]["Input"]) == upload.to_message()

    assert (
        "scheduled: sends at 2026-12-01 04:00:00Z (send-at 2026-12-01T09:30:00+05:30)"
        in smsdrop(harness, "status", upload.job_id)[1]
    )
    listed = smsdrop(harness, "jobs")[1]
    assert re.search(rf"{upload.job_id}\s+SCHEDULED\s+0\s+incoming/campaign.csv\s+\(sends at 2026-12-01 04:00", listed)

    fire = SchedulerClock(harness.aws, harness.aws.names.schedule_group)
    assert fire.fire(clock()) == []  # not yet
    clock.to(fire.next_at())
    assert fire.fire(clock()) == [name]
    message = harness.next_continuation()
    assert harness.run(Upload.from_message(message), scheduled(clock)).end is RunEnd.COMPLETED
    harness.assert_promises_kept(upload, 30)
    assert fire.pending() == []


def test_cancelling_a_scheduled_job_deletes_its_schedule_and_sends_nothing(harness, scheduled):
    upload = harness.upload(csv_of([(n, "Hello") for n in numbers(5)], "number,content"), metadata={"send-at": SEND_AT})
    clock = LocalClock(datetime.fromisoformat(NOW).timestamp())
    scheduled(clock).run(upload, NO_DEADLINE)

    code, said = smsdrop(harness, "cancel", upload.job_id)
    assert code == 0
    assert "it was scheduled (its schedule is deleted)" in said
    message = harness.next_continuation()
    assert harness.run(Upload.from_message(message), scheduled(clock)).end is RunEnd.CANCELLED

    assert SchedulerClock(harness.aws, harness.aws.names.schedule_group).pending() == []
    assert harness.simulator.audit().accepted == []
    assert {item["status"] for item in harness.items(upload)} == {"CANCELLED"}


def test_a_send_at_without_an_offset_refuses_the_file_sending_nothing(harness, scheduled):
    upload = harness.upload(b"number,content\n919800000001,Hello\n", metadata={"send-at": "2026-12-01T09:30"})

    result = scheduled(LocalClock()).run(upload, NO_DEADLINE)

    assert result.end is RunEnd.FAILED
    assert "has no UTC offset" in harness.job(upload)["error"]
    assert harness.simulator.audit().accepted == []


def test_the_sweep_wakes_a_job_whose_schedule_never_fired_and_leaves_one_that_waits(harness, scheduled):
    upload = harness.upload(csv_of([(n, "Hello") for n in numbers(5)], "number,content"), metadata={"send-at": SEND_AT})
    clock = LocalClock(datetime.fromisoformat(NOW).timestamp())
    scheduled(clock).run(upload, NO_DEADLINE)
    (lost,) = SchedulerClock(harness.aws, harness.aws.names.schedule_group).pending()
    harness.aws.client("scheduler").delete_schedule(Name=lost.name, GroupName=harness.aws.names.schedule_group)
    settings = harness.settings
    dynamodb, sqs = harness.aws.client("dynamodb"), harness.aws.client("sqs")

    assert build_sweep(settings, dynamodb, sqs, clock).run() == []  # it waits: its time has not come
    clock.to(lost.at + 121)
    assert build_sweep(settings, dynamodb, sqs, clock).run() == [upload.job_id]  # two minutes late: lost

    message = harness.next_continuation()
    assert harness.run(Upload.from_message(message), scheduled(clock)).end is RunEnd.COMPLETED
    harness.assert_promises_kept(upload, 5)
