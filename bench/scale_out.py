"""The scale-out engine (docs/scale-out.md): rows/s of one job as its chunks grow from 1 to 8 on moto server's Step
Functions (its Map children run as threads of this process, at most MaxConcurrency = chunks at a time), and the
plan, index and merge costs and the merge's memory per million rows (one process, in memory).

`--faults`: the same file once on one function and once on the engine (`--chunk-rows`), the simulator answering
HTTP 500 before accepting and stalling past the read timeout after accepting (seeded): the rows the row itself
decides must read the same line for line, a row SUBMITTED or UNKNOWN on one path must be one of those on the other,
and the simulator's audit must show nothing accepted twice (tests/integration/test_scale_out_faults.py, smaller)."""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import logging
import random
import time
import tracemalloc
from array import array
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bench.common import script_main, table
from bench.job_runs import NO_DEADLINE
from bench.pipeline import MemoryS3
from bench.scale_csv import scale_csv
from local.aws import LocalAws, Names, behind_limits, create_stack, default_limits, moto_server
from local.gateway_sim import Audit, GatewaySimulator
from local.stepfunctions import deploy, steps_routed
from smsdrop.config import Settings
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.uploads import Upload
from smsdrop.output.results_file import ReportKeys
from smsdrop.scale.chunk_reader import ChunkReader
from smsdrop.scale.index import DigestTrail
from smsdrop.scale.merge import Merge
from smsdrop.scale.plan import Unindexed, cut
from smsdrop.scale.starter import ScaleOut
from smsdrop.scale.steps import ScaleSteps
from smsdrop.send.clients import AWS_CONFIG, Clients
from smsdrop.send.wiring import build_runner

MILLION = 1_000_000

FAULT_SEED = 15
"""The simulator's seed in the fault runs: its draws are seeded; which call gets which still depends on timing."""
FAULTS: dict[str, float] = {"http_500_rate": 0.1, "stall_rate": 0.1}
"""Per call: HTTP 500 before accepting anything; accepting, then answering after the read timeout."""
SENT = frozenset({"SUBMITTED", "UNKNOWN"})
"""What a provider fault makes of a row that is sent: which rows one hits depends on timing and batches."""
NUMBER, ORDER_ID, STATUS, REASON, MSG_ID = 1, 2, 3, 4, 5  # columns of a results line (smsdrop.output.excel_cells)


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


def results_lines(s3: Any, upload: Upload) -> list[list[str]]:
    """The lines of the job's results file (its header first)."""
    text = s3.get_object(Bucket=upload.bucket, Key=ReportKeys.of(upload).results)["Body"].read().decode()
    return list(csv.reader(io.StringIO(text)))


def comparable(lines: list[list[str]], job_id: str) -> list[list[str]]:
    """Results lines without msgIds, generated orderIds without the job id that starts them (<job>)."""
    return [[_without_job(cell, job_id) for cell in line[:MSG_ID] + line[MSG_ID + 1 :]] for line in lines]


def _without_job(cell: str, job_id: str) -> str:
    """A cell with the job id (and the mark a cell starting with a digit gets: output/excel_cells.py) as <job>."""
    cell = cell.replace(job_id, "<job>")
    return cell[1:] if cell.startswith("'<job>") else cell


@dataclass(frozen=True, slots=True)
class FaultComparison:
    """Two results files of one file under random provider faults (comparable lines, header first)."""

    rows: int
    decided: int
    """Rows whose answer the row itself decides (REJECTED and the like) on both paths."""
    sent: int
    """Rows SUBMITTED or UNKNOWN on both paths."""
    swapped: int
    """...of which SUBMITTED on one path and UNKNOWN on the other: where the faults fell."""
    mismatches: list[tuple[list[str], list[str]]] = field(default_factory=list)
    """Pairs of lines that differ otherwise (a row decided differently, or a sent row in any other way)."""


def compare(one: list[list[str]], many: list[list[str]]) -> FaultComparison:
    """Line by line: a row the row itself decides must read the same; a row SUBMITTED or UNKNOWN on one path must be
    one of those on the other, the same but for status and reason."""
    decided = sent = swapped = 0
    mismatches: list[tuple[list[str], list[str]]] = []
    empty: list[str] = []
    for a, b in itertools.zip_longest(one[1:], many[1:], fillvalue=empty):
        statuses = {line[STATUS] for line in (a, b) if len(line) > REASON}
        if statuses and statuses <= SENT and len(a) == len(b):
            same = _unsent_cells(a) == _unsent_cells(b)
            sent += same
            swapped += same and len(statuses) == 2
            if not same:
                mismatches.append((a, b))
        elif a == b:
            decided += 1
        else:
            mismatches.append((a, b))
    if one[:1] != many[:1]:
        mismatches.insert(0, (one[:1][0] if one else [], many[:1][0] if many else []))
    return FaultComparison(max(len(one), len(many)) - 1, decided, sent, swapped, mismatches)


