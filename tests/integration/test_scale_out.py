"""The scale-out engine on moto server's Step Functions (Distributed Maps included), its Lambda steps run in this
process: the same per-row answers as one function on the same file, at most once, one execution per job."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from bench.scale_csv import scale_csv
from local.aws import LocalAws
from local.stepfunctions import Engine, deploy, steps_routed
from smsdrop.config import Settings
from smsdrop.intake.uploads import Upload
from smsdrop.output.page_data import PageData
from smsdrop.output.page_files import PageFiles
from smsdrop.output.results_file import ReportKeys
from smsdrop.scale.chunk_ports import chunk_ports
from smsdrop.scale.keys import ScaleKeys
from smsdrop.scale.starter import ScaleOut
from smsdrop.scale.steps import ScaleSteps
from smsdrop.send.clients import Clients
from smsdrop.send.ports import RunnerPorts
from tests.fixtures.jobs import NO_DEADLINE, JobHarness

ROWS = 1200  # blank lines among them: data rows are fewer
CHUNK_ROWS = 150
MSG_ID = 5  # the results file's msgId column: the provider's, different for every send


@pytest.fixture
def engine(aws: LocalAws, bare_moto: str) -> Engine:
    return deploy(aws, bare_moto, max_concurrency=4)


@pytest.fixture
def scaled(harness: JobHarness, engine: Engine) -> Iterator[list[dict[str, Any]]]:
    """Moto's Lambda invocations reach the steps (chunks of CHUNK_ROWS) while the test runs; the invocations' log."""
    settings = replace(harness.settings, chunk_rows=CHUNK_ROWS)
    with steps_routed(900_000, lambda: ScaleSteps(settings, harness.clients)) as log:
        yield log


def start(engine: Engine, upload: Upload) -> dict[str, Any]:
    return ScaleOut(engine.sfn, engine.state_machine_arn, min_bytes=1).start(upload)


def run_scaled(engine: Engine, upload: Upload) -> dict[str, Any]:
    started = start(engine, upload)
    return engine.wait(started["execution"], timeout_s=120)


def results_lines(harness: JobHarness, upload: Upload) -> list[list[str]]:
    """The job's results file without msgIds, generated orderIds without the job id that starts them."""
    s3, key = harness.aws.client("s3"), ReportKeys.of(upload).results
    text = s3.get_object(Bucket=upload.bucket, Key=key)["Body"].read().decode()
    lines = [line[:MSG_ID] + line[MSG_ID + 1 :] for line in csv.reader(io.StringIO(text))]
    return [[without_job(cell, upload.job_id) for cell in line] for line in lines]


def without_job(cell: str, job_id: str) -> str:
    """A cell with the job id (and the mark a cell starting with a digit gets: output/excel_cells.py) as <job>."""
    cell = cell.replace(job_id, "<job>")
    return cell[1:] if cell.startswith("'<job>") else cell


def test_a_file_over_many_chunks_gets_the_same_answer_for_every_row_as_on_one_function(
    harness: JobHarness, engine: Engine, scaled: list[dict[str, Any]]
) -> None:
    body = scale_csv(ROWS)
    one = harness.upload(body, "incoming/one.csv")
    harness.run_to_end(one, lambda: NO_DEADLINE)
    harness.simulator.reset_audit()
    many = harness.upload(body, "incoming/many.csv")

    execution = run_scaled(engine, many)

    assert execution["status"] == "SUCCEEDED", execution
    expected, got = results_lines(harness, one), results_lines(harness, many)
    assert got == expected
    reasons = " ".join(line[4] for line in got)
    assert "duplicate of row" in reasons
    assert "orderId" in reasons
    job = harness.job(many)
    assert job["state"] == "COMPLETED"
    assert job["engine"] == "stepfunctions"
    assert int(job["chunks"]) == 8
    assert nonzero(job["counts"]) == nonzero(harness.job(one)["counts"])
    assert_sent_once(harness, many, int(harness.job(one)["rows"]))
    assert {entry["step"] for entry in scaled} == {"plan", "index", "merge", "send", "finish"}
    assert not list_keys(harness, ScaleKeys(many.job_id).folder)  # working objects removed
    summary = harness.aws.client("s3").get_object(Bucket=many.bucket, Key=ReportKeys.of(many).summary)["Body"].read()
    assert json.loads(summary)["intake"]["format"] == "CSV"  # the plan's reader's report of the whole file
    one_summary = harness.aws.client("s3").get_object(Bucket=one.bucket, Key=ReportKeys.of(one).summary)["Body"]
    assert json.loads(summary)["cost"] == json.loads(one_summary.read())["cost"]  # the chunks' costs added up
    pages = PageFiles(harness.aws.client("s3"))
    one_page, many_page = (
        pages.read(one.bucket, ReportKeys.of(one).page),
        pages.read(many.bucket, ReportKeys.of(many).page),
    )
    assert tallies(many_page) == tallies(one_page)  # the report page's reasons and countries: the chunks' added up
    assert {span.name for span in many_page.spans} >= {f"{one_page.spans[0].name} of chunk 7"}


