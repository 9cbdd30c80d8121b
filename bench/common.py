"""Shared bench helpers: realistic CSVs, the machine, results.json, tables, the local stack and port wrappers."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"
HEADER = ("Phone", "Message", "Sender", "Reference")

_NAMES = ("Asha", "Karan", "Meera", "Sneha", "Rahul", "Priya", "Vikram", "Anjali", "Arjun", "Divya", "Rohan", "Kavya")
_CAMPAIGNS = (
    ("Flash sale! 20% off everything until midnight. Reply STOP to opt out.", "ACMESHOP"),
    ("Your appointment at City Clinic is tomorrow at 10:30. Reply Y to confirm.", "CITYCLN"),
    ("Reminder: your electricity bill of ₹1,240 is due on 30 Nov. Pay online at powerco.example to avoid a fee.",
     "POWERCO"),
    ("Big Diwali sale starts tomorrow: up to 50% off on electronics, fashion and home. Free delivery on orders "
     "above ₹499. T&C apply.", "ACMESHOP"),
    ("नमस्ते! आपका ऑर्डर भेज दिया गया है।", "ACMESHOP"),
)  # fmt: skip
_LONG = (
    "Dear customer, your policy renewal is due on 15 Dec. Renew online before the due date to keep your cover "
    "without a break and to keep your no-claim bonus. Log in at insure.example with your policy number, or call "
    "1800 000 000 (toll free, 9am to 9pm, Monday to Saturday). Ignore this message if you have already renewed. "
    "Reply STOP to opt out."
)
_BAD_NUMBERS = ("9.18563E+10", "98765-ABCDE", "12345", "")


def synthetic_rows(count: int, seed: int = 7) -> Iterator[tuple[str, str, str, str]]:
    """`count` realistic rows: Indian mobiles written four ways; shared campaign texts (~45%), personalised
    texts (~45%), long multi-part texts (~5%), Hindi OTPs (~4%); ~0.5% bad numbers, ~0.5% repeated rows."""
    rng = random.Random(seed)
    previous: tuple[str, str, str, str] | None = None
    for i in range(count):
        national = f"{rng.choice('6789')}{(i * 7_919_993 + 1_234_567) % 1_000_000_000:09d}"
        number = _written(national, i % 4)
        order = f"CMP-{100_000 + i}"
        pick = rng.random()
        if pick < 0.45:
            content, sender = _CAMPAIGNS[i % len(_CAMPAIGNS)]
        elif pick < 0.90:
            name = _NAMES[i % len(_NAMES)]
            content = f"Hi {name}, your order #{10_000 + i} has shipped and will arrive within {1 + i % 5} days."
            sender = "ACMESHOP"
        elif pick < 0.95:
            content, sender = _LONG, "INSURECO"
        elif pick < 0.99:
            content, sender = f"आपका OTP {rng.randrange(100_000, 999_999)} है। इसे किसी से साझा न करें।", "ACMEOTP"
        elif pick < 0.995 or previous is None:
            number, content, sender = _BAD_NUMBERS[i % len(_BAD_NUMBERS)], _CAMPAIGNS[0][0], "ACMESHOP"
        else:
            number, content, sender = previous[0], previous[1], previous[2]
        row = (number, content, sender, order)
        previous = row
        yield row


def _written(national: str, style: int) -> str:
    if style == 0:
        return f"91{national}"
    if style == 1:
        return f"+91{national}"
    if style == 2:
        return f"+91 {national[:5]} {national[5:]}"
    return f"0091{national}"


def write_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """Write a CSV of `rows` synthetic rows (streamed; never all in memory)."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(synthetic_rows(rows, seed))
    return path


