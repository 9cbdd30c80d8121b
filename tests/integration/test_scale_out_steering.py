"""An operator steers a scaled-out job as any job: a pause reaches every chunk (each sleeps PAUSED, nothing more is
sent) and a resume wakes them; a send-at or a send window holds every chunk SCHEDULED inside the state machine (no
EventBridge schedule: the Send step answers how long its Wait state waits) until the time comes. The steps are driven
in order here, as the state machine would run them, on a clock the test moves. `smsdrop status` and `jobs` show
the job's counts added up from its chunks while it runs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from bench.scale_csv import scale_csv
from local.aws import LocalAws
from local.scheduler_clock import LocalClock
from local.stepfunctions import deploy, steps_routed
from smsdrop.intake.uploads import Upload
from smsdrop.scale.chunks import Chunk, ChunkUpload
from smsdrop.scale.starter import ScaleOut
from smsdrop.scale.steps import ScaleSteps
from smsdrop.store.controls import JobControls
from smsdrop.store.schema import chunk_id, job_key
from tests.fixtures.jobs import NO_DEADLINE, JobHarness
from tests.integration.test_operator_cli import smsdrop

NOW = datetime.fromisoformat("2026-12-01T08:00:00+05:30").timestamp()
SEND_AT = "2026-12-01T09:30:00+05:30"
POLL_S = 300
ROWS, CHUNK_ROWS = 300, 100


def planned(harness: JobHarness, steps: ScaleSteps, upload: Upload) -> list[Chunk]:
    """Plan, Index and Merge run; the plan's chunks."""
    plan = steps.plan(upload)
    body = harness.aws.client("s3").get_object(Bucket=upload.bucket, Key=plan["key"])["Body"].read()
    chunks = [Chunk.of(item) for item in json.loads(body)]
    for chunk in chunks:
        steps.index(upload, chunk)
    steps.merge(upload, len(chunks))
    return chunks


def scale_steps(harness: JobHarness, clock: LocalClock, **changes: Any) -> ScaleSteps:
    settings = replace(harness.settings, chunk_rows=CHUNK_ROWS, chunk_poll_seconds=POLL_S, **changes)
    return ScaleSteps(settings, harness.clients, clock)


def chunk_item(harness: JobHarness, upload: Upload, chunk: Chunk) -> dict[str, Any]:
    return harness.job(ChunkUpload.of(upload, chunk))


def state(harness: JobHarness, job_id: str) -> str:
    """The state of the job (or chunk) item `job_id`; "" while there is none."""
    item = harness.aws.client("dynamodb").get_item(TableName=harness.aws.names.table, Key=job_key(job_id))
    return str(item.get("Item", {}).get("state", {}).get("S", ""))


