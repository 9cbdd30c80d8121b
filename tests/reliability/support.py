"""What the reliability scenarios share: a simulator that notes what the client could not know, DynamoDB
faults injected through botocore's event hooks, the items moto server holds, and the end-state checks."""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from botocore.awsrequest import AWSResponse
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from local import ROOT
from local.aws import REGION
from local.gateway_sim import GatewaySimulator
from smsdrop.models import UNKNOWN_REASON
from smsdrop.store.schema import JobRows
from tests.fixtures.jobs import READ_TIMEOUT_S

FUNCTION_READ_TIMEOUT_S = 2.0
"""The read timeout of functions run as processes (`function_env`): short, so stalls make late answers quickly; a test
that checks promises on them sets the simulator's `late_s` to it."""
RECOVERED = "recovered"  # the batch name of rows an invocation found in flight after an earlier one died
CONTENTS = ["Your order has shipped", "Sale ends tonight: 20% off", "Your code is 4471"]


def campaign(count: int, bad_every: int = 0) -> bytes:
    """A CSV of `count` rows: distinct numbers, three contents, two senders, unique orderIds; every
    `bad_every`-th row has a number with letters (rejected, never sent)."""
    lines = ["number,content,senderId,orderId"]
    for i in range(count):
        number = f"9198{i:08d}" if not bad_every or i % bad_every else f"9198{i:06d}AB"
        lines.append(f"{number},{CONTENTS[i % 3]},SHOP{i % 2},o{i}")
    return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------------------------------------- gateway


@dataclass(frozen=True, slots=True)
class Call:
    """One batch call as the simulator saw it."""

    order_ids: tuple[str, ...]
    api_key: str
    sign: str
    kind: str  # "answered", "late" (after the client's read timeout), "reset" (no answer) or "5xx" (ambiguous)
    status: int


class NotingSimulator(GatewaySimulator):
    """The gateway simulator, noting for every call its orderIds, the Api-Key that signed it, and whether the
    client could read the answer: not if the connection was reset, nor if it came after `late_s` (the client's
    read timeout; a stall waits `Faults.stall_s` past it). `on_call(order_ids)` runs before each call is handled
    (a crash test kills the caller there), `after_call(order_ids)` after it, before the answer leaves: the time either
    holds the answer counts towards `late_s`."""

    def __init__(self, late_s: float = READ_TIMEOUT_S, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.late_s = late_s
        self.on_call: Callable[[tuple[str, ...]], None] | None = None
        self.after_call: Callable[[tuple[str, ...]], None] | None = None
        self._calls: list[Call] = []
        self._notes = threading.Lock()

    def send_batch(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any] | None]:
        order_ids = _order_ids(body)
        started = time.monotonic()  # the client's read timeout runs from here: hooks that hold the answer count
        if self.on_call is not None:
            self.on_call(order_ids)
        status, answer = super().send_batch(headers, body)
        if self.after_call is not None:  # the answer waits for it, so its time counts towards the client's timeout
            self.after_call(order_ids)
        late = time.monotonic() - started >= self.late_s
        kind = "reset" if answer is None else "late" if late else "5xx" if status >= 500 else "answered"
        with self._notes:
            self._calls.append(Call(order_ids, headers.get("Api-Key", ""), headers.get("Sign", ""), kind, status))
        return status, answer

    @property
    def calls(self) -> list[Call]:
        """Every call so far, in the order they were handled."""
        with self._notes:
            return list(self._calls)

    def unreadable_order_ids(self) -> set[str]:
        """orderIds of calls whose answer the client could not read or trust (reset, late, or HTTP 5xx)."""
        return {o for call in self.calls if call.kind != "answered" for o in call.order_ids}


def _order_ids(body: bytes) -> tuple[str, ...]:
    try:
        array = json.loads(body).get("array") or []
        return tuple(o for item in array for o in str(item.get("orderId") or "").split(",") if o)
    except (ValueError, AttributeError):
        return ()


# ---------------------------------------------------------------------------------------------- DynamoDB