def test_a_second_start_of_the_same_job_starts_nothing(
    harness: JobHarness, engine: Engine, scaled: list[dict[str, Any]]
) -> None:
    upload = harness.upload(scale_csv(300), "incoming/twice.csv")
    first, again = start(engine, upload), start(engine, upload)  # the same S3 event delivered twice
    assert again.get("execution", first["execution"]) == first["execution"]  # running: the same execution
    engine.wait(first["execution"], timeout_s=60)

    late = start(engine, upload)  # once it has ended: ExecutionAlreadyExists, harmless

    assert late == {"job_id": upload.job_id, "engine": "stepfunctions", "started": False}
    assert [e["name"] for e in engine.executions()] == [upload.job_id]
    assert harness.simulator.audit().duplicate_numbers == 0
    assert harness.job(upload)["state"] == "COMPLETED"


def test_a_file_refused_by_the_plan_closes_the_job_failed_with_its_reason(
    harness: JobHarness, engine: Engine, scaled: list[dict[str, Any]]
) -> None:
    upload = harness.upload(b"Phone,Message\n", "incoming/header-only.csv")

    execution = run_scaled(engine, upload)

    assert execution["status"] == "FAILED"
    job = harness.job(upload)
    assert job["state"] == "FAILED"
    assert "header" in job["error"].lower()
    assert harness.simulator.audit().calls == 0


def tallies(page: PageData) -> tuple[list[tuple[str, str, int]], list[tuple[str, int, int, str]]]:
    """A report page's reason groups (status, code, count) and countries (code, numbers, parts, estimate)."""
    reasons = sorted((group.status, group.code, group.count) for group in page.reasons)
    return reasons, sorted((c.code, c.numbers, c.parts, str(c.estimate)) for c in page.countries)


def assert_sent_once(harness: JobHarness, upload: Upload, data_rows: int) -> None:
    """One item per row; every SUBMITTED item is one number the simulator accepted, and nothing was accepted twice
    (JobHarness.assert_promises_kept, but for a file whose repeated orderIds are rejected rows)."""
    items = harness.items(upload)
    assert sorted(int(i["row"]) for i in items) == sorted({int(i["row"]) for i in items})
    assert len(items) == data_rows
    audit = harness.simulator.audit()
    assert audit.duplicate_numbers == audit.duplicate_order_ids == 0
    submitted = {(i["number"], i["order_id"], i["msg_id"]) for i in items if i["status"] == "SUBMITTED"}
    assert submitted == {(a.number, a.order_id, a.msg_id) for a in audit.accepted}


def nonzero(counts: dict[str, Any]) -> dict[str, int]:
    return {status: int(n) for status, n in counts.items() if n}


def list_keys(harness: JobHarness, prefix: str) -> list[str]:
    answer = harness.aws.client("s3").list_objects_v2(Bucket=harness.aws.names.bucket, Prefix=prefix)
    return [o["Key"] for o in answer.get("Contents", [])]


KILLED = "killed after the provider took the call"


class ChildDiedError(Exception):
    """The child's invocation ends here, as a killed function's would: after the provider took the call."""


def dying_once(died: list[int]) -> Callable[[Settings, Clients], RunnerPorts]:
    """Chunk ports whose gateway dies once, right after the provider accepted its first call."""

    def ports(settings: Settings, clients: Clients) -> RunnerPorts:
        real = chunk_ports(settings, clients)

        class Dying:
            def send(self, items: Any, time_left: Any = None) -> Any:
                outcomes = real.gateway.send(items, time_left)
                if not died:
                    died.extend(r.row for item in items for r in item.recipients)
                    raise ChildDiedError(KILLED)
                return outcomes

        return replace(real, gateway=Dying())

    return ports


def test_a_child_that_dies_after_the_provider_took_its_call_is_retried_and_sends_no_row_twice(
    harness: JobHarness, engine: Engine
) -> None:
    upload = harness.upload(scale_csv(300), "incoming/dies.csv")
    died: list[int] = []
    settings = replace(harness.settings, chunk_rows=100)
    with steps_routed(900_000, lambda: ScaleSteps(settings, harness.clients, ports=dying_once(died))) as log:
        execution = run_scaled(engine, upload)

    assert execution["status"] == "SUCCEEDED"
    assert [entry["error"] for entry in log if "error" in entry] == [f"ChildDiedError: {KILLED}"]
    items = {int(item["row"]): item for item in harness.items(upload)}
    assert {items[row]["status"] for row in died} == {"UNKNOWN"}  # in flight when it died: never sent again
    audit = harness.simulator.audit()
    assert audit.duplicate_numbers == audit.duplicate_order_ids == 0
    job = harness.job(upload)
    assert job["state"] == "COMPLETED"
    assert int(job["rows"]) == len(items)  # the chunk that died recounts its own rows only, not the job's
    assert nonzero(job["counts"]) == dict(Counter(item["status"] for item in items.values()))
