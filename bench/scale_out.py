"""The scale-out engine (docs/scale-out.md): rows/s of one job as its chunks grow from 1 to 8 on moto server's Step
Functions (its Map children run as threads of this process, at most MaxConcurrency = chunks at a time), and the
plan, index and merge costs and the merge's memory per million rows (one process, in memory)."""

from __future__ import annotations

import argparse
import json
import random
import time
import tracemalloc
from array import array
from dataclasses import replace
from typing import Any

from bench.common import script_main, table
from bench.pipeline import MemoryS3
from bench.scale_csv import scale_csv
from local.aws import LocalAws, Names, behind_limits, create_stack, default_limits, moto_server
from local.gateway_sim import GatewaySimulator
from local.stepfunctions import deploy, steps_routed
from smsdrop.config import Settings
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.uploads import Upload
from smsdrop.scale.chunk_reader import ChunkReader
from smsdrop.scale.index import DigestTrail
from smsdrop.scale.merge import Merge
from smsdrop.scale.plan import Unindexed, cut
from smsdrop.scale.starter import ScaleOut
from smsdrop.scale.steps import ScaleSteps
from smsdrop.send.clients import AWS_CONFIG, Clients

MILLION = 1_000_000


def reader(data: bytes, first_seen: Any) -> RecipientReader:
    """Our reader over an in-memory file, with `first_seen` for the duplicate and orderId checks."""
    return RecipientReader(MemoryS3(data), "b", "incoming/f.csv", None, RowRules(job_id="j", first_seen=first_seen))


def plan_and_index_s_per_million(data: bytes, rows: int) -> tuple[float, float]:
    """Seconds a million rows cost the Plan (cut) and the Index (one chunk, digests)."""
    started = time.perf_counter()
    (chunk,) = list(cut(reader(data, Unindexed), rows + 1))
    planned = time.perf_counter()
    trail = DigestTrail()
    for _ in ChunkReader(reader(data, lambda: trail), chunk).rows():
        pass
    indexed = time.perf_counter()
    return (planned - started) * MILLION / chunk.rows, (indexed - planned) * MILLION / chunk.rows


def merge_per_million(rows: int) -> tuple[float, float]:
    """Seconds and bytes of memory (peak, tracemalloc) a million rows cost the Merge: distinct keys, the worst case."""
    rng = random.Random(5)
    trail = DigestTrail(
        rows=array("I", range(2, rows + 2)),
        orders=array("q", (rng.getrandbits(63) + 1 for _ in range(rows))),
        sends=array("q", (rng.getrandbits(63) + 1 for _ in range(rows))),
    )
    tracemalloc.start()
    started = time.perf_counter()
    Merge().losers(trail)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed * MILLION / rows, peak * MILLION / rows


def job_rate(moto: str, endpoint: str, sim: GatewaySimulator, data: bytes, chunks: int, run: int) -> dict[str, Any]:
    """One job of `data` in `chunks` chunks, sent `chunks` at a time: seconds and rows/s, start to end."""
    names = Names(f"smsdrop-bench-{run}", f"SendResults-{run}", f"smsdrop/gateway-{run}", f"q-{run}", f"dlq-{run}")
    secret = {"apiKey": sim.api_key, "apiSecret": sim.api_secret, "appId": sim.app_id}
    aws = create_stack(endpoint, names, secret_value=json.dumps(secret))
    engine = deploy(aws, moto, max_concurrency=chunks)
    rows = sum(chunk.rows for chunk in cut(reader(data, Unindexed), len(data)))
    settings = _settings(aws, sim, chunk_rows=-(-rows // chunks))
    clients = Clients(*(aws.client(n, AWS_CONFIG) for n in ("s3", "dynamodb", "secretsmanager", "sqs")))
    answer = aws.client("s3").put_object(Bucket=names.bucket, Key="incoming/bench.csv", Body=data)
    upload = Upload(names.bucket, "incoming/bench.csv", answer.get("VersionId"), answer["ETag"], len(data))
    with steps_routed(900_000, lambda: ScaleSteps(settings, clients)) as log:
        started = time.monotonic()
        execution = ScaleOut(engine.sfn, engine.state_machine_arn, 1).start(upload)["execution"]
        status = engine.wait(execution, timeout_s=1800)["status"]
        elapsed = time.monotonic() - started
    sends = [entry["s"] for entry in log if entry["step"] == "send" and "s" in entry]
    return {"chunks": chunks, "rows": rows, "status": status, "s": round(elapsed, 2), "rows_per_s": rows / elapsed,
            "slowest_chunk_s": max(sends, default=0.0)}  # fmt: skip


def _settings(aws: LocalAws, sim: GatewaySimulator, chunk_rows: int) -> Settings:
    return replace(
        Settings(),
        results_table=aws.names.table,
        secret_id=aws.names.secret,
        gateway_url=sim.base_url,
        allow_http=True,
        lease_seconds=60,
        chunk_rows=chunk_rows,
        continuation_queue_url=aws.client("sqs").get_queue_url(QueueName=aws.names.queue)["QueueUrl"],
    )


def measure(rows: int, chunk_counts: list[int]) -> dict[str, Any]:
    """Every figure for a file of `rows` rows."""
    data = scale_csv(rows)
    plan_s, index_s = plan_and_index_s_per_million(data, rows)
    merge_s, merge_bytes = merge_per_million(min(rows * 10, 1_000_000))
    runs = []
    with moto_server(limits=False) as moto, behind_limits(moto, default_limits()) as aws, GatewaySimulator() as sim:
        for run, chunks in enumerate(chunk_counts):
            runs.append(job_rate(moto, aws, sim, data, chunks, run))
            sim.reset_audit()
    return {"rows": rows, "plan_s_per_million": plan_s, "index_s_per_million": index_s,
            "merge_s_per_million": merge_s, "merge_mb_per_million": merge_bytes / 2**20, "jobs": runs}  # fmt: skip


def report(result: dict[str, Any]) -> str:
    """The tables."""
    per_million = table(
        f"Per million rows (one process; file of {result['rows']:,} rows)",
        ["step", "seconds", "memory MB"],
        [
            ["plan (read once, cut)", result["plan_s_per_million"], "-"],
            ["index (digests, one chunk)", result["index_s_per_million"], "-"],
            ["merge (two indexes)", result["merge_s_per_million"], result["merge_mb_per_million"]],
        ],
    )
    jobs = table(
        "One job on moto's Step Functions (children as threads, MaxConcurrency = chunks)",
        ["chunks", "rows", "status", "seconds", "rows/s", "slowest chunk s"],
        [[j["chunks"], j["rows"], j["status"], j["s"], j["rows_per_s"], j["slowest_chunk_s"]] for j in result["jobs"]],
    )
    return per_million + "\n\n" + jobs


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    return script_main(
        "scale_out",
        __doc__,
        lambda args: measure(*((6_000, [1, 2]) if args.quick else (args.rows, [1, 2, 4, 8]))),
        report,
        argv,
        quick_help="6k rows, 1 and 2 chunks",
        options=_options,
    )


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=60_000)


if __name__ == "__main__":
    raise SystemExit(main())