class _Body:
    """The raw body of an injected response, as botocore reads it."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterable[bytes]:
        yield self._data


def _error(url: str, status: int, code: str, message: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
    headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(url, status, headers, _Body(body))


@dataclass
class DynamoFaults:
    """Random DynamoDB trouble on one client, through botocore's event hooks:

    - throttling: the request is answered HTTP 400 ProvisionedThroughputExceededException before it is sent,
      which botocore's retry handler retries with backoff (standard mode, as smsdrop configures it);
    - lost answers: a write is applied by moto server, then answered HTTP 500, which botocore retries - so the
      write arrives twice (what DynamoDB means by "the request may or may not have been applied"); only a
      request's first attempt loses its answer, so a rate of 1 loses the first answer of every such write;
    - unprocessed items: BatchWriteItem writes a random part of its items and hands the rest back unprocessed.
    """

    throttle_rate: float = 0.0
    lost_answers: Mapping[str, float] = field(default_factory=dict)
    """The rate of lost answers by operation (UpdateItem, PutItem, BatchWriteItem)."""
    unprocessed_rate: float = 0.0
    seed: int = 0
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)
        self._lock = threading.Lock()
        self._session = requests.Session()
        self._answered: set[bytes] = set()

    def attach(self, client: Any, plain: Any) -> Any:
        """Inject into `client`; `plain` (a client without faults) writes the processed part of a batch."""
        self._plain = plain
        client.meta.events.register("before-send.dynamodb", self._before_send)
        client.meta.events.register("before-call.dynamodb.BatchWriteItem", self._before_batch_write)
        return client

    def _chance(self, rate: float) -> bool:
        with self._lock:
            return rate > 0 and self._random.random() < rate

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        operation = request.headers.get("X-Amz-Target", b"")
        operation = (operation.decode() if isinstance(operation, bytes) else operation).rpartition(".")[2]
        if self._chance(self.throttle_rate):
            self._count(f"throttled {operation}")
            return _error(request.url, 400, "ProvisionedThroughputExceededException", "injected throttle")
        if self._first_attempt(request.body) and self._chance(self.lost_answers.get(operation, 0.0)):
            headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
            done = self._session.post(request.url, data=request.body, headers=headers, timeout=30)
            self._count(f"lost answer {operation} (HTTP {done.status_code} applied)")
            return _error(request.url, 500, "InternalServerError", "injected: applied, answer lost")
        return None

    def _first_attempt(self, body: bytes | str | None) -> bool:
        digest = hashlib.sha256(body.encode() if isinstance(body, str) else body or b"").digest()
        with self._lock:
            first = digest not in self._answered
            self._answered.add(digest)
        return first

    def _before_batch_write(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if not self._chance(self.unprocessed_rate):
            return None
        ((table, puts),) = json.loads(params["body"])["RequestItems"].items()
        with self._lock:
            kept = self._random.randint(1, len(puts))
            self._random.shuffle(puts)
        processed, unprocessed = puts[: len(puts) - kept], puts[len(puts) - kept :]
        if processed:
            self._plain.batch_write_item(RequestItems={table: processed})
        self._count("unprocessed BatchWriteItem")
        return AWSResponse("http://moto", 200, {}, None), {"UnprocessedItems": {table: unprocessed}}


# ---------------------------------------------------------------------------------------------- what is stored


def stored_items(table: str, job_id: str) -> list[dict[str, Any]]:
    """Every per-number item of a job as moto server holds them, in every shard, read in-process (moto's Query
    serialises about 2 000 items a second, far too slow to read back 100 000)."""
    shards = int(stored_job(table, job_id).get("row_shards", 1))
    partitions = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table).items
    items = []
    for key in JobRows(job_id, shards).partitions():
        items += [item.to_regular_json() for item in list((partitions.get(DynamoType({"S": key})) or {}).values())]
    return [i for i in items if str(i["rec"]).startswith("N#")]


def stored_job(table: str, job_id: str) -> dict[str, Any]:
    """The job item as moto server holds it."""
    partition = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(table).items[DynamoType({"S": job_id})]
    return partition[DynamoType({"S": "JOB"})].to_regular_json()


# ---------------------------------------------------------------------------------------------- the promises


@dataclass(frozen=True, slots=True)
class EndState:
    """What a finished job left behind, by status."""

    statuses: Counter[str]
    unknown_unreadable: int
    unknown_recovered: int
    count_lag: dict[str, int] = field(default_factory=dict)
    """The job's counts minus the items' statuses, where they differ (only if not `exact_counts`)."""


def check_promises(
    sim: NotingSimulator, items: list[dict[str, Any]], job: dict[str, Any], rows: int, exact_counts: bool = True
) -> EndState:
    """The end state every scenario must reach.

    - nothing lost: exactly one item per data row, and the job's live counts are those of its items (with
      `exact_counts` False, they only add up to the rows: the lag is returned);
    - at most once: the simulator accepted no orderId and no (number, content) twice;
    - SUBMITTED items are the simulator's acceptances one to one (number, orderId, msgId);
    - UNKNOWN only where the gateway could not know: rows of a call whose answer was lost (reset, later than the
      read timeout, or HTTP 5xx), or rows an invocation found in flight after an earlier one died; and every row of a
      lost answer is UNKNOWN, never resent;
    - the provider accepted nothing that is recorded FAILED or REJECTED.
    """
    assert sorted(int(i["row"]) for i in items) == sorted({int(i["row"]) for i in items})
    assert len(items) == rows
    audit = sim.audit()
    assert (audit.duplicate_order_ids, audit.duplicate_numbers) == (0, 0)
    accepted = {a.order_id: a for a in audit.accepted}
    assert len(accepted) == len(audit.accepted)

    unreadable = sim.unreadable_order_ids()
    by_status: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_status.setdefault(item["status"], []).append(item)
    submitted = by_status.get("SUBMITTED", [])
    unknown = by_status.get("UNKNOWN", [])
    assert {(i["number"], i["order_id"], i["msg_id"]) for i in submitted} <= {
        (a.number, a.order_id, a.msg_id) for a in audit.accepted
    }
    for item in unknown:
        assert item["order_id"] in unreadable or item["batch"] == RECOVERED, item
        assert item["reason"] == UNKNOWN_REASON
    recorded = {i["order_id"]: i["status"] for i in items}
    assert {o: recorded.get(o) for o in unreadable if recorded.get(o) != "UNKNOWN"} == {}
    for order_id in accepted:
        assert recorded[order_id] in ("SUBMITTED", "UNKNOWN"), (order_id, recorded[order_id])
    assert len(submitted) + sum(1 for i in unknown if i["order_id"] in accepted) == len(accepted)

    statuses = Counter(i["status"] for i in items)
    counts = {k: int(v) for k, v in job["counts"].items() if int(v)}
    assert int(job["rows"]) == rows == sum(counts.values())
    lag = {s: counts.get(s, 0) - statuses[s] for s in counts.keys() | statuses.keys()}
    lag = {s: n for s, n in lag.items() if n}
    if exact_counts:
        assert lag == {}
    return EndState(
        statuses,
        unknown_unreadable=sum(1 for i in unknown if i["order_id"] in unreadable),
        unknown_recovered=sum(1 for i in unknown if i["order_id"] not in unreadable),
        count_lag=lag,
    )


# ---------------------------------------------------------------------------------------------- invocations


@dataclass(frozen=True, slots=True)
class Invocation:
    """How a Lambda invocation in its own process ended."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def answer(self) -> dict[str, Any]:
        """The handler's answer and the peak memory (the last line the process printed)."""
        return json.loads(self.stdout.strip().splitlines()[-1])

    @property
    def ends(self) -> list[str]:
        """How the run of each upload in the event ended."""
        return [run["end"] for run in self.answer["result"]["runs"]]


