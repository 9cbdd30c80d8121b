"""Cost model from measured calls: every AWS call of a job counted with botocore event hooks on its clients.

One job runs through the real runner against moto server and the simulator; hooks on the four clients count
calls per operation, the items and bytes of every DynamoDB write and read (the job item's size is read back
after each update, to price it as DynamoDB would: the larger of before and after, 1 KB units, plus the
ActiveJobs index while the job is in it). Gateway calls come from the client's own stats. Lambda GB-s use the
rates measured here, at the template's 512 MB. Prices: list prices known to the author (not looked up).

python -m bench.cost [--quick]
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from typing import Any

from bench.common import script_main, table
from bench.csv_data import csv_bytes
from bench.job_runs import data_rows, run_job, runner
from bench.stack import Servers, servers
from bench.stage_timing import StageClock
from smsdrop.store.schema import (
    ACTIVE,
    AWAITING,
    AWAITING_INDEX,
    LEASE_EXPIRES,
    MSG_ID,
    MSG_ID_INDEX,
    PARTITION,
    SORT,
    RecordKind,
    item_key,
)

MEMORY_MB = 512  # template.yaml's default MemorySize for IngestFunction
# us-east-1 list prices as known to the author (last checked before 2025-06; DynamoDB on-demand after the
# November 2024 price cut). Not looked up for this run: check the AWS pricing pages before quoting.
PRICES = {
    "as_of": "list prices known to the author as of 2025 (not looked up; no network); us-east-1",
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "lambda_arm64_gb_second": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "s3_get_request": 0.0004 / 1000,
    "s3_put_request": 0.005 / 1000,
    "secrets_manager_api_call": 0.05 / 10_000,
}
# the table's sparse indexes on per-number items (template.yaml): an item with the key attribute costs one more
# write unit per index (small projections)
RESULT_INDEXES = {MSG_ID_INDEX: MSG_ID, AWAITING_INDEX: AWAITING}
_S3_PUT_CLASS = {"PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "CopyObject"}


def _is_job_item(item: dict[str, Any]) -> bool:
    """Whether an item (or key) in the wire format is a job's item."""
    return RecordKind.of(item.get(SORT, {}).get("S", "")) is RecordKind.JOB


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8, numbers ~ digits/2 + 1)."""
    return sum(len(name.encode()) + _value_bytes(value) for name, value in item.items())


def _value_bytes(value: dict[str, Any]) -> int:
    kind, inner = next(iter(value.items()))
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return len(inner.strip("-").replace(".", "")) // 2 + 1
    if kind == "BOOL" or kind == "NULL":
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode()) + _value_bytes(v) + 1 for k, v in inner.items())
    if kind == "L":
        return 3 + sum(_value_bytes(v) + 1 for v in inner)
    return len(str(inner))


class Meter:
    """Counts calls and capacity units of the clients it is attached to."""

    def __init__(self, probe: Any, table_name: str) -> None:
        self.calls: Counter[str] = Counter()
        self.units: Counter[str] = Counter()
        self._probe, self._table = probe, table_name
        self._lock = threading.Lock()
        self._job_item: dict[str, Any] = {}
        self._local = threading.local()

    def attach(self, clients: Any) -> None:
        """Register on the S3, DynamoDB, Secrets Manager and SQS clients."""
        for client in (clients.s3, clients.dynamodb, clients.secretsmanager, clients.sqs):
            client.meta.events.register("before-parameter-build.*.*", self._before)
            client.meta.events.register("after-call.*.*", self._after)
        # Row items go out through the wire writer, which skips parameter building but still emits before-call
        # with the request's body, as botocore does: both paths are counted there, once.
        clients.dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", self._batch_written)

    def _before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self._local.params = params
        if model.name == "BatchWriteItem":
            return
        service = model.service_model.service_name
        with self._lock:
            self.calls[f"{service}.{model.name}"] += 1
            if model.name == "PutItem":
                item = params["Item"]
                if not _is_job_item(item):
                    self.units["wru_put_item"] += math.ceil(item_bytes(item) / 1024)
                    self._indexes(item)

    def _batch_written(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls["dynamodb.BatchWriteItem"] += 1
            for requests in json.loads(params["body"])["RequestItems"].values():
                for request in requests:
                    item = request["PutRequest"]["Item"]
                    self.units["result_items"] += 1
                    self.units["result_bytes"] += item_bytes(item)
                    self.units["wru_results"] += math.ceil(item_bytes(item) / 1024)
                    self._indexes(item)

    def _indexes(self, item: dict[str, Any]) -> None:
        for index, attribute in RESULT_INDEXES.items():
            self.units[f"wru_index_{index}"] += attribute in item

    def _after(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        params: dict[str, Any] = getattr(self._local, "params", {})
        if model.name == "Query":
            size = sum(item_bytes(i) for i in parsed.get("Items", []))
            per_4k = math.ceil(size / 4096) if size else 1
            with self._lock:
                self.units["rru"] += per_4k * (1.0 if params.get("ConsistentRead") else 0.5)
        elif model.name == "GetItem":
            with self._lock:
                self.units["rru"] += math.ceil(max(1, item_bytes(parsed.get("Item", {}))) / 4096)
        elif model.name in ("UpdateItem", "PutItem") and _is_job_item(params.get("Key", params.get("Item", {}))):
            self._job_written(params["TableName"], params.get("Key") or params["Item"])

    def _job_written(self, table_name: str, key: dict[str, Any]) -> None:
        after = self._probe.get_item(TableName=table_name, Key=item_key(key[PARTITION]["S"], key[SORT]["S"]))
        after = after.get("Item", {})
        with self._lock:
            before, self._job_item = self._job_item, after
            self.units["wru_job_item"] += math.ceil(max(item_bytes(before), item_bytes(after), 1) / 1024)
            if ACTIVE in before or ACTIVE in after:
                moved = before.get(LEASE_EXPIRES) != after.get(LEASE_EXPIRES) and ACTIVE in before
                self.units["wru_active_index"] += math.ceil(item_bytes(after or before) / 1024) * (1 + moved)
            self.units["job_item_max_bytes"] = max(self.units["job_item_max_bytes"], item_bytes(after))


def metered_run(srv: Servers, rows: int) -> dict[str, Any]:
    """One job to COMPLETED with every AWS call metered."""
    stack = srv.stack()
    upload = stack.upload(csv_bytes(rows))
    meter = Meter(stack.aws.client("dynamodb"), stack.settings.results_table)
    clock = StageClock()
    job_runner, gateway = runner(stack, clock=clock, clients_hook=meter.attach)
    result, seconds = run_job(job_runner, upload)
    plain = srv.stack()  # the same job again, unmetered, for the CPU it takes
    plain_upload = plain.upload(csv_bytes(rows))
    plain_runner, _ = runner(plain)
    cpu = time.process_time()
    run_job(plain_runner, plain_upload)
    cpu = time.process_time() - cpu
    if data_rows(result) != rows:
        raise AssertionError(f"not every row recorded: {result}")
    return {
        "rows": rows,
        "numbers_sent": gateway.stats.numbers,
        "gateway_calls": gateway.stats.calls,
        "seconds": seconds,
        "send_seconds": seconds - clock.seconds["report"],
        "cpu_s": cpu,
        "calls": dict(meter.calls),
        "units": dict(meter.units),
    }


def null_rate(srv: Servers, rows: int) -> tuple[float, float]:
    """(rows/s, CPU s per row) of the same job with a null sink: the runner's own speed, the sink aside."""
    stack = srv.stack()
    upload = stack.upload(csv_bytes(rows))
    job_runner, _ = runner(stack, sink="null")
    cpu = time.process_time()
    result, seconds = run_job(job_runner, upload)
    return data_rows(result) / seconds, (time.process_time() - cpu) / rows


