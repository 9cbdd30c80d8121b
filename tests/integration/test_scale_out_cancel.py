"""An operator's cancel of a scaled-out job reaches every chunk, started or not: nothing more is sent, every unsent row
is CANCELLED, the job ends CANCELLED. The steps are driven in order here, as the state machine would run them."""

from __future__ import annotations

import json
from dataclasses import replace

from bench.scale_csv import scale_csv
from smsdrop.scale.chunks import Chunk
from smsdrop.scale.steps import ScaleSteps
from smsdrop.store.controls import JobControls
from tests.fixtures.jobs import NO_DEADLINE, JobHarness


def test_a_cancelled_job_sends_nothing_more_in_any_chunk(harness: JobHarness) -> None:
    steps = ScaleSteps(replace(harness.settings, chunk_rows=100), harness.clients)
    upload = harness.upload(scale_csv(300), "incoming/cancel.csv")
    plan = steps.plan(upload)
    chunks = [Chunk.of(item) for item in _plan_items(harness, plan["key"])]
    for chunk in chunks:
        steps.index(upload, chunk)
    steps.merge(upload, len(chunks))
    assert steps.send(upload, chunks[0], NO_DEADLINE)["done"]  # the first chunk is sent before the cancel
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