def _unsent_cells(line: list[str]) -> list[str]:
    return line[:STATUS] + line[REASON + 1 :]


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """A results file against the simulator's audit of the same job."""

    accepted: int
    duplicate_numbers: int
    duplicate_order_ids: int
    submitted_not_accepted: int
    """SUBMITTED lines whose number, orderId and msgId the simulator did not accept (must be 0)."""
    accepted_not_sent: int
    """Accepted numbers whose line is neither SUBMITTED nor UNKNOWN (must be 0)."""


def check_audit(lines: list[list[str]], audit: Audit) -> AuditCheck:
    """Compare the raw results lines (`results_lines`) of a job with the audit of its sends."""
    body = [[_text(cell) for cell in line] for line in lines[1:]]
    accepted = {(a.number, a.order_id, a.msg_id) for a in audit.accepted}
    submitted = [(line[NUMBER], line[ORDER_ID], line[MSG_ID]) for line in body if line[STATUS] == "SUBMITTED"]
    sent = {(line[NUMBER], line[ORDER_ID]) for line in body if line[STATUS] in SENT}
    return AuditCheck(
        accepted=len(audit.accepted),
        duplicate_numbers=audit.duplicate_numbers,
        duplicate_order_ids=audit.duplicate_order_ids,
        submitted_not_accepted=sum(s not in accepted for s in submitted),
        accepted_not_sent=sum((a.number, a.order_id) not in sent for a in audit.accepted),
    )


def _text(cell: str) -> str:
    """An identifier cell without the mark that keeps a spreadsheet from reading it as a number."""
    return cell[1:] if cell.startswith("'") else cell


def one_function(aws: LocalAws, settings: Settings, clients: Clients, upload: Upload) -> int:
    """Run the job on one function, then each continuation message with a fresh runner; how many invocations."""
    build_runner(settings, clients).run(upload, NO_DEADLINE)
    sqs, invocations = aws.client("sqs"), 1
    while messages := sqs.receive_message(QueueUrl=settings.continuation_queue_url).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=settings.continuation_queue_url, ReceiptHandle=message["ReceiptHandle"])
            build_runner(settings, clients).run(Upload.from_message(json.loads(message["Body"])), NO_DEADLINE)
            invocations += 1
    return invocations


def with_faults(rows: int, chunk_rows: int, max_concurrency: int) -> dict[str, Any]:
    """The file of `rows` rows on one function, then on the engine in chunks of `chunk_rows`, both under FAULTS (the
    runner's warning for each fault is not printed)."""
    quiet = logging.getLogger("smsdrop.provider")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with (
            moto_server(limits=False) as moto,
            behind_limits(moto, default_limits()) as endpoint,
            GatewaySimulator(seed=FAULT_SEED) as sim,
        ):
            return _both_paths(moto, endpoint, sim, scale_csv(rows), chunk_rows, max_concurrency)
    finally:
        quiet.setLevel(level)


def _both_paths(
    moto: str, endpoint: str, sim: GatewaySimulator, data: bytes, chunk_rows: int, max_concurrency: int
) -> dict[str, Any]:
    read_timeout_s = 2.0
    names = Names("smsdrop-bench-faults", "SendResults-faults", "smsdrop/gateway-faults", "q-f", "dlq-f")
    secret = {"apiKey": sim.api_key, "apiSecret": sim.api_secret, "appId": sim.app_id}
    aws = create_stack(endpoint, names, secret_value=json.dumps(secret))
    engine = deploy(aws, moto, max_concurrency=max_concurrency)
    settings = replace(_settings(aws, sim, chunk_rows), numbers_per_call=100, read_timeout_s=read_timeout_s)
    clients = Clients(*(aws.client(n, AWS_CONFIG) for n in ("s3", "dynamodb", "secretsmanager", "sqs")))
    faults = {**FAULTS, "stall_s": read_timeout_s + 1.0}
    sim.set_faults(**faults)
    one, many = (_put(aws, data, f"incoming/{name}.csv") for name in ("one", "many"))
    started = time.monotonic()
    invocations = one_function(aws, settings, clients, one)
    one_s, one_audit = time.monotonic() - started, sim.audit()
    sim.reset_audit()
    with steps_routed(900_000, lambda: ScaleSteps(settings, clients)) as log:
        started = time.monotonic()
        execution = ScaleOut(engine.sfn, engine.state_machine_arn, 1).start(many)["execution"]
        status = engine.wait(execution, timeout_s=3600)["status"]
        many_s = time.monotonic() - started
    s3 = aws.client("s3")
    one_lines, many_lines = results_lines(s3, one), results_lines(s3, many)
    comparison = compare(comparable(one_lines, one.job_id), comparable(many_lines, many.job_id))
    return {
        "rows": comparison.rows,
        "chunk_rows": chunk_rows,
        "chunks": max((e["chunk"] for e in log if e["step"] == "send"), default=-1) + 1,
        "max_concurrency": max_concurrency,
        "faults": faults | {"read_timeout_s": read_timeout_s, "seed": FAULT_SEED},
        "status": status,
        "one": _path(one_lines, one_audit, one_s) | {"invocations": invocations},
        "many": _path(many_lines, sim.audit(), many_s) | {"invocations": len(log)},
        "decided_same": comparison.decided,
        "sent_both": comparison.sent,
        "submitted_unknown_swapped": comparison.swapped,
        "mismatches": len(comparison.mismatches),
        "first_mismatches": comparison.mismatches[:5],
    }


