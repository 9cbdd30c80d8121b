"""The scale-out engine on moto server: moto's Step Functions executes statemachine/scale_out.asl.json (Distributed
Maps included) and its Lambda invocations reach our real steps in this process (moto server runs in a thread here).

Each invocation runs on the thread moto's request handler gives it, with steps of its own per thread (as each
Lambda container builds its own): moto runs a Map's children on threads, so chunks run side by side, at most
MaxConcurrency at a time. The engine's clients talk to moto itself (MOTO_PORT), not through the limits proxy.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from local import ROOT
from local.aws import LocalAws
from local.invoke import LocalContext
from smsdrop.config import Settings
from smsdrop.scale.steps import ScaleSteps, dispatch
from smsdrop.send.clients import Clients

ASL = ROOT / "statemachine" / "scale_out.asl.json"
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
FUNCTION = "ScaleFunction"
FINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


def definition(function_arn: str, max_concurrency: int, lease_seconds: int) -> str:
    """The state machine's definition with the template's DefinitionSubstitutions filled in."""
    values = {"ScaleFunctionArn": function_arn, "MaxConcurrency": max_concurrency, "LeaseSeconds": lease_seconds}
    text = ASL.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", str(value))
    return text


@dataclass(frozen=True, slots=True)
class Engine:
    """The state machine deployed on moto server, and how to wait for an execution."""

    state_machine_arn: str
    sfn: Any

    def wait(self, execution_arn: str, timeout_s: float = 600.0) -> dict[str, Any]:
        """The execution once it has ended (describe_execution's answer)."""
        deadline = time.monotonic() + timeout_s
        while True:
            answer: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            if answer["status"] in FINAL or time.monotonic() > deadline:
                return answer
            time.sleep(0.2)

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of the state machine."""
        answer: list[dict[str, Any]] = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return answer


def deploy(aws: LocalAws, moto_url: str, max_concurrency: int, lease_seconds: int = 1) -> Engine:
    """Switch moto server to executing state machines, and create the scale function and the state machine."""
    requests.post(f"{moto_url}/moto-api/config", json=MOTO_CONFIG, timeout=10).raise_for_status()
    os.environ["MOTO_PORT"] = str(urlsplit(moto_url).port)  # where moto's engine sends its own calls
    role = _role(aws)
    name = f"{FUNCTION}-{aws.names.bucket}"
    function_arn = aws.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler", Code={"ZipFile": _empty_zip()}
    )["FunctionArn"]
    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"{aws.names.bucket}-scale-out",
        definition=definition(function_arn, max_concurrency, lease_seconds),
        roleArn=role,
        type="STANDARD",
    )["stateMachineArn"]
    return Engine(arn, sfn)


@contextmanager
def steps_routed(budget_ms: int, steps: Callable[[], ScaleSteps] | None = None) -> Iterator[list[dict[str, Any]]]:
    """Route moto's Lambda invocations to our steps while this lasts; yields the log of invocations (step, chunk,
    result or error). `steps` builds one thread's steps (default: from the environment, as the function does)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    build = steps or (lambda: ScaleSteps(Settings.from_env(), Clients.default()))
    log: list[dict[str, Any]] = []
    local = threading.local()
    original = LambdaSimpleBackend.invoke

    def invoke(backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, answer: Any) -> bytes:
        if not hasattr(local, "steps"):
            local.steps = build()
        event = json.loads(body or "{}")
        return _invoke(local.steps, event, LocalContext(budget_ms, function_name=FUNCTION), answer, log)

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    try:
        yield log
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]


def _invoke(
    steps: ScaleSteps, event: dict[str, Any], context: LocalContext, answer: dict[str, Any], log: list[dict[str, Any]]
) -> bytes:
    """One invocation: the step's result, or Lambda's error payload with the function-error header."""
    entry = {"step": event.get("step"), "chunk": (event.get("chunk") or {}).get("index"), "at": time.monotonic()}
    try:
        result = dispatch(steps, event, context.get_remaining_time_in_millis)
    except Exception as error:
        answer["x-amz-function-error"] = "Unhandled"
        log.append({**entry, "error": f"{type(error).__name__}: {error}"})
        payload = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": traceback.format_exc()}
        return json.dumps(payload).encode()
    log.append({**entry, "result": result, "s": round(time.monotonic() - entry["at"], 3)})
    return json.dumps(result).encode()


def _role(aws: LocalAws) -> str:
    iam = aws.client("iam")
    name = f"scale-out-{aws.names.bucket}"
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"])


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# the local stack runs smsdrop.scale in process (local.stepfunctions)\n")
    return buffer.getvalue()