def model(run: dict[str, Any], rates: dict[str, float]) -> dict[str, Any]:
    """Per-number figures and the cost of a million numbers, per service."""
    rows, calls, units, p = run["rows"], run["calls"], run["units"], PRICES
    per = 1_000_000 / rows
    wru = sum(v for k, v in units.items() if k.startswith("wru_"))
    s3_get = sum(n for op, n in calls.items() if op in ("s3.GetObject", "s3.HeadObject"))
    s3_put = sum(n for op, n in calls.items() if op.startswith("s3.") and op.split(".")[1] in _S3_PUT_CLASS)
    sqs = sum(n for op, n in calls.items() if op.startswith("sqs."))
    secrets = sum(n for op, n in calls.items() if op.startswith("secretsmanager."))
    dynamo_calls = sum(n for op, n in calls.items() if op.startswith("dynamodb."))
    gb_s = {name: MEMORY_MB / 1024 * 100_000 / rate for name, rate in rates.items()}
    invocations = 1
    million = {
        "dynamodb_writes": wru * per * p["dynamodb_write_request_unit"],
        "dynamodb_reads": units.get("rru", 0) * per * p["dynamodb_read_request_unit"],
        "s3_requests": (s3_get * p["s3_get_request"] + s3_put * p["s3_put_request"]) * per,
        "sqs_requests": sqs * per * p["sqs_request"],
        "secrets_manager": secrets * per * p["secrets_manager_api_call"],
        "lambda_requests": invocations * per * p["lambda_request"],
    }
    for name, value in gb_s.items():
        million[f"lambda_compute_at_{name}"] = value * 10 * p["lambda_arm64_gb_second"]
    return {
        "rows": rows,
        "dynamodb_calls_per_number": round(dynamo_calls / rows, 4),
        "dynamodb_calls": {op: n for op, n in sorted(calls.items()) if op.startswith("dynamodb.")},
        "other_calls": {op: n for op, n in sorted(calls.items()) if not op.startswith("dynamodb.")},
        "write_request_units_per_number": round(wru / rows, 3),
        "wru_breakdown_per_number": {k: round(v / rows, 4) for k, v in units.items() if k.startswith("wru_")},
        "read_request_units_per_number": round(units.get("rru", 0) / rows, 4),
        "result_item_mean_bytes": round(units.get("result_bytes", 0) / max(1, units.get("result_items", 0))),
        "job_item_max_bytes": units.get("job_item_max_bytes", 0),
        "gateway_calls_per_1000_numbers": round(run["gateway_calls"] / run["numbers_sent"] * 1000, 2),
        "rates_numbers_per_s": {k: round(v) for k, v in rates.items()},
        "lambda_gb_s_per_100k": {k: round(v, 2) for k, v in gb_s.items()},
        "lambda_memory_mb": MEMORY_MB,
        "usd_per_million_numbers": {k: round(v, 4) for k, v in million.items()},
        "prices": PRICES,
    }


