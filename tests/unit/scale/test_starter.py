"""Which uploads start the scale-out state machine, and that a second start of a job is harmless."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from local import ROOT
from smsdrop.config import Settings
from smsdrop.intake.uploads import Upload
from smsdrop.scale.starter import ENGINE, ScaleOut, build_scale_out
from smsdrop.scale.steps import UnknownStepError, dispatch, failure_reason
from smsdrop.send.handler_support import run_jobs

Logger()  # the function's own logger, as its handler module makes it (run_jobs logs through a child of it)
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:smsdrop-scale-out"
BIG = Upload("b", "incoming/big.csv", "v1", '"e"', 10_000)


class FakeStepFunctions:
    def __init__(self) -> None:
        self.names: list[str] = []

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:  # noqa: N803
        if name in self.names:
            raise ClientError({"Error": {"Code": "ExecutionAlreadyExists", "Message": "x"}}, "StartExecution")
        self.names.append(name)
        assert json.loads(input)["upload"]["job_id"] == name
        return {"executionArn": f"{ARN}:{name}"}


class NoRunner:
    def run(self, upload: Upload, remaining_ms: Any) -> Any:
        raise AssertionError("a scaled-out upload never reaches the runner")


@pytest.mark.parametrize(("size", "minimum", "arn", "takes"), [
    (10_000, 10_000, ARN, True),
    (9_999, 10_000, ARN, False),
    (10_000, 0, ARN, False),
    (10_000, 10_000, "", False),
])  # fmt: skip
def test_only_files_of_the_threshold_or_more_go_to_the_state_machine(size, minimum, arn, takes) -> None:
    upload = Upload("b", "incoming/f.csv", "v", "", size)
    assert ScaleOut(FakeStepFunctions(), arn, minimum).takes(upload) is takes


def test_without_the_settings_there_is_no_starter_and_no_client() -> None:
    assert build_scale_out(Settings()) is None
    assert build_scale_out(Settings(scale_out_bytes=1)) is None
    assert build_scale_out(Settings(scale_out_bytes=1, state_machine_arn=ARN), sfn=object()) is not None


def test_the_execution_is_named_after_the_job_and_a_second_start_says_it_started_nothing() -> None:
    sfn = FakeStepFunctions()
    engine = ScaleOut(sfn, ARN, 1)
    first, again = engine.start(BIG), engine.start(BIG)
    assert first == {
        "job_id": BIG.job_id,
        "engine": "stepfunctions",
        "started": True,
        "execution": f"{ARN}:{BIG.job_id}",
    }
    assert again == {"job_id": BIG.job_id, "engine": ENGINE, "started": False}
    assert sfn.names == [BIG.job_id]


def test_an_s3_event_for_a_big_file_starts_the_engine_but_a_continuation_message_never_does() -> None:
    s3_event = json.loads((ROOT / "events" / "s3-put.json").read_text())
    s3_event["Records"][0]["s3"]["object"]["size"] = BIG.size
    engine = ScaleOut(FakeStepFunctions(), ARN, 1)
    answer = run_jobs(NoRunner, s3_event, lambda: 900_000, scale_out=lambda: engine)  # type: ignore[arg-type]
    assert [run["engine"] for run in answer["runs"]] == ["stepfunctions"]
    continuation = json.loads((ROOT / "events" / "continuation.json").read_text())
    with pytest.raises(AssertionError, match="never reaches the runner"):
        run_jobs(NoRunner, continuation, lambda: 900_000, scale_out=lambda: engine)  # type: ignore[arg-type]


@pytest.mark.parametrize(("error", "reason"), [
    ({"Error": "FileRefused", "Cause": json.dumps({"errorMessage": "the file is empty", "errorType": "X"})},
     "the file is empty"),
    ({"Error": "States.Timeout", "Cause": "took too long"}, "took too long"),
    ({"Error": "States.Runtime"}, "States.Runtime"),
    ({}, "the state machine failed"),
])  # fmt: skip
def test_the_job_s_error_is_the_function_s_message_or_what_the_state_machine_said(error, reason) -> None:
    assert failure_reason(error) == reason


def test_a_step_the_function_does_not_have_fails_loudly() -> None:
    event = {"step": "nope", "upload": BIG.to_message()}
    with pytest.raises(UnknownStepError, match="no step 'nope'"):
        dispatch(None, event, lambda: 900_000)  # type: ignore[arg-type]  # never reached
