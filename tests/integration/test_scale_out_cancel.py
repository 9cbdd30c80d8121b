"""An operator's cancel of a scaled-out job reaches every chunk, started or not: nothing more is sent, every unsent row
is CANCELLED, the job ends CANCELLED; `smsdrop resume` then sends exactly those rows, once, on one function. The steps
are driven in order here, as the state machine would run them."""

from __future__ import annotations

import json
from dataclasses import replace

from bench.scale_csv import scale_csv
from smsdrop.intake.uploads import Upload
from smsdrop.scale.chunks import Chunk
from smsdrop.scale.steps import ScaleSteps
from smsdrop.send.run_result import RunEnd
from smsdrop.store.controls import JobControls
from tests.fixtures.jobs import NO_DEADLINE, JobHarness
from tests.integration.test_operator_cli import smsdrop
from tests.integration.test_scale_out import assert_sent_once, results_lines


def cancelled_after_one_chunk(harness: JobHarness, key: str) -> tuple[ScaleSteps, Upload, list[Chunk]]:
    """A scaled-out job of 3 chunks whose first chunk was sent: the steps, the upload and its chunks."""
    steps = ScaleSteps(replace(harness.settings, chunk_rows=100), harness.clients)
    upload = harness.upload(scale_csv(300), key)
    plan = steps.plan(upload)
    chunks = [Chunk.of(item) for item in _plan_items(harness, plan["key"])]
    for chunk in chunks:
        steps.index(upload, chunk)
    steps.merge(upload, len(chunks))
    assert steps.send(upload, chunks[0], NO_DEADLINE)["done"]  # the first chunk is sent before the cancel
    return steps, upload, chunks


def test_a_cancelled_job_sends_nothing_more_in_any_chunk(harness: JobHarness) -> None:
    steps, upload, chunks = cancelled_after_one_chunk(harness, "incoming/cancel.csv")
    sent = len(harness.simulator.audit().accepted)

    JobControls(harness.aws.client("dynamodb"), harness.aws.names.table).cancel(upload.job_id, "ops")
    for chunk in chunks[1:]:
        assert steps.send(upload, chunk, NO_DEADLINE) == {"done": True, "wait_s": 0, "end": "CANCELLED"}
    steps.finish(upload, len(chunks))
    assert steps.finish(upload, len(chunks)) == {"state": "CANCELLED", "rows": 297}  # a retry changes nothing

    assert len(harness.simulator.audit().accepted) == sent > 0
    job = harness.job(upload)
    assert job["state"] == "CANCELLED"
    items = harness.items(upload)
    assert len(items) == int(job["rows"]) == sum(chunk.rows for chunk in chunks)
    later = {item["status"] for item in items if int(item["row"]) > chunks[0].end.row}
    assert later <= {"CANCELLED", "REJECTED"}
    assert "CANCELLED" in later


def _plan_items(harness: JobHarness, key: str) -> list[dict]:
    body = harness.aws.client("s3").get_object(Bucket=harness.aws.names.bucket, Key=key)["Body"].read()
    return json.loads(body)


def test_a_cancelled_scaled_out_job_resumed_sends_exactly_its_cancelled_rows_once_on_one_function(
    harness: JobHarness,
) -> None:
    steps, upload, chunks = cancelled_after_one_chunk(harness, "incoming/resume.csv")
    JobControls(harness.aws.client("dynamodb"), harness.aws.names.table).cancel(upload.job_id, "ops")
    for chunk in chunks[1:]:
        steps.send(upload, chunk, NO_DEADLINE)
    steps.finish(upload, len(chunks))
    cancelled = {int(i["row"]) for i in harness.items(upload) if i["status"] == "CANCELLED"}
    sent_before = len(harness.simulator.audit().accepted)

    code, said = smsdrop(harness, "resume", upload.job_id)
    assert (code, said.strip()) == (
        0,
        f"job {upload.job_id}: resumed (CANCELLED before); its unsent rows are being sent",
    )
    assert harness.run(Upload.from_message(harness.next_continuation())).end is RunEnd.COMPLETED

    items = {int(i["row"]): i for i in harness.items(upload)}
    assert {items[row]["status"] for row in cancelled} == {"SUBMITTED"}
    assert len(harness.simulator.audit().accepted) == sent_before + len(cancelled)
    assert_sent_once(harness, upload, 297)
    job = harness.job(upload)
    assert job["state"] == "COMPLETED"
    assert sum(int(n) for n in job["counts"].values()) == int(job["rows"]) == 297
    assert len(results_lines(harness, upload)) == 1 + 297  # the results file again, one line a row
