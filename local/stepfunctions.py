"""The scale-out engine on moto server: moto's Step Functions executes statemachine/scale_out.asl.json (Distributed
Maps included) and its Lambda invocations reach our real steps in this process (moto server runs in a thread here).

Each invocation runs on the thread moto's request handler gives it, with steps of its own per thread (as each
Lambda container builds its own): moto runs a Map's children on threads, so chunks run side by side, at most
MaxConcurrency at a time. The engine's clients talk to moto itself (MOTO_PORT), not through the limits proxy.

With `sandboxes=True` each thread's steps are a Lambda execution environment whose invocations run on a worker
thread, so a test can play Lambda's timeout (not an exception): the invocation answers "Sandbox.Timedout" while the
stopped code never reaches AWS or the provider again (`Sandbox`). A `WaitClock` lets the leases such a sandbox leaves
lapse without waiting them in real time.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
import traceback
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, NoReturn
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
TIMED_OUT = "Sandbox.Timedout"
"""Lambda's errorType for an invocation its timeout stopped (Step Functions' error name for it)."""


def definition(function_arn: str, max_concurrency: int) -> str:
    """The state machine's definition with the template's DefinitionSubstitutions filled in."""
    values = {"ScaleFunctionArn": function_arn, "MaxConcurrency": max_concurrency}
    text = ASL.read_text()
    for name, value in values.items():
        text = text.replace("${" + name + "}", str(value))
    return text


@dataclass(frozen=True, slots=True)
class Engine:
    """The state machine deployed on moto server, and how to wait for an execution."""

    state_machine_arn: str
    sfn: Any

    def wait(
        self, execution_arn: str, timeout_s: float = 600.0, on_poll: Callable[[], None] = lambda: None
    ) -> dict[str, Any]:
        """The execution once it has ended (describe_execution's answer); `on_poll` is called at each look."""
        deadline = time.monotonic() + timeout_s
        while True:
            answer: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
            on_poll()
            if answer["status"] in FINAL or time.monotonic() > deadline:
                return answer
            time.sleep(0.2)

    def executions(self) -> list[dict[str, Any]]:
        """Every execution of the state machine."""
        answer: list[dict[str, Any]] = self.sfn.list_executions(stateMachineArn=self.state_machine_arn)["executions"]
        return answer


def deploy(aws: LocalAws, moto_url: str, max_concurrency: int) -> Engine:
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
        definition=definition(function_arn, max_concurrency),
        roleArn=role,
        type="STANDARD",
    )["stateMachineArn"]
    return Engine(arn, sfn)


@contextmanager
def steps_routed(
    budget_ms: int,
    steps: Callable[[], ScaleSteps] | None = None,
    *,
    sandboxes: bool = False,
    clock: WaitClock | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Route moto's Lambda invocations to our steps while this lasts; yields the log of invocations (step, chunk,
    result or error). `steps` builds one thread's steps (default: from the environment, as the function does).

    `sandboxes`: each thread's steps are a Lambda execution environment (`Sandbox`, `current_sandbox()` while they
    are built and while an invocation runs) whose invocations run on a worker thread of their own, so Lambda's timeout
    can stop one mid-work (`Sandbox.time_out`). `clock`: the steps' clock, moved on by every wait a send step asks
    for (`WaitClock`)."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    build = steps or (lambda: ScaleSteps(Settings.from_env(), Clients.default()))
    log: list[dict[str, Any]] = []
    local = threading.local()
    over = threading.Event()  # the routing has ended: stopped sandboxes' threads may unwind
    original = LambdaSimpleBackend.invoke

    def invoke(
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        answer: Any,
    ) -> bytes:
        if not hasattr(local, "steps"):
            local.sandbox = Sandbox(over) if sandboxes else None
            with _building(local.sandbox):
                local.steps = build()
        event: dict[str, Any] = json.loads(body or "{}")
        context = LocalContext(budget_ms, function_name=FUNCTION)
        at = time.monotonic()
        entry = {"step": event.get("step"), "chunk": (event.get("chunk") or {}).get("index"), "at": at}
        steps_now, sandbox = local.steps, local.sandbox
        if sandbox is None:
            ran: _Ran | None = _run(steps_now, event, context)
        else:
            ran = sandbox.invoke(lambda: _run(steps_now, event, context))
        if ran is None:  # Lambda stopped the sandbox: the next invocation on this thread is a cold start
            del local.steps, local.sandbox
            ran = _Ran(_timed_out(context), function_error=True)
        if ran.function_error:
            answer["x-amz-function-error"] = "Unhandled"
            log.append({**entry, "error": f"{ran.payload['errorType']}: {ran.payload['errorMessage']}"})
        else:
            if clock is not None and event.get("step") == "send":
                clock.after_send(ran.payload)
            log.append({**entry, "result": ran.payload, "s": round(time.monotonic() - at, 3)})
        return json.dumps(ran.payload).encode()

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]
    try:
        yield log
    finally:
        LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]
        over.set()


@dataclass(frozen=True, slots=True)
class _Ran:
    """What one invocation answers: the step's result, or Lambda's error payload."""

    payload: dict[str, Any]
    function_error: bool = False


def _run(steps: ScaleSteps, event: dict[str, Any], context: LocalContext) -> _Ran:
    """One invocation: the step's result, or Lambda's error payload (an exception, as the function-error header
    carries it: Retry and Catch see the exception's name as AWS would)."""
    try:
        return _Ran(dispatch(steps, event, context.get_remaining_time_in_millis))
    except Exception as error:
        payload = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": traceback.format_exc()}
        return _Ran(payload, function_error=True)


