"""statemachine/scale_out.asl.json and its place in template.yaml: a definition moto's ASL parser reads, whose every
transition lands on a state, every state is reached, every failure closes the job, and whose substitutions the
template fills (cfn-lint does not read a DefinitionUri file; tests/unit/test_template.py lints the rest)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from cfnlint.decode.cfn_yaml import load
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from local import ROOT
from local.stepfunctions import ASL, definition

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:ScaleFunction"
SCALE_OUT_ARN = "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-scale-out"


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    template: dict[str, Any] = json.loads(json.dumps(load(str(ROOT / "template.yaml"))))
    return template["Resources"]


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(definition(FUNCTION_ARN, max_concurrency=10))
    return parsed


def machines(asl: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The definition and each Map's item processor: each a machine of its own (StartAt, States)."""
    yield asl
    for state in asl["States"].values():
        if state["Type"] == "Map":
            yield from machines(state["ItemProcessor"])


def targets(state: dict[str, Any]) -> Iterator[str]:
    """The states a state may go to next."""
    if "Next" in state:
        yield state["Next"]
    yield from (choice["Next"] for choice in state.get("Choices", []))
    if "Default" in state:
        yield state["Default"]
    yield from (catch["Next"] for catch in state.get("Catch", []))


def test_moto_s_asl_parser_reads_the_definition() -> None:
    AmazonStateLanguageParser.parse(definition(FUNCTION_ARN, max_concurrency=10))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_transition_lands_on_a_state_of_its_machine_and_every_state_is_reached(
    asl: dict[str, Any], index: int
) -> None:
    machine = list(machines(asl))[index]
    states = machine["States"]
    reached, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(targets(states[name]))
    assert reached == set(states)


CLOSE_FAILED = {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CloseFailed"}


def test_every_step_that_can_fail_closes_the_job_failed(asl: dict[str, Any]) -> None:
    states = asl["States"]
    catching = {name for name, state in states.items() if state["Type"] in ("Task", "Map") and name != "CloseFailed"}
    for name in catching:
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "CloseFailed"}
        ]
    assert states["CloseFailed"]["Next"] == "JobFailed"
    assert states["JobFailed"]["Type"] == "Fail"


def test_the_maps_are_distributed_over_the_plan_and_send_at_most_max_concurrency_chunks(asl: dict[str, Any]) -> None:
    for name in ("Index", "Send"):
        state = asl["States"][name]
        assert state["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
        assert state["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
        assert state["ItemReader"]["Parameters"] == {"Bucket.$": "$.upload.bucket", "Key.$": "$.plan.key"}
        assert state["MaxConcurrency"] == 10
        assert not {"ItemBatcher", "ToleratedFailurePercentage"} & set(state)  # moto gaps (docs/scale-out.md)


def test_a_chunk_is_sent_again_until_its_runner_says_it_is_done(asl: dict[str, Any]) -> None:
    chunk = asl["States"]["Send"]["ItemProcessor"]["States"]
    assert chunk["SendChunk"]["Next"] == "ChunkDone"
    assert set(targets(chunk["ChunkDone"])) == {"ChunkClosed", "NotYet", "SendChunk"}
    assert chunk["SendChunk"]["ResultSelector"] == {"done.$": "$.Payload.done", "wait_s.$": "$.Payload.wait_s"}
    assert chunk["NotYet"] == {**chunk["NotYet"], "SecondsPath": "$.sent.wait_s", "Next": "SendChunk"}


def test_every_task_invokes_the_scale_function_with_its_step(asl: dict[str, Any]) -> None:
    tasks = [s for m in machines(asl) for s in m["States"].values() if s["Type"] == "Task"]
    steps = {task["Parameters"]["Payload"]["step"] for task in tasks}
    assert steps == {"plan", "index", "merge", "send", "finish", "fail"}
    assert {task["Parameters"]["FunctionName"] for task in tasks} == {FUNCTION_ARN}


def test_the_template_fills_every_substitution_of_the_definition(resources: dict[str, Any]) -> None:
    props = resources["ScaleOutStateMachine"]["Properties"]
    assert (props["Type"], props["DefinitionUri"]) == ("STANDARD", "statemachine/scale_out.asl.json")
    assert set(re.findall(r"\$\{(\w+)\}", ASL.read_text())) == set(props["DefinitionSubstitutions"])
    assert props["DefinitionSubstitutions"]["ScaleFunctionArn"] == {"Fn::GetAtt": ["ScaleFunction", "Arn"]}
    assert props["DefinitionSubstitutions"]["MaxConcurrency"] == {"Ref": "ScaleOutMaxConcurrency"}


def test_the_state_machine_may_start_only_its_own_children_by_a_built_arn(resources: dict[str, Any]) -> None:
    props = resources["ScaleOutStateMachine"]["Properties"]
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-scale-out"}
    statements = [s for p in props["Policies"] if "Statement" in p for s in p["Statement"]]
    starts = [s for s in statements if s["Action"] == "states:StartExecution"]
    assert [s["Resource"] for s in starts] == [{"Fn::Sub": SCALE_OUT_ARN}]  # not a Ref to itself: no cycle
    assert {"LambdaInvokePolicy": {"FunctionName": {"Ref": "ScaleFunction"}}} in props["Policies"]


def test_the_ingest_function_starts_the_state_machine_by_the_same_built_arn(resources: dict[str, Any]) -> None:
    env = resources["IngestFunction"]["Properties"]["Environment"]["Variables"]
    assert env["STATE_MACHINE_ARN"] == {"Fn::Sub": SCALE_OUT_ARN}
    assert env["SCALE_OUT_BYTES"] == {"Ref": "ScaleOutBytes"}
