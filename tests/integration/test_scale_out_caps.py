"""The scale-out engine keeps to the caps as one function does: its Plan reads the whole file before anything is
sent, so a file over MAX_ROWS_PER_JOB or MAX_COST_PER_JOB is refused whole, the job closed FAILED with the reason, and
a file within them is sent with the guards in its summary."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bench.scale_csv import scale_csv
from local.aws import LocalAws
from local.stepfunctions import deploy, steps_routed
from smsdrop.output.results_file import ReportKeys
from smsdrop.scale.starter import ScaleOut
from smsdrop.scale.steps import ScaleSteps
from tests.fixtures.jobs import JobHarness

ROWS = 300  # 297 data rows (blank lines among them); priced at 0.0022 a part, most rows one part

CAPS = [
    pytest.param({"max_rows_per_job": 296}, "297 rows is over MAX_ROWS_PER_JOB 296", id="rows"),
    pytest.param({"max_cost_per_job": "0.1"}, "over MAX_COST_PER_JOB 0.1", id="cost"),
]


@pytest.mark.parametrize(("caps", "reason"), CAPS)
def test_a_file_over_a_cap_is_refused_whole_by_the_plan_and_nothing_is_sent(
    harness: JobHarness, aws: LocalAws, bare_moto: str, caps: dict[str, object], reason: str
) -> None:
    engine = deploy(aws, bare_moto, max_concurrency=2)
    upload = harness.upload(scale_csv(ROWS), "incoming/capped.csv")
    settings = replace(harness.settings, chunk_rows=100, **caps)
    with steps_routed(900_000, lambda: ScaleSteps(settings, harness.clients)) as log:
        execution = ScaleOut(engine.sfn, engine.state_machine_arn, min_bytes=1).start(upload)["execution"]
        ended = engine.wait(execution, timeout_s=120)

    assert ended["status"] == "FAILED"
    job = harness.job(upload)
    assert job["state"] == "FAILED"
    assert reason in job["error"]
    assert harness.simulator.audit().calls == 0
    assert {entry["step"] for entry in log} == {"plan", "fail"}


def test_a_file_within_the_caps_is_sent_and_its_summary_shows_the_guards(
    harness: JobHarness, aws: LocalAws, bare_moto: str
) -> None:
    engine = deploy(aws, bare_moto, max_concurrency=2)
    upload = harness.upload(scale_csv(ROWS), "incoming/within.csv")
    settings = replace(harness.settings, chunk_rows=100, max_rows_per_job=297, max_cost_per_job="100")
    with steps_routed(900_000, lambda: ScaleSteps(settings, harness.clients)):
        execution = ScaleOut(engine.sfn, engine.state_machine_arn, min_bytes=1).start(upload)["execution"]
        ended = engine.wait(execution, timeout_s=120)

    assert ended["status"] == "SUCCEEDED"
    summary = harness.aws.client("s3").get_object(Bucket=upload.bucket, Key=ReportKeys.of(upload).summary)["Body"]
    guards = json.loads(summary.read())["intake"]["guards"]
    assert guards["max_rows_per_job"] == 297
    assert guards["max_cost_per_job"] == "100"
    assert guards["checked_first"]["rows"] == 297
    assert 0 < float(guards["checked_first"]["estimated_cost"]) < 100