def _timed_out(context: LocalContext) -> dict[str, Any]:
    """Lambda's answer for an invocation its timeout stopped (what Step Functions then reports as the error)."""
    seconds = context.budget_ms / 1000
    message = f"RequestId: {context.aws_request_id} Error: Task timed out after {seconds:.2f} seconds"
    return {"errorType": TIMED_OUT, "errorMessage": message}


class SandboxStoppedError(BaseException):
    """Raised in a stopped sandbox's threads once the routing has ended, so that they unwind (none is left blocked
    for the interpreter's exit to wait on). Not an Exception: no `except Exception` of the steps catches it; and every
    call to AWS or the provider they try on the way raises it again, so nothing of theirs reaches either."""


_current = threading.local()


def current_sandbox() -> Sandbox:
    """The sandbox whose steps are being built, or whose invocation runs, on this thread (`steps_routed(...,
    sandboxes=True)`). Threads the steps start themselves (the runner's calls in flight) have none: take it when the
    ports are built (on the invocation's thread) and keep it."""
    sandbox: Sandbox | None = getattr(_current, "sandbox", None)
    if sandbox is None:
        raise RuntimeError("no sandbox on this thread: route the steps with steps_routed(..., sandboxes=True)")
    return sandbox


@contextmanager
def _building(sandbox: Sandbox | None) -> Iterator[None]:
    _current.sandbox = sandbox
    try:
        yield
    finally:
        _current.sandbox = None


class Sandbox:
    """One Lambda execution environment: one thread's steps, and the worker threads its invocations run on.

    `time_out` plays Lambda's timeout: on AWS the function is stopped mid-work and its caller gets an error
    (errorType "Sandbox.Timedout"); the environment is discarded, and nothing of it runs again. Here the invocation
    answers moto with that error at once; the thread that called `time_out` waits for good, and every other thread of
    the sandbox stops at its next call to AWS (through clients given to `enclose`) or to the provider (through a port
    that asks `gate` first). Calls already on the wire finish, as on AWS. Once the routing ends, the stopped threads
    unwind by SandboxStoppedError, every call they try raising it again."""

    def __init__(self, routing_over: threading.Event) -> None:
        self._stopped = threading.Event()
        self._routing_over = routing_over
        self._invocation_over = threading.Event()

    @property
    def stopped(self) -> bool:
        """Whether Lambda's timeout stopped the sandbox."""
        return self._stopped.is_set()

    def enclose(self, clients: Clients) -> Clients:
        """`clients`, made for this sandbox alone, stopping the calling thread before each call and each request
        (their `before-call` and `before-send` hooks) once the sandbox is stopped."""
        for field in fields(clients):
            client = getattr(clients, field.name)
            if client is not None:
                for event in ("before-call", "before-send"):
                    client.meta.events.register_first(event, self._hook)
        return clients

    def gate(self) -> None:
        """Return while the sandbox runs; once it is stopped, never (until the routing ends, then raise
        SandboxStoppedError): what a port asks before it reaches outside the process."""
        if self._stopped.is_set():
            self._stay()

    def time_out(self) -> NoReturn:
        """Lambda's timeout strikes now (called from the sandbox's code, on any of its threads): the invocation
        answers Sandbox.Timedout at once, and this thread never runs another line of the step."""
        self._stopped.set()
        self._invocation_over.set()
        self._stay()

    def invoke(self, call: Callable[[], _Ran]) -> _Ran | None:
        """`call` (one invocation) on a worker thread of the sandbox: its answer, or None if Lambda's timeout stopped
        the sandbox first."""
        over = self._invocation_over = threading.Event()
        answers: list[_Ran] = []
        failures: list[BaseException] = []

        def work() -> None:
            _current.sandbox = self
            try:
                answers.append(call())
            except SandboxStoppedError:
                return
            except BaseException as error:  # handed to the invoking thread, raised there
                failures.append(error)
            over.set()

        threading.Thread(target=work, name=f"lambda-{FUNCTION}", daemon=True).start()
        over.wait()
        if self.stopped:
            return None
        if failures:
            raise failures[0]
        return answers[0]

    def _hook(self, **_: Any) -> None:
        self.gate()

    def _stay(self) -> NoReturn:
        self._routing_over.wait()
        raise SandboxStoppedError("Lambda's timeout stopped this sandbox")


class WaitClock:
    """The steps' clock (epoch seconds): real time, plus `wait_s` for every wait a send step asks the state machine
    for (its answer's `wait_s` above 0: its chunk held by another invocation, paused, or not to be sent yet).

    On AWS that Wait lasts what the step asked for, up to the lease a dead invocation left; moto's Wait states wait
    in real time, and the local settings keep them at a second. With this clock a lease left by a stopped sandbox
    lapses after the waits AWS would make, without making them. Every step reads the same clock: a jump only brings
    the leases and hops of the other chunks' runners nearer (their holders renew them; a hop ends early)."""

    def __init__(self, wait_s: float, now: Callable[[], float] = time.time) -> None:
        self.wait_s = wait_s
        self.waits = 0
        self._now = now
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now() + self.waits * self.wait_s

    def after_send(self, result: Mapping[str, Any]) -> None:
        """A send step answered `result`: if it asks for a wait, the wait has passed."""
        if (result.get("wait_s") or 0) > 0:
            with self._lock:
                self.waits += 1


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
