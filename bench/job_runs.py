"""The real runner on a bench's stack, its ports wrapped from outside (sinks, stage timing); run a job with it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from bench.stack import Stack
from bench.stage_timing import StageClock, Timed, TimedJobs, TimedReader, timed_batcher

NO_DEADLINE: Callable[[], int] = lambda: 900_000  # noqa: E731


class NullResults:
    """A sink that records nothing: `write` only answers each row's item, its row and status (isolates the sink's
    cost); nothing is ever read back."""

    def write(self, rows: Any, results: Sequence[Any], now: float) -> list[dict[str, Any]]:
        return [{"row": {"N": str(r.entry.row)}, "status": {"S": str(r.outcome.status)}} for r in results]

    def write_once(self, rows: Any, results: Sequence[Any], now: float) -> list[dict[str, Any]]:
        return self.write(rows, results, now)

    def read(self, rows: Any, after_row: int = 0, through_row: int = 0) -> Iterator[dict[str, Any]]:
        return iter(())

    def by_row(self, rows: Any, numbers: Any) -> dict[int, dict[str, Any]]:
        return {}

    def count(self, rows: Any, after_row: int = 0, through_row: int = 0) -> Counter[Any]:
        return Counter()


class MemoryDynamoDB:
    """Just enough of a DynamoDB client for ResultWriter.write: BatchWriteItem into a dict, instantly."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:  # noqa: N803
        from smsdrop.store.schema import PARTITION, SORT

        with self._lock:
            for requests in RequestItems.values():
                for request in requests:
                    item = request["PutRequest"]["Item"]
                    self.items[item[PARTITION]["S"], item[SORT]["S"]] = item
        return {"UnprocessedItems": {}}


def memory_results(settings: Any) -> Any:
    """The real ResultWriter (item building, chunking, its thread pool) over MemoryDynamoDB."""
    from smsdrop.store.results import ResultWriter

    return ResultWriter(MemoryDynamoDB(), settings.results_table, settings.ttl_days)


def runner(
    stack: Stack,
    *,
    sink: str = "dynamodb",
    clock: StageClock | None = None,
    clients_hook: Callable[[Any], None] | None = None,
    writer_threads: int | None = None,
    results_hook: Callable[[Any], Any] | None = None,
) -> tuple[Any, Any]:
    """The real runner, built from smsdrop.send.wiring.build_ports with some ports replaced or wrapped.

    `sink`: "dynamodb" (moto server), "memory" (ResultWriter over a dict) or "null" (nothing written);
    `clock` times the stages; `clients_hook` sees the AWS clients first (to count calls); `writer_threads`
    replaces the ResultWriter's pool size; `results_hook` wraps the results port (to count its reads). Returns
    (runner, gateway client).
    """
    from smsdrop.send.runner import JobRunner
    from smsdrop.send.wiring import build_ports
    from smsdrop.store.results import ResultWriter

    s, clients = stack.settings, stack.clients()
    if clients_hook is not None:
        clients_hook(clients)
    ports = build_ports(s, clients)
    client = ports.gateway
    if sink == "null":
        ports = replace(ports, results=NullResults())
    elif sink == "memory":
        ports = replace(ports, results=memory_results(s))
    elif writer_threads is not None:
        writer = ResultWriter(clients.dynamodb, s.results_table, s.ttl_days, threads=writer_threads)
        ports = replace(ports, results=writer)
    if results_hook is not None:
        ports = replace(ports, results=results_hook(ports.results))
    if clock is None:
        return JobRunner(s, ports), client
    factory = ports.reader_factory
    timed = replace(
        ports,
        reader_factory=lambda upload, job_id: TimedReader(factory(upload, job_id), clock),
        gateway=Timed(client, clock, "gateway", ["send"]),
        results=Timed(ports.results, clock, "write", ["write", "write_once"]),
        store=TimedJobs(ports.store, clock),
        results_file=TimedFiles(ports.results_file, clock),
    )
    return JobRunner(s, timed, batcher=timed_batcher(clock)), client


class TimedFiles:
    """The results file, its closing (the last lines, the last part, summary and page) timed as "report"."""

    def __init__(self, inner: Any, clock: StageClock) -> None:
        self._inner, self._clock = inner, clock

    def open(self, *args: Any) -> Any:
        return Timed(self._inner.open(*args), self._clock, "report", ["close"])


def run_job(job_runner: Any, upload: Any) -> tuple[Any, float]:
    """Run one job to its end in this invocation; (RunResult, wall seconds)."""
    t0 = time.perf_counter()
    result = job_runner.run(upload, NO_DEADLINE)
    return result, time.perf_counter() - t0


def data_rows(result: Any) -> int:
    """Rows the job recorded (all statuses)."""
    return sum(result.counts.values())