def csv_bytes(rows: int, seed: int = 7) -> bytes:
    """The same CSV in memory (for small inputs)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(synthetic_rows(rows, seed))
    return out.getvalue().encode()


# -- the machine, results.json, tables ----------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def save(section: str, data: dict[str, Any], path: Path = RESULTS) -> None:
    """Merge `data` under `section` of results.json (other sections are kept), with the machine."""
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        results = {}
    results[section] = data
    results["machine"] = machine()
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def script_main(
    name: str,
    doc: str,
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    argv: list[str] | None,
    quick_help: str = "small inputs",
    options: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """A bench script's command line (its `options`, --quick, --no-save): measure, print the table, save it under
    `name` in results.json, or `<name>_quick` so a quick run never overwrites the full figures."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=doc.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--no-save", action="store_true")
    if options:
        options(parser)
    args = parser.parse_args(argv)
    result = measure(args)
    print(report(result))
    if not args.no_save:
        save(f"{name}_quick" if args.quick else name, result)
    return 0


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table."""
    cells = [[_cell(v) for v in row] for row in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
              for r in cells[1:]]  # fmt: skip
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# -- the local stack ----------------------------------------------------------------------------------------


@dataclass
class Stack:
    """moto server + the gateway simulator (each in its own process), the stack's resources, and Settings."""

    aws: Any
    simulator: Any
    settings: Any

    def clients(self) -> Any:
        """Fresh boto3 clients on moto server, configured as the function's."""
        from smsdrop.send.wiring import AWS_CONFIG, Clients

        return Clients(*(self.aws.client(n, AWS_CONFIG) for n in ("s3", "dynamodb", "secretsmanager", "sqs")))

    def upload(self, body: bytes | Path, key: str = "incoming/bench.csv") -> Any:
        """Put a file under incoming/ (streamed from disk for a path); the Upload of the new version."""
        from smsdrop.intake.uploads import Upload

        s3 = self.aws.client("s3")
        if isinstance(body, Path):
            with body.open("rb") as stream:
                answer = s3.put_object(Bucket=self.aws.names.bucket, Key=key, Body=stream)
            size = body.stat().st_size
        else:
            answer = s3.put_object(Bucket=self.aws.names.bucket, Key=key, Body=io.BytesIO(body))
            size = len(body)
        return Upload(self.aws.names.bucket, key, answer.get("VersionId"), answer["ETag"], size)

    def env(self) -> dict[str, str]:
        """The function's environment for this stack (as local.run sets it)."""
        s = self.settings
        return self.aws.env() | {
            "RESULTS_TABLE": s.results_table,
            "GATEWAY_SECRET_ID": s.secret_id,
            "GATEWAY_URL": s.gateway_url,
            "GATEWAY_ALLOW_HTTP": "true",
            "GATEWAY_READ_TIMEOUT_S": str(s.read_timeout_s),
            "NUMBERS_PER_CALL": str(s.numbers_per_call),
            "IN_FLIGHT_BATCHES": str(s.in_flight),
            "CONTINUATION_QUEUE_URL": s.continuation_queue_url,
            "POWERTOOLS_SERVICE_NAME": "smsdrop",
            "POWERTOOLS_METRICS_NAMESPACE": "smsdrop-bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }


@dataclass
class Servers:
    """A moto server and a gateway simulator, each in its own process."""

    endpoint: str
    simulator: Any
    stacks: Iterator[int] = field(default_factory=lambda: iter(range(1_000_000)))

    def stack(self, **settings: Any) -> Stack:
        """Fresh resources (bucket, table, secret, queue) on the shared moto server, and Settings for them."""
        from local.aws import Names, create_stack
        from smsdrop.config import Settings

        n, sim = next(self.stacks), self.simulator
        secret = {"apiKey": sim.api_key, "apiSecret": sim.api_secret, "appId": sim.app_id}
        names = Names(bucket=f"smsdrop-bench-{n}", table=f"Bench-{n}", secret=f"bench/gw-{n}", queue=f"bench-q-{n}")
        aws = create_stack(self.endpoint, names, json.dumps(secret))
        queue = aws.client("sqs").get_queue_url(QueueName=names.queue)["QueueUrl"]
        base = Settings(
            results_table=names.table,
            secret_id=names.secret,
            gateway_url=sim.base_url,
            allow_http=True,
            continuation_queue_url=queue,
            read_timeout_s=30.0,
        )
        return Stack(aws, sim, replace(base, **settings))


@contextmanager
def servers(latency_ms: float = 20.0) -> Iterator[Servers]:
    """moto server and the simulator (answering after `latency_ms`), each in a process of its own."""
    from bench.servers import remote_moto, remote_simulator

    for key, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        os.environ.setdefault(key, value)
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "smsdrop-bench")
    with ExitStack() as stack:
        endpoint = stack.enter_context(remote_moto())
        simulator = stack.enter_context(remote_simulator(latency_ms))
        yield Servers(endpoint, simulator)


# -- port wrappers: time each stage from outside the core ---------------------------------------------------


@dataclass
class StageClock:
    """Seconds spent in each stage, summed over threads, and the part of it spent on the main thread."""

    seconds: Counter[str] = field(default_factory=Counter)
    main: Counter[str] = field(default_factory=Counter)
    calls: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, stage: str, seconds: float, calls: int = 1) -> None:
        """Add `seconds` to `stage`."""
        on_main = threading.current_thread() is threading.main_thread()
        with self.lock:
            self.seconds[stage] += seconds
            self.calls[stage] += calls
            if on_main:
                self.main[stage] += seconds


T = TypeVar("T")


def timed_iteration(items: Iterator[T], done: Callable[[float, int], None]) -> Iterator[T]:
    """`items`, timing each `next`; `done(seconds, count)` once the iteration ends (or is abandoned)."""
    spent, count, now = 0.0, 0, time.perf_counter
    try:
        while True:
            t0 = now()
            try:
                item = next(items)
            except StopIteration:
                spent += now() - t0
                return
            spent += now() - t0
            count += 1
            yield item
    finally:
        done(spent, count)


class TimedReader:
    """A Reader whose row iteration is timed as "read" (streaming from S3, parsing and validating)."""

    def __init__(self, inner: Any, clock: StageClock) -> None:
        self._inner, self._clock = inner, clock

    def rows(self, start: Any = None) -> Iterator[Any]:
        """The inner reader's rows; the time spent producing them is added up, then reported once."""
        return timed_iteration(self._inner.rows(start), lambda spent, count: self._clock.add("read", spent, count))

    @property
    def position(self) -> Any:
        return self._inner.position

    @property
    def blank_lines(self) -> int:
        return self._inner.blank_lines