def until(condition: Callable[[], bool], timeout_s: float = 120.0) -> bool:
    """Whether `condition` came true: asked every 0.2 s, for at most `timeout_s` (a safety net, not a timing)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_a_paused_job_sends_nothing_more_in_any_chunk_until_it_is_resumed(harness: JobHarness) -> None:
    clock = LocalClock(NOW)
    steps = scale_steps(harness, clock)
    upload = harness.upload(scale_csv(ROWS), "incoming/pause.csv")
    chunks = planned(harness, steps, upload)
    assert steps.send(upload, chunks[0], NO_DEADLINE)["done"]
    sent = len(harness.simulator.audit().accepted)
    controls = JobControls(harness.aws.client("dynamodb"), harness.aws.names.table, clock)

    controls.pause(upload.job_id, "ops")
    for chunk in chunks[1:]:
        assert steps.send(upload, chunk, NO_DEADLINE) == {"done": False, "wait_s": POLL_S, "end": "PAUSED"}
        assert steps.send(upload, chunk, NO_DEADLINE)["end"] == "PAUSED"  # looked again: still paused
    assert len(harness.simulator.audit().accepted) == sent

    assert controls.resume(upload.job_id, "ops") is None  # the job's pause withdrawn; its chunks wake at their look
    for chunk in chunks[1:]:
        assert steps.send(upload, chunk, NO_DEADLINE) == {"done": True, "wait_s": 0, "end": "COMPLETED"}
    assert steps.finish(upload, len(chunks)) == {"state": "COMPLETED", "rows": ROWS - ROWS // 97}

    audit = harness.simulator.audit()
    assert len(audit.accepted) > sent > 0
    assert audit.duplicate_numbers == audit.duplicate_order_ids == 0
    history = [entry["event"] for entry in chunk_item(harness, upload, chunks[1])["history"]]
    assert history[-3:] == ["paused", "resumed", "completed"]


HOLDS = [
    pytest.param({}, {"send-at": SEND_AT}, datetime.fromisoformat(SEND_AT).timestamp(), id="send-at"),
    pytest.param(
        {"send_window": "09:00-21:00", "send_window_tz": "Asia/Kolkata"},
        {},
        datetime.fromisoformat("2026-12-01T09:00:00+05:30").timestamp(),
        id="send window",
    ),
]


@pytest.mark.parametrize(("settings", "metadata", "opens"), HOLDS)
def test_a_chunk_waits_in_the_state_machine_for_its_send_time_and_then_sends_every_row_once(
    harness: JobHarness, settings: dict[str, str], metadata: dict[str, str], opens: float
) -> None:
    clock = LocalClock(NOW)
    steps = scale_steps(harness, clock, **settings)
    upload = harness.upload(scale_csv(ROWS), "incoming/later.csv", metadata=metadata)
    chunks = planned(harness, steps, upload)

    for chunk in chunks:
        assert steps.send(upload, chunk, NO_DEADLINE) == {"done": False, "wait_s": POLL_S, "end": "SCHEDULED"}
        assert chunk_item(harness, upload, chunk)["state"] == "SCHEDULED"
    clock.to(opens - 100)
    assert steps.send(upload, chunks[0], NO_DEADLINE)["wait_s"] in (100, 101)  # never past the time it waits for
    assert harness.simulator.audit().calls == 0

    clock.to(opens)
    for chunk in chunks:
        assert steps.send(upload, chunk, NO_DEADLINE)["end"] == "COMPLETED"
    assert steps.finish(upload, len(chunks))["state"] == "COMPLETED"
    audit = harness.simulator.audit()
    assert audit.accepted
    assert audit.duplicate_numbers == audit.duplicate_order_ids == 0


def test_a_cancel_reaches_chunks_waiting_for_their_send_time_at_their_next_look(harness: JobHarness) -> None:
    clock = LocalClock(NOW)
    steps = scale_steps(harness, clock)
    upload = harness.upload(scale_csv(ROWS), "incoming/never.csv", metadata={"send-at": SEND_AT})
    chunks = planned(harness, steps, upload)
    for chunk in chunks:
        assert steps.send(upload, chunk, NO_DEADLINE)["end"] == "SCHEDULED"

    JobControls(harness.aws.client("dynamodb"), harness.aws.names.table, clock).cancel(upload.job_id, "ops")
    clock.advance(POLL_S)  # the Wait state's time: the send-at is still ahead
    for chunk in chunks:
        assert steps.send(upload, chunk, NO_DEADLINE) == {"done": True, "wait_s": 0, "end": "CANCELLED"}
    assert steps.finish(upload, len(chunks))["state"] == "CANCELLED"

    assert harness.simulator.audit().calls == 0
    assert {item["status"] for item in harness.items(upload)} == {"CANCELLED", "REJECTED"}


def test_on_the_state_machine_chunks_wait_in_its_wait_state_until_the_send_at_and_then_send_every_row_once(
    harness: JobHarness, aws: LocalAws, bare_moto: str
) -> None:
    engine = deploy(aws, bare_moto, max_concurrency=4)
    clock = LocalClock(NOW)
    upload = harness.upload(scale_csv(ROWS), "incoming/at.csv", metadata={"send-at": SEND_AT})
    settings = replace(harness.settings, chunk_rows=CHUNK_ROWS)  # chunk_poll_seconds=1: moto waits in real time
    with steps_routed(900_000, lambda: ScaleSteps(settings, harness.clients, clock)) as log:
        execution = ScaleOut(engine.sfn, engine.state_machine_arn, min_bytes=1).start(upload)["execution"]
        waiting = until(lambda: [state(harness, chunk_id(upload.job_id, i)) for i in range(3)] == ["SCHEDULED"] * 3)
        assert harness.simulator.audit().calls == 0
        clock.to(datetime.fromisoformat(SEND_AT).timestamp())
        ended = engine.wait(execution, timeout_s=300)

    assert waiting
    assert ended["status"] == "SUCCEEDED"
    for index in range(3):  # each chunk's Task waited in NotYet, and ran again once the time came
        ends = [entry["result"]["end"] for entry in log if entry["step"] == "send" and entry["chunk"] == index]
        assert ends[0] == "SCHEDULED"
        assert ends[-1] == "COMPLETED"
    assert harness.job(upload)["state"] == "COMPLETED"
    audit = harness.simulator.audit()
    assert audit.accepted
    assert audit.duplicate_numbers == audit.duplicate_order_ids == 0


def test_an_operator_watches_a_scaled_out_job_as_one_job_its_counts_added_up_from_its_chunks(
    harness: JobHarness,
) -> None:
    clock = LocalClock(NOW)
    steps = scale_steps(harness, clock)
    upload = harness.upload(scale_csv(ROWS), "incoming/watched.csv")
    chunks = planned(harness, steps, upload)
    assert steps.send(upload, chunks[0], NO_DEADLINE)["done"]
    first = harness.job(ChunkUpload.of(upload, chunks[0]))["counts"]

    status = smsdrop(harness, "status", upload.job_id)[1]
    listed = smsdrop(harness, "jobs", "--running")[1]

    assert "state: RUNNING" in status
    assert f"SUBMITTED {int(first['SUBMITTED']):,}" in status
    assert "engine: stepfunctions: 3 chunks, 1 ended" in status
    recorded = sum(int(n) for n in first.values())
    assert f"of {ROWS - ROWS // 97:,} rows recorded" in status
    assert f"({recorded:,} of" in status
    assert upload.job_id in listed
    assert chunk_id(upload.job_id, 0) not in listed  # a chunk is no job of its own to the operator
    assert f"{upload.job_id}  {'RUNNING':9}  {recorded:>9,}" in listed