def measure(quick: bool, rows: int | None = None) -> dict[str, Any]:
    """A metered job, and the null-sink rate, against the same servers."""
    rows = rows or (3_000 if quick else 10_000)
    with servers(20) as srv:
        null_rate(srv, min(500, rows))  # warm up
        run = metered_run(srv, rows)
        null, null_cpu = null_rate(srv, rows * 5)
        cpu = {"moto_sink": run["cpu_s"] / run["rows"], "null_sink": null_cpu}
        rates = {
            "moto_sink_rate": run["rows"] / run["send_seconds"],
            "null_sink_rate": null,
            # CPU-bound on Lambda: at 512 MB a function gets 512/1769 of a vCPU (1,769 MB = 1 vCPU)
            "cpu_bound_at_512MB_real_sink": MEMORY_MB / 1769 / cpu["moto_sink"],
        }
    result = model(run, rates)
    result["cpu_us_per_number"] = {k: round(v * 1e6, 1) for k, v in cpu.items()}
    return result


def report(m: dict[str, Any]) -> str:
    """The tables."""
    wru = m["wru_breakdown_per_number"]
    facts = [
        ("DynamoDB calls per number", m["dynamodb_calls_per_number"]),
        ("DynamoDB write request units per number", m["write_request_units_per_number"]),
        ("  result items (<= 1 KB each)", wru.get("wru_results", 0)),
        ("  ByMsgId index (KEYS_ONLY)", wru.get("wru_index_ByMsgId", 0)),
        ("  AwaitingReport index (delivery reports)", wru.get("wru_index_AwaitingReport", 0)),
        ("  conditional put_item (recovery)", wru.get("wru_put_item", 0)),
        ("  job item updates (lease, marks, counts)", wru.get("wru_job_item", 0)),
        ("  ActiveJobs index (ALL projection)", wru.get("wru_active_index", 0)),
        ("DynamoDB read request units per number (report, resume)", m["read_request_units_per_number"]),
        ("gateway calls per 1000 numbers", m["gateway_calls_per_1000_numbers"]),
        ("runner CPU us per number, moto sink (whole job)", m["cpu_us_per_number"]["moto_sink"]),
        ("runner CPU us per number, null sink", m["cpu_us_per_number"]["null_sink"]),
    ]
    for name, gb_s in m["lambda_gb_s_per_100k"].items():
        rate = m["rates_numbers_per_s"][name]
        facts.append((f"Lambda GB-s per 100k at {name.replace('_', ' ')} ({rate:,}/s, {MEMORY_MB} MB)", gb_s))
    costs = [(k.replace("_", " "), f"${v:.4f}") for k, v in m["usd_per_million_numbers"].items()]
    lines = [table(f"cost model: measured on a {m['rows']:,}-row job", ("figure", "value"), facts), ""]
    lines.append(table(f"USD per million numbers ({PRICES['as_of']})", ("item", "USD"), costs))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    return script_main("cost", __doc__, lambda args: measure(args.quick), report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
