"""CPU probes for bench.record_cpu: thread CPU time (`time.thread_time`) spent in each stage of recording a number,
added up over threads, taken from outside the code measured (botocore's own events, wrapped methods).

A probe costs ~3 µs of CPU a reading on this machine (reading a thread's CPU clock is a system call here), so probes
sit on calls made once per request or per batch, never once per number; per-number stages (building an item, its
delivery-index attributes, its JSON) are timed in a loop over the rows a run recorded (`item_costs`).
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import urllib3

from smsdrop.models import Status

SERIALISE_SIGN, HTTP, PARSE = "serialise + sign", "HTTP", "response parse"
JOB_ITEMS = "job-item updates"


class CpuStages:
    """CPU seconds per stage, over every thread."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        """Add `seconds` to `stage`."""
        with self._lock:
            self.seconds[stage] += seconds

    def per_number(self, numbers: int) -> dict[str, float]:
        """Microseconds per number, by stage."""
        return {stage: round(s / numbers * 1e6, 2) for stage, s in sorted(self.seconds.items())}


def probe_botocore_calls(client: Any, stages: CpuStages, stage: str) -> None:
    """Every call of a botocore client, from its first event to its last, counted as `stage`."""
    marks = threading.local()

    def start(**_: Any) -> None:
        marks.t = time.thread_time()

    def end(**_: Any) -> None:
        stages.add(stage, time.thread_time() - marks.t)

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service}", start)
    client.meta.events.register(f"after-call.{service}", end)


class ProbedBatchWrites:
    """A botocore DynamoDB client whose BatchWriteItem is cut in three by botocore's own events: call to
    `before-send` (validate, serialise, sign), `before-send` to `before-parse` (HTTP), `before-parse` to the return
    (parse, retry checks)."""

    def __init__(self, client: Any, stages: CpuStages) -> None:
        self._client, self._stages, self._marks = client, stages, threading.local()
        client.meta.events.register("before-send.dynamodb.BatchWriteItem", self._lap(SERIALISE_SIGN))
        client.meta.events.register("before-parse.dynamodb.BatchWriteItem", self._lap(HTTP))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, **request: Any) -> Any:
        """The client's, probed."""
        self._marks.t = time.thread_time()
        try:
            return self._client.batch_write_item(**request)
        finally:
            self._stages.add(PARSE, time.thread_time() - self._marks.t)

    def _lap(self, stage: str) -> Callable[..., None]:
        def lap(**_: Any) -> None:
            now = time.thread_time()
            self._stages.add(stage, now - self._marks.t)
            self._marks.t = now

        return lap


@contextmanager
def probed_wire_writer(wire: Any, stages: CpuStages) -> Iterator[None]:
    """The wire writer's `put`, `_exchange` and pool `urlopen` and its module's `_parsed` timed, then split into
    serialise (item JSON and body: put less exchange), sign (exchange less HTTP and parse: SigV4 and the client's
    hooks), HTTP and parse."""
    from smsdrop.store import wire_writer

    spans = CpuStages()
    parsed = wire_writer._parsed
    wire.put = _timed(wire.put, spans, "put")
    wire._exchange = _timed(wire._exchange, spans, "exchange")
    wire._pool.urlopen = _timed(wire._pool.urlopen, spans, HTTP)
    wire_writer._parsed = _timed(parsed, spans, PARSE)  # type: ignore[assignment]
    try:
        yield
    finally:
        wire_writer._parsed = parsed  # type: ignore[assignment]
        s = spans.seconds
        stages.add("serialise (item JSON, body)", s["put"] - s["exchange"])
        stages.add("sign (+ client hooks)", s["exchange"] - s[HTTP] - s[PARSE])
        stages.add(HTTP, s[HTTP])
        stages.add(PARSE, s[PARSE])


def _timed(call: Callable[..., Any], stages: CpuStages, stage: str) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.thread_time()
        try:
            return call(*args, **kwargs)
        finally:
            stages.add(stage, time.thread_time() - t0)

    return timed


def item_costs(writer: Any, batches: Sequence[tuple[Any, Sequence[Any], float]], repeats: int = 3) -> dict[str, float]:
    """CPU µs per number of building the items of `batches` (as the writer's `_item` does), of their delivery-index
    attributes alone, of their JSON text, and of that text with attribute names cut to 2 characters; best of
    `repeats`."""
    from smsdrop.store.delivery import awaiting_report_attributes
    from smsdrop.store.wire_json import item_json

    numbers = sum(len(results) for _, results, _ in batches)
    items = [writer._item(rows, r, int(now)) for rows, results, now in batches for r in results]
    short = [{f"{i:02d}": v for i, v in enumerate(item.values())} for item in items]
    submitted = [(r.outcome.msg_id, now) for _, rs, now in batches for r in rs if r.outcome.status is Status.SUBMITTED]
    loops: dict[str, Callable[[], object]] = {
        "item building": lambda: [writer._item(rows, r, int(now)) for rows, results, now in batches for r in results],
        "delivery-index attributes": lambda: [awaiting_report_attributes(m, now) for m, now in submitted],
        "item JSON": lambda: [item_json(item) for item in items],
        "item JSON, 2-character names": lambda: [item_json(item) for item in short],
    }
    return {name: round(_best(loop, repeats) / numbers * 1e6, 2) for name, loop in loops.items()}


def http_layers(url: str, items: Sequence[Any], requests: int = 300) -> dict[str, float]:
    """CPU µs of one keep-alive POST, answered at once, of a BatchWriteItem of `items` signed as the wire writer
    signs it, through urllib3 (what the wire writer uses) and through bare http.client."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    from smsdrop.send.clients import session_credentials
    from smsdrop.store.wire_json import batch_write_body, item_json

    body = batch_write_body("Bench", [item_json(item) for item in items[:25]])
    target = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem"}
    request = AWSRequest(method="POST", url=url + "/", headers=target, data=body)
    SigV4Auth(session_credentials().get_frozen_credentials(), "dynamodb", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    parts = urlsplit(url)
    pool = urllib3.connection_from_url(url, maxsize=1, retries=False)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def bare() -> bytes:
        connection.request("POST", "/", body, headers)
        return connection.getresponse().read()

    def pooled() -> bytes:
        return bytes(pool.urlopen("POST", "/", body=body, headers=headers).data)

    clients: dict[str, Callable[[], bytes]] = {"urllib3": pooled, "http.client": bare}
    costs = {}
    for name, send in clients.items():
        send()  # connect first
        costs[name] = round(_best(lambda send=send: [send() for _ in range(requests)], 3) / requests * 1e6, 1)
    return costs


def clients_alone(clients: dict[str, Callable[[list[Any]], object]], items: Sequence[Any]) -> dict[str, float]:
    """CPU µs per item of each client writing `items` (built beforehand), 25 to a request, one request after the
    other on this thread: the client's own cost, as the issue measured botocore's; best of 3."""
    chunks = [list(items[i : i + 25]) for i in range(0, len(items), 25)]
    costs = {}
    for name, write in clients.items():
        write(chunks[0])  # connect
        costs[name] = round(_best(lambda write=write: [write(chunk) for chunk in chunks], 3) / len(items) * 1e6, 1)
    return costs


def _best(loop: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        loop()
        best = min(best, time.process_time() - t0)
    return best
