"""Runner CPU per number, by stage, recording to a do-nothing DynamoDB endpoint, side by side with the null sink.

The same file goes through the real runner (smsdrop.send.wiring.build_ports) to COMPLETED once per sink, in one
run: the null sink (nothing built, nothing written: bench.job_runs.NullResults), the real ResultWriter building and
handing over its items but sending nothing, then sending them to `bench.null_dynamodb` (a process of its own that
answers every call at once, so neither moto's CPU nor DynamoDB's latency is in the figure) through botocore as the
runner had it (standard retries, parameter validation on), botocore with `parameter_validation=False`, and the wire
writer (smsdrop.store.wire_writer). Recording a number costs the sink's total less the null sink's; sending it, less
the items-built sink's (what the DynamoDB client adds). The job store, S3 and SQS stay on moto server, the provider
is the gateway simulator, each in a process of its own too. CPU is the process's (`time.process_time`: user + system,
every thread), per data row; the plain runs are made twice, interleaved, and the cheaper kept (once with --quick).

Then each sink once more, probed (the split by stage, bench.cpu_probes): item building, delivery-index attributes
and item JSON timed in a loop over the rows recorded; serialise + sign, HTTP and response parse from botocore's
events or the wire writer's calls; job-item updates (every DynamoDB call of the runner's own client, to moto); the
rest (reading, checking, batching, the gateway call, the results file) is the plain total less all that. Then each
DynamoDB client alone (25 items a request, one thread: how the issue measured botocore), one request through urllib3
and through bare http.client, and the wire writer alone against an endpoint answering after `--write-latency-ms`
(DynamoDB's) at 1 to 32 writer threads.

python -m bench.record_cpu [--quick] [--latency-ms 5] [--write-latency-ms 10]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

from bench.common import script_main, table
from bench.cpu_probes import (
    JOB_ITEMS,
    CpuStages,
    ProbedBatchWrites,
    clients_alone,
    http_layers,
    item_costs,
    probe_botocore_calls,
    probed_wire_writer,
)
from bench.csv_data import csv_bytes
from bench.job_runs import NullResults, data_rows, run_job
from bench.null_dynamodb import NullEndpoint, null_dynamodb
from bench.stack import Servers, servers

SIZES = {"full": 20_000, "quick": 4_000}
NULL, BUILT, BEFORE, AFTER = "null sink", "items built, not sent", "botocore", "wire writer"
SINKS = (NULL, BUILT, BEFORE, "botocore, no validation", AFTER)
TTL_DAYS = 90
THREADS = {"full": (1, 2, 4, 8, 16, 32), "quick": (2, 4, 8, 16)}
IN_FLIGHT = 4  # batches whose items are written at once (Settings.in_flight's default)
VCPU_MB = 1769  # Lambda: 1,769 MB of memory buys one full vCPU, less buys a proportional share
LAMBDA_USD_PER_GB_S = 0.0000133334  # arm64 (template.yaml), us-east-1 list price (docs/performance.md, "Prices used")
GOAL_US = 40.0
REPEATS = 2


class NotSent:
    """A wire writer that sends nothing: the ResultWriter builds and hands over its items, and that is all."""

    def put(self, table: str, items: Sequence[Any]) -> None:
        """Nothing."""

    def take_counts(self) -> dict[str, int]:
        """No throttles: nothing was sent."""
        return {}


class Recorded:
    """A result writer whose `write` batches are kept (for the per-number loops after the run)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.batches = inner, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def write(self, rows: Any, results: Sequence[Any], now: float) -> Any:
        self.batches.append((rows, list(results), now))
        return self.inner.write(rows, results, now)