class Timed:
    """Any adapter with some of its methods timed under a stage name; everything else passes through."""

    def __init__(self, inner: Any, clock: StageClock, stage: str, methods: Sequence[str]) -> None:
        self._inner, self._clock, self._stage, self._methods = inner, clock, stage, frozenset(methods)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self._methods:
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return attribute(*args, **kwargs)
            finally:
                self._clock.add(self._stage, time.perf_counter() - t0)

        return timed


class NullResults:
    """A sink that records nothing: `write` only answers each row's status (isolates the sink's cost)."""

    def write(self, job_id: str, results: Sequence[Any], now: float) -> dict[int, Any]:
        return {r.row.row: r.outcome.status for r in results}

    def write_once(self, job_id: str, results: Sequence[Any], now: float) -> dict[int, Any]:
        return self.write(job_id, results, now)

    def statuses(self, job_id: str, after_row: int = 0) -> Iterator[tuple[int, Any]]:
        return iter(())

    def count(self, job_id: str) -> tuple[Counter[Any], int]:
        return Counter(), 0


class MemoryDynamoDB:
    """Just enough of a DynamoDB client for ResultWriter.write: BatchWriteItem into a dict, instantly."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def batch_write_item(self, RequestItems: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            for requests in RequestItems.values():
                for request in requests:
                    item = request["PutRequest"]["Item"]
                    self.items[item["job_id"]["S"], item["rec"]["S"]] = item
        return {"UnprocessedItems": {}}


def memory_results(settings: Any) -> Any:
    """The real ResultWriter (item building, chunking, its thread pool) over MemoryDynamoDB."""
    from smsdrop.store.results import ResultWriter

    writer = ResultWriter(MemoryDynamoDB(), settings.results_table, settings.ttl_days)
    writer.statuses = NullResults().statuses  # type: ignore[method-assign] - a fresh job has nothing recorded
    return writer


def runner(
    stack: Stack,
    *,
    sink: str = "dynamodb",
    clock: StageClock | None = None,
    clients_hook: Callable[[Any], None] | None = None,
    writer_threads: int | None = None,
) -> tuple[Any, Any]:
    """The real runner from smsdrop.send.wiring.build_runner, its ports then wrapped from outside.

    `sink`: "dynamodb" (moto server), "memory" (ResultWriter over a dict) or "null" (nothing written);
    `clock` times the stages; `clients_hook` sees the AWS clients first (to count calls); `writer_threads`
    replaces the ResultWriter's pool size. Returns (runner, gateway client).
    """
    from smsdrop.send.wiring import build_runner
    from smsdrop.store.results import ResultWriter

    s, clients = stack.settings, stack.clients()
    if clients_hook is not None:
        clients_hook(clients)
    job_runner = build_runner(s, clients)
    client = job_runner._gateway
    if sink == "null":
        job_runner._results = NullResults()
    elif sink == "memory":
        job_runner._results = memory_results(s)
    elif writer_threads is not None:
        job_runner._results = ResultWriter(clients.dynamodb, s.results_table, s.ttl_days, threads=writer_threads)
    _time_batching(clock)
    if clock is not None:
        factory = job_runner._reader_factory
        job_runner._reader_factory = lambda upload, job_id: TimedReader(factory(upload, job_id), clock)
        job_runner._gateway = Timed(client, clock, "gateway", ["send"])
        job_runner._results = Timed(job_runner._results, clock, "write", ["write", "write_once"])
        job_runner._store = Timed(job_runner._store, clock, "job_store", _STORE_CALLS)
        job_runner._reports = Timed(job_runner._reports, clock, "report", ["write"])
    return job_runner, client


def _time_batching(clock: StageClock | None) -> None:
    """Time the runner's `batches` generator (reading included) as "batch", by wrapping it where job.py looks it up."""
    import smsdrop.send.runner as job_module
    from smsdrop.send import batching

    if clock is None:
        job_module.batches = batching.batches  # type: ignore[attr-defined]
        return

    def timed_batches(*args: Any, **kwargs: Any) -> Iterator[Any]:
        return timed_iteration(batching.batches(*args, **kwargs), lambda spent, count: clock.add("batch", spent, count))

    job_module.batches = timed_batches  # type: ignore[attr-defined]


_STORE_CALLS = (
    "claim",
    "get",
    "mark_in_flight",
    "forget_in_flight",
    "renew",
    "complete",
    "record_stop",
    "release",
    "finish",
)
NO_DEADLINE: Callable[[], int] = lambda: 900_000  # noqa: E731


def run_job(job_runner: Any, upload: Any) -> tuple[Any, float]:
    """Run one job to its end in this invocation; (RunResult, wall seconds)."""
    t0 = time.perf_counter()
    result = job_runner.run(upload, NO_DEADLINE)
    return result, time.perf_counter() - t0


def data_rows(result: Any) -> int:
    """Rows the job recorded (all statuses)."""
    return sum(result.counts.values())