def function_env(harness: Any, **variables: str) -> dict[str, str]:
    """The ingest function's environment, as template.yaml sets it, pointed at moto server and the simulator."""
    settings = harness.settings
    return {
        **os.environ,
        **harness.aws.env(),
        "RESULTS_TABLE": settings.results_table,
        "GATEWAY_SECRET_ID": settings.secret_id,
        "GATEWAY_URL": settings.gateway_url,
        "GATEWAY_ALLOW_HTTP": "true",
        "CONTINUATION_QUEUE_URL": settings.continuation_queue_url,
        "NUMBERS_PER_CALL": str(settings.numbers_per_call),
        "GATEWAY_READ_TIMEOUT_S": str(FUNCTION_READ_TIMEOUT_S),
        "GATEWAY_CONNECT_TIMEOUT_S": "1",
        "TIME_MARGIN_MS": "1000",
        "LEASE_SECONDS": str(settings.lease_seconds),
        "PRICES_PER_PART": settings.prices_per_part,
        "POWERTOOLS_SERVICE_NAME": "smsdrop",
        "POWERTOOLS_METRICS_NAMESPACE": "smsdrop",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **variables,
    }


def start_invocation(
    event: dict[str, Any], env: dict[str, str], folder: Path, remaining_ms: int = 900_000, clock_offset_s: float = 0
) -> subprocess.Popen[str]:
    """Start `python -m tests.reliability.lambda_process` on `event` (a cold start of the real handler)."""
    path = folder / f"event-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(event))
    command = [sys.executable, "-m", "tests.reliability.lambda_process", str(path)]
    command += ["--remaining-ms", str(remaining_ms), "--clock-offset-s", str(clock_offset_s)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish_invocation(process: subprocess.Popen[str], timeout_s: float = 120) -> Invocation:
    """Wait for the process to end, however it ends; one still running after `timeout_s` is killed, and fails."""
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"the invocation was still running after {timeout_s} s:\n{stderr[-3000:]}") from None
    return Invocation(process.returncode, stdout, stderr)


def invoke(
    event: dict[str, Any], env: dict[str, str], folder: Path, timeout_s: float = 120, **options: Any
) -> Invocation:
    """One invocation in a process of its own, to its end."""
    return finish_invocation(start_invocation(event, env, folder, **options), timeout_s)