def sink_writer(sink: str, table: str, endpoint: NullEndpoint, stages: CpuStages | None, threads: int = 16) -> Any:
    """The results port of `sink`, sending to `endpoint` (probed into `stages` when given)."""
    import boto3
    from botocore.config import Config

    from smsdrop.send.clients import AWS_CONFIG, session_credentials
    from smsdrop.store.results import ResultWriter
    from smsdrop.store.wire_writer import WireWriter

    if sink == NULL:
        return NullResults()
    if sink == BUILT:
        return ResultWriter(None, table, TTL_DAYS, threads=threads, wire=NotSent())
    config = AWS_CONFIG.merge(Config(parameter_validation=sink != "botocore, no validation"))
    client = boto3.client("dynamodb", endpoint_url=endpoint.url, region_name="us-east-1", config=config)
    if sink != AFTER:
        probed = client if stages is None else ProbedBatchWrites(client, stages)
        return ResultWriter(probed, table, TTL_DAYS, threads=threads)
    wire = WireWriter.for_client(client, session_credentials(), pool_size=threads)
    return ResultWriter(client, table, TTL_DAYS, threads=threads, wire=wire)


def one_job(srv: Servers, endpoint: NullEndpoint, sink: str, rows: int, probe: bool = False) -> dict[str, Any]:
    """One job of `rows` rows to COMPLETED through the real runner, its row items to `sink`; with `probe`, the CPU
    of each stage too. The writer, with the batches it was handed, is under "_writer"."""
    from smsdrop.send.runner import JobRunner
    from smsdrop.send.wiring import build_ports
    from smsdrop.store.wire_writer import WireWriter

    stack = srv.stack()
    upload = stack.upload(csv_bytes(rows))
    clients = stack.clients()
    stages = CpuStages() if probe else None
    if stages is not None:
        probe_botocore_calls(clients.dynamodb, stages, JOB_ITEMS)
    writer = Recorded(sink_writer(sink, stack.settings.results_table, endpoint, stages))
    job_runner = JobRunner(stack.settings, replace(build_ports(stack.settings, clients), results=writer))
    wire = getattr(writer.inner, "_wire", None)
    sent = endpoint.counts()["items"]
    probing = stages is not None and isinstance(wire, WireWriter)
    with probed_wire_writer(wire, stages) if probing else nullcontext():
        cpu = time.process_time()
        result, seconds = run_job(job_runner, upload)
        cpu = time.process_time() - cpu
    sent = endpoint.counts()["items"] - sent
    if result.end != "COMPLETED" or data_rows(result) != rows or sent != (0 if sink in (NULL, BUILT) else rows):
        raise AssertionError(f"{sink}: {rows} rows, {sent} items sent: {result}")
    run: dict[str, Any] = {"seconds": round(seconds, 2), "cpu_us_per_number": round(cpu / rows * 1e6, 1)}
    if stages is not None:
        run["stages"] = stages.per_number(rows)
    return run | {"_writer": writer}


def thread_sweep(batches: list[Any], threads: Sequence[int], latency_ms: float) -> list[dict[str, Any]]:
    """The wire writer alone writing `batches`, handed over `IN_FLIGHT` at a time as the runner's batch workers do,
    to an endpoint answering after `latency_ms`, at each pool size: numbers/s and CPU µs per number."""
    numbers = sum(len(results) for _, results, _ in batches)
    runs = []
    with null_dynamodb(latency_ms) as slow, ThreadPoolExecutor(IN_FLIGHT) as callers:
        for n in threads:
            writer = sink_writer(AFTER, "Bench", slow, None, threads=n)
            writer.write(*batches[0])  # connect
            t0, cpu = time.perf_counter(), time.process_time()
            for _ in callers.map(lambda batch, writer=writer: writer.write(*batch), batches):
                pass
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu
            per_number = round(cpu / numbers * 1e6, 1)
            runs.append({"threads": n, "numbers_per_s": round(numbers / seconds), "cpu_us_per_number": per_number})
    return runs


