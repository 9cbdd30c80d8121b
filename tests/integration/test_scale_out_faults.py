"""The scale-out engine on moto server under what can go wrong outside it: the provider's faults (HTTP 500 before
accepting, stalls past the read timeout after accepting) on the engine compared with one function on the same file,
and a child stopped by Lambda's timeout (not an exception) mid-work, retried once its lease has lapsed."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import pytest

from bench.scale_csv import scale_csv
from bench.scale_out import (
    FAULT_SEED,
    FAULTS,
    REASON,
    SENT,
    AuditCheck,
    check_audit,
    comparable,
    compare,
    results_lines,
)
from local.aws import LocalAws
from local.gateway_sim import Audit, GatewaySimulator
from local.stepfunctions import TIMED_OUT, Engine, Sandbox, WaitClock, current_sandbox, deploy, steps_routed
from smsdrop.config import Settings
from smsdrop.intake.uploads import Upload
from smsdrop.models import CallItem, Outcome, Status
from smsdrop.scale.chunk_ports import chunk_ports
from smsdrop.scale.starter import ScaleOut
from smsdrop.scale.steps import ScaleSteps
from smsdrop.send.clients import Clients
from smsdrop.send.ports import Gateway, RunnerPorts
from tests.fixtures.jobs import NO_DEADLINE, JobHarness

ROWS = 2000  # blank lines among them: data rows are fewer (moto reads the row items back at ~300 a second)
CHUNK_ROWS = 250  # 8 chunks
NUMBERS_PER_CALL = 30  # ~66 calls a path: at 10% + 10% a call, no fault at all has odds of ~1e-6
READ_TIMEOUT_S = 1.0  # a stall lasts a second longer; a slow answer past it is UNKNOWN too, which the comparison allows


@pytest.fixture
def simulator() -> Iterator[GatewaySimulator]:
    """The simulator with the fault runs' seed (its draws are seeded; which call gets which depends on timing)."""
    with GatewaySimulator(seed=FAULT_SEED) as sim:
        yield sim


@pytest.fixture
def engine(aws: LocalAws, bare_moto: str) -> Engine:
    return deploy(aws, bare_moto, max_concurrency=4)


def run_scaled(engine: Engine, upload: Upload) -> dict[str, Any]:
    started = ScaleOut(engine.sfn, engine.state_machine_arn, min_bytes=1).start(upload)
    return engine.wait(started["execution"], timeout_s=240)


@pytest.mark.timeout(600)  # a safety net against a hang, not a speed check (~35 s alone on 2 cores)
def test_provider_faults_change_only_which_rows_are_submitted_or_unknown_on_the_engine_as_on_one_function(
    harness: JobHarness, engine: Engine
) -> None:
    settings = replace(
        harness.settings, chunk_rows=CHUNK_ROWS, numbers_per_call=NUMBERS_PER_CALL, read_timeout_s=READ_TIMEOUT_S
    )
    faulty = JobHarness(harness.aws, harness.simulator, settings)
    harness.simulator.set_faults(**FAULTS, stall_s=READ_TIMEOUT_S + 1.0)
    body = scale_csv(ROWS)
    one = faulty.upload(body, "incoming/one.csv")
    faulty.run_to_end(one, lambda: NO_DEADLINE)
    one_audit = harness.simulator.audit()
    harness.simulator.reset_audit()
    many = faulty.upload(body, "incoming/many.csv")

    with steps_routed(900_000, lambda: ScaleSteps(settings, harness.clients)):
        execution = run_scaled(engine, many)

    assert execution["status"] == "SUCCEEDED", execution
    s3 = harness.aws.client("s3")
    one_lines, many_lines = results_lines(s3, one), results_lines(s3, many)
    comparison = compare(comparable(one_lines, one.job_id), comparable(many_lines, many.job_id))
    assert comparison.mismatches == []  # decided rows line for line; sent rows SUBMITTED or UNKNOWN on both paths
    rows = int(harness.job(one)["rows"])
    assert comparison.rows == rows == int(harness.job(many)["rows"]) == comparison.decided + comparison.sent
    reasons = " ".join(line[REASON] for line in many_lines)
    assert "duplicate of row" in reasons
    assert "orderId" in reasons
    assert check_audit(one_lines, one_audit) == AuditCheck(len(one_audit.accepted), 0, 0, 0, 0)
    many_audit = harness.simulator.audit()
    assert check_audit(many_lines, many_audit) == AuditCheck(len(many_audit.accepted), 0, 0, 0, 0)
    job = harness.job(many)
    assert job["state"] == "COMPLETED"
    assert int(job["chunks"]) >= 8
    items = assert_sent_at_most_once(harness, many, many_audit, rows)
    statuses = Counter(item["status"] for item in items)
    assert statuses["UNKNOWN"] > 0  # the faults hit rows: the comparison above was not vacuous
    assert {status: int(n) for status, n in job["counts"].items() if n} == dict(statuses)