def _put(aws: LocalAws, data: bytes, key: str) -> Upload:
    answer = aws.client("s3").put_object(Bucket=aws.names.bucket, Key=key, Body=data)
    return Upload(aws.names.bucket, key, answer.get("VersionId"), answer["ETag"], len(data))


def _path(lines: list[list[str]], audit: Audit, seconds: float) -> dict[str, Any]:
    """One path's figures: statuses, the audit's check, seconds."""
    statuses = Counter(line[STATUS] for line in lines[1:])
    return {"statuses": dict(sorted(statuses.items())), "audit": asdict(check_audit(lines, audit)), "s": seconds}


def faults_report(result: dict[str, Any]) -> str:
    """The fault run's table."""
    statuses = sorted(set(result["one"]["statuses"]) | set(result["many"]["statuses"]))
    paths = [("one function", result["one"]), (f"engine, {result['chunks']} chunks", result["many"])]
    rows: list[list[Any]] = []
    for name, path in paths:
        audit = path["audit"]
        rows.append([name, *(path["statuses"].get(s, 0) for s in statuses), audit["accepted"],
                     audit["duplicate_numbers"], audit["duplicate_order_ids"], audit["submitted_not_accepted"],
                     audit["accepted_not_sent"], path["invocations"], path["s"]])  # fmt: skip
    faults = result["faults"]
    title = (
        f"{result['rows']:,} rows under provider faults (seed {faults['seed']}: HTTP 500 {faults['http_500_rate']:.0%}"
        f", stall {faults['stall_s']} s past a {faults['read_timeout_s']} s read timeout {faults['stall_rate']:.0%}"
        f" of calls); engine: {result['status']}, --chunk-rows {result['chunk_rows']:,}, MaxConcurrency "
        f"{result['max_concurrency']}"
    )
    header = ["path", *statuses, "accepted", "dup numbers", "dup orderIds", "SUBMITTED not accepted",
              "accepted not sent", "invocations", "seconds"]  # fmt: skip
    lines = [
        table(title, header, rows),
        "",
        f"rows the row decides, the same line for line: {result['decided_same']:,}",
        f"rows SUBMITTED or UNKNOWN on both paths: {result['sent_both']:,}, of which SUBMITTED on one and UNKNOWN on "
        f"the other: {result['submitted_unknown_swapped']:,}",
        f"lines that differ otherwise: {result['mismatches']}",
    ]
    lines += [f"  one function: {a}\n  engine:       {b}" for a, b in result["first_mismatches"]]
    return "\n".join(lines)


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
    """Measure, print, save (`--faults`: under `scale_out_faults`, `scale_out_faults_quick` with --quick)."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--faults", action="store_true")
    faults = early.parse_known_args(argv)[0].faults
    if faults:
        return script_main(
            "scale_out_faults",
            __doc__,
            lambda args: with_faults(
                6_000 if args.quick else args.rows, 500 if args.quick else args.chunk_rows, args.concurrency
            ),
            faults_report,
            argv,
            quick_help="6k rows in chunks of 500",
            options=_options,
        )
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
    parser.add_argument(
        "--faults", action="store_true", help="one function and the engine on one file under provider faults"
    )
    parser.add_argument("--chunk-rows", type=int, default=5_000, help="with --faults: rows a chunk")
    parser.add_argument("--concurrency", type=int, default=4, help="with --faults: the Send map's MaxConcurrency")


if __name__ == "__main__":
    raise SystemExit(main())