def aws_terms(cpu_us: float) -> dict[str, Any]:
    """What `cpu_us` of CPU per number means on Lambda while CPU-bound, at 512 MB and at 1,769 MB (1 vCPU)."""
    terms: dict[str, Any] = {"cpu_us_per_number": cpu_us, "numbers_per_s_per_vcpu": round(1e6 / cpu_us)}
    for mb in (512, VCPU_MB):
        share = min(1.0, mb / VCPU_MB)
        seconds = (
            cpu_us / share
        )  # wall s per million numbers: cpu_us µs x 1e6 numbers = cpu_us s of CPU, over the share
        gb_s = mb / 1024 * seconds
        terms[f"{mb}MB"] = {
            "vcpu": round(share, 3),
            "numbers_per_s": round(share * 1e6 / cpu_us),
            "gb_s_per_million": round(gb_s, 1),
            "usd_per_million": round(gb_s * LAMBDA_USD_PER_GB_S, 5),
        }
    return terms


def measure(quick: bool, latency_ms: float, write_latency_ms: float, rows: int | None = None) -> dict[str, Any]:
    """Every sink plain (`REPEATS` times, interleaved, unless quick) then probed, in one run against the same servers;
    the per-number loops; the clients alone; the thread sweep."""
    rows = rows or SIZES["quick" if quick else "full"]
    with servers(latency_ms) as srv, null_dynamodb() as endpoint:
        one_job(srv, endpoint, AFTER, min(500, rows))  # warm up: imports, connections, compiled patterns
        plain: dict[str, dict[str, Any]] = {}
        for _ in range(1 if quick else REPEATS):  # interleaved, the cheapest run of each sink kept
            for sink in SINKS:
                run = one_job(srv, endpoint, sink, rows)
                if sink not in plain or run["cpu_us_per_number"] < plain[sink]["cpu_us_per_number"]:
                    plain[sink] = run
        probed = {sink: one_job(srv, endpoint, sink, rows, probe=True)["stages"] for sink in SINKS}
        wire = plain[AFTER]["_writer"]
        loops = item_costs(wire.inner, wire.batches)
        items = [item for batch in wire.batches[:4] for item in _items(wire.inner, batch)]
        http = http_layers(endpoint.url, items)
        alone = clients_alone(_clients(endpoint), items)
    sweep = thread_sweep(wire.batches, THREADS["quick" if quick else "full"], write_latency_ms)
    totals = {sink: run["cpu_us_per_number"] for sink, run in plain.items()}
    return {
        "rows": rows,
        "latency_ms": latency_ms,
        "write_latency_ms": write_latency_ms,
        "runs": {sink: {k: v for k, v in run.items() if k != "_writer"} for sink, run in plain.items()},
        "recording_us_per_number": {sink: round(totals[sink] - totals[NULL], 1) for sink in SINKS[1:]},
        "sending_us_per_number": {sink: round(totals[sink] - totals[BUILT], 1) for sink in SINKS[2:]},
        "stages": stage_table(totals, probed, loops),
        "per_number_loops": loops,
        "http_layer_us_per_request": http,
        "client_alone_us_per_item": alone,
        "writer_threads": sweep,
        "aws": {
            "before": aws_terms(totals[BEFORE]),
            "after": aws_terms(totals[AFTER]),
            "null_sink": aws_terms(totals[NULL]),
        },
        "goal_us": GOAL_US,
    }


def _clients(endpoint: NullEndpoint) -> dict[str, Any]:
    """Each sink's way of putting a list of items into a table at `endpoint`."""
    writers = {sink: sink_writer(sink, "Bench", endpoint, None) for sink in SINKS[2:]}
    clients = {sink: writer._db for sink, writer in writers.items() if sink != AFTER}
    puts = {sink: _botocore_put(client) for sink, client in clients.items()}
    return puts | {AFTER: lambda items: writers[AFTER]._wire.put("Bench", items)}


def _botocore_put(client: Any) -> Any:
    return lambda items: client.batch_write_item(RequestItems={"Bench": [{"PutRequest": {"Item": i}} for i in items]})


def _items(writer: Any, batch: tuple[Any, Sequence[Any], float]) -> list[Any]:
    rows, results, now = batch
    return [writer._item(rows, r, int(now)) for r in results]