def assert_sent_at_most_once(harness: JobHarness, upload: Upload, audit: Audit, data_rows: int) -> list[dict[str, Any]]:
    """One item per row; every SUBMITTED item is a number the simulator accepted; nothing was accepted twice; every
    accepted number is SUBMITTED or UNKNOWN (never resent: a fault leaves it UNKNOWN)."""
    items = harness.items(upload)
    assert len(items) == len({int(i["row"]) for i in items}) == data_rows
    assert audit.duplicate_numbers == audit.duplicate_order_ids == 0
    accepted = {(a.number, a.order_id, a.msg_id) for a in audit.accepted}
    assert {(i["number"], i["order_id"], i["msg_id"]) for i in items if i["status"] == "SUBMITTED"} <= accepted
    status_of = {(i["number"], i["order_id"]): i["status"] for i in items if i["status"] in SENT}
    assert all(status_of.get((a.number, a.order_id)) in SENT for a in audit.accepted)
    return items


class TimedOutOnce:
    """Chunk ports whose gateway, once the provider has accepted a call for the first time, has Lambda's timeout stop
    the sandbox: the trigger is that answer (an event of the work itself), not a timer racing it."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        """The rows of the call the provider accepted just before the timeout."""
        self._lock = threading.Lock()

    def ports(self, settings: Settings, clients: Clients) -> RunnerPorts:
        """Today's chunk ports, the gateway's answers watched (built on the invocation's thread: its sandbox's)."""
        real = chunk_ports(settings, clients)
        return replace(real, gateway=_StoppingGateway(real.gateway, current_sandbox(), self))

    def first(self, items: Sequence[CallItem]) -> bool:
        """Whether this accepted call is the first (its rows kept)."""
        with self._lock:
            if self.rows:
                return False
            self.rows.extend(r.row for item in items for r in item.recipients)
            return True


class _StoppingGateway:
    def __init__(self, real: Gateway, sandbox: Sandbox, trigger: TimedOutOnce) -> None:
        self._real, self._sandbox, self._trigger = real, sandbox, trigger

    def send(self, items: Sequence[CallItem], time_left: Callable[[], float] | None = None) -> dict[int, Outcome]:
        self._sandbox.gate()  # a stopped sandbox calls the provider no more
        outcomes = self._real.send(items, time_left)
        accepted = any(o.status is Status.SUBMITTED for o in outcomes.values())
        if accepted and self._trigger.first(items):
            self._sandbox.time_out()  # never returns: nothing of this invocation is recorded or sent any more
        return outcomes


@pytest.mark.timeout(300)  # a safety net against a hang (~12 s alone: the Retry's 5 s and two 1 s Waits are real)
def test_a_child_stopped_by_lambdas_timeout_is_retried_once_its_lease_lapses_and_sends_no_row_twice(
    harness: JobHarness, engine: Engine
) -> None:
    upload = harness.upload(scale_csv(300), "incoming/timed-out.csv")
    settings = replace(harness.settings, chunk_rows=100, lease_seconds=300)  # the retry surely finds the lease held
    clock = WaitClock(settings.lease_seconds)  # each wait the Send step asks for lasts a lease, without waiting it
    stopped = TimedOutOnce()

    def steps() -> ScaleSteps:
        return ScaleSteps(settings, current_sandbox().enclose(harness.clients), clock, ports=stopped.ports)

    with steps_routed(900_000, steps, sandboxes=True, clock=clock) as log:
        execution = run_scaled(engine, upload)

    assert execution["status"] == "SUCCEEDED", execution
    (timed_out,) = [entry for entry in log if "error" in entry]
    assert timed_out["step"] == "send"
    assert timed_out["error"].startswith(f"{TIMED_OUT}: RequestId: ")
    assert timed_out["error"].endswith("Error: Task timed out after 900.00 seconds")
    again = [e for e in log if e["step"] == "send" and e["chunk"] == timed_out["chunk"] and e["at"] > timed_out["at"]]
    assert again[0]["result"]["end"] == "BUSY"  # the Retry found the stopped holder's lease: the chunk waited
    assert again[-1]["result"]["done"] is True
    assert clock.waits >= 1
    job = harness.job(upload)
    assert job["state"] == "COMPLETED"
    audit = harness.simulator.audit()
    sent = assert_sent_at_most_once(harness, upload, audit, int(job["planned_rows"]))  # the Plan's count of data rows
    items = {int(item["row"]): item for item in sent}
    assert stopped.rows
    assert {items[row]["status"] for row in stopped.rows} == {"UNKNOWN"}  # in flight when it stopped: never resent
    accepted = Counter((a.number, a.order_id) for a in audit.accepted)
    assert {accepted[items[row]["number"], items[row]["order_id"]] for row in stopped.rows} == {1}
    assert int(job["rows"]) == len(items)  # the stopped chunk's recount counts its own rows, not the job's
    assert {status: int(n) for status, n in job["counts"].items() if n} == Counter(i["status"] for i in items.values())