def stage_table(
    totals: dict[str, float], probed: dict[str, dict[str, float]], loops: dict[str, float]
) -> dict[str, Any]:
    """µs per number by stage and sink: the loops' item costs for the sinks that build items, the probes' stages,
    and the rest of the runner (the plain total less every stage)."""
    table_: dict[str, dict[str, float]] = {}
    for sink in SINKS:
        stages: dict[str, float] = {}
        if sink != NULL:  # every other sink builds the items
            stages["item building"] = round(loops["item building"] - loops["delivery-index attributes"], 2)
            stages["delivery-index attributes"] = loops["delivery-index attributes"]
        stages |= probed[sink]
        stages["rest of the runner"] = round(totals[sink] - sum(stages.values()), 1)
        table_[sink] = stages
    return table_


def report(r: dict[str, Any]) -> str:
    """The tables."""
    runs, recording, sending = r["runs"], r["recording_us_per_number"], r["sending_us_per_number"]
    rows = [
        (sink, r["rows"], run["seconds"], run["cpu_us_per_number"], recording.get(sink, ""), sending.get(sink, ""),
         round(1e6 / run["cpu_us_per_number"]))
        for sink, run in runs.items()
    ]  # fmt: skip
    title = (f"runner CPU per number, {r['rows']:,} rows to COMPLETED, side by side in one run (row items to the "
             f"null endpoint; recording = less the null sink, sending = less items built, not sent; "
             f"goal: <= {r['goal_us']:g} us)")  # fmt: skip
    header = ("sink", "rows", "seconds", "CPU us/number", "recording us", "sending us", "numbers/s per vCPU")
    lines = [table(title, header, rows)]
    names = list(dict.fromkeys(name for stages in r["stages"].values() for name in stages))
    stage_rows = [(name, *(r["stages"][sink].get(name, "") for sink in SINKS)) for name in names]
    stage_rows.append(("total (plain run)", *(runs[sink]["cpu_us_per_number"] for sink in SINKS)))
    title = "CPU us per number by stage (probed runs; rest = plain total less the stages)"
    lines += ["", table(title, ("stage", *SINKS), stage_rows)]
    alone = r["client_alone_us_per_item"]
    lines.append("DynamoDB client alone, 25 items a request, one thread, CPU us per item: "
                 + ", ".join(f"{sink} {us}" for sink, us in alone.items()))  # fmt: skip
    loops, http = r["per_number_loops"], r["http_layer_us_per_request"]
    lines.append(
        f"item JSON {loops['item JSON']} us, {loops['item JSON, 2-character names']} us with 2-character names"
    )
    lines.append(f"a 25-item BatchWriteItem over HTTP: {http['urllib3']} us of CPU (urllib3), {http['http.client']} us "
                 "(bare http.client)")  # fmt: skip
    sweep = [(run["threads"], run["numbers_per_s"], run["cpu_us_per_number"]) for run in r["writer_threads"]]
    title = f"wire writer alone, endpoint answering after {r['write_latency_ms']:g} ms"
    lines += ["", table(title, ("threads", "numbers/s", "CPU us/number"), sweep)]
    header = ["runner", "us/number", "/s per vCPU"]
    header += [f"{what} {mb}MB" for mb in (512, VCPU_MB) for what in ("/s", "GB-s/M", "USD/M")]
    aws = [
        (name, t["cpu_us_per_number"], t["numbers_per_s_per_vcpu"],
         *(t[f"{mb}MB"][k] for mb in (512, VCPU_MB) for k in ("numbers_per_s", "gb_s_per_million", "usd_per_million")))
        for name, t in r["aws"].items()
    ]  # fmt: skip
    lines += ["", table("Lambda while CPU-bound (arm64 price)", header, aws)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""

    def options(parser: Any) -> None:
        parser.add_argument("--latency-ms", type=float, default=5.0, help="the gateway simulator's latency")
        parser.add_argument("--write-latency-ms", type=float, default=10.0, help="the writer threads sweep's endpoint")

    return script_main(
        "record_cpu",
        __doc__,
        lambda args: measure(args.quick, args.latency_ms, args.write_latency_ms),
        report,
        argv,
        options=options,
    )


if __name__ == "__main__":
    raise SystemExit(main())
