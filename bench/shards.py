"""Partitions and shards: the same file end to end to COMPLETED against moto server behind AWS's DynamoDB limits
(local/aws_limits.py), the job's rows in one partition (1 shard) and in the default shards, and the same run with
the limits off; rows/s and the ratios. Then the arithmetic for AWS: the rows/s per job that S shards allow, and the
S from which the provider's call rate, not DynamoDB, is the ceiling.

DynamoDB takes at most 1,000 write units/s on one partition key: a job whose rows share one partition writes at
most ~1,000 rows/s. Goal: with the limits on and the default shards, under 10% slower than with the limits off.
The shard count is `Settings.row_shards` (ROW_SHARDS); while the layer has no such setting, every job writes one
partition and the default-shards run is the 1-shard run.

python -m bench.shards [--quick] [--latency-ms 20]
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from typing import Any

from bench.common import script_main, table
from bench.csv_data import csv_bytes
from bench.job_runs import data_rows, run_job, runner
from bench.stack import Servers, servers
from bench.stage_timing import StageClock
from local.aws import LIMITS_ENV
from smsdrop.config import Settings

GOAL = 0.9
SIZES = {"full": 20_000, "quick": 4_000}
HAS_SHARDS = "row_shards" in {f.name for f in fields(Settings)}

# The arithmetic's inputs: DynamoDB's limits, and what one row writes (bench/cost.py: a result item under 1 KB, one
# write unit, to its shard's partition; ~0.04 unit of job item updates, to the job item's).
PARTITION_WRITE_UNITS = 1000
TABLE_WRITE_UNITS = 4000  # a new on-demand table (more once warmed: TableWarmWriteUnits)
ROW_UNITS, TABLE_UNITS_PER_ROW = 1.0, 1.04
SHARD_COUNTS = (1, 2, 4, 8, 16)
PROVIDER_LATENCIES_S = (0.25, 0.5, 1.0)


def default_shards() -> int:
    """The shards a job's rows are spread over by default (1 while there is no Settings.row_shards)."""
    return int(getattr(Settings(), "row_shards", 1))


@contextmanager
def aws_limits(on: bool) -> Iterator[None]:
    """Servers started inside run behind AWS's limits, or not (SMSDROP_AWS_LIMITS, read by local.aws.moto_server)."""
    saved = os.environ.get(LIMITS_ENV)
    os.environ[LIMITS_ENV] = "on" if on else "off"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(LIMITS_ENV, None)
        else:
            os.environ[LIMITS_ENV] = saved


def job(srv: Servers, body: bytes, rows: int, shards: int) -> dict[str, Any]:
    """One job through the real runner to COMPLETED, its rows over `shards` partitions; the report stage apart."""
    stack = srv.stack(**({"row_shards": shards} if HAS_SHARDS else {}))
    upload = stack.upload(body)
    clock = StageClock()
    job_runner, _ = runner(stack, clock=clock)
    result, seconds = run_job(job_runner, upload)
    if result.end != "COMPLETED" or data_rows(result) != rows:
        raise AssertionError(f"the job did not complete all {rows} rows: {result}")
    report_s = clock.seconds["report"]
    return {
        "shards": shards,
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1),
        "report_seconds": round(report_s, 3),
        "rows_per_s_without_report": round(rows / (seconds - report_s), 1),
    }


def measure(quick: bool, latency_ms: float, rows: int | None = None) -> dict[str, Any]:
    """Limits off (default shards), then limits on at 1 shard and at the default shards: the same file each time."""
    rows = rows or SIZES["quick" if quick else "full"]
    body, warm_rows = csv_bytes(rows), min(500, rows)
    shards = default_shards()
    with aws_limits(False), servers(latency_ms) as srv:
        job(srv, csv_bytes(warm_rows), warm_rows, shards)  # warm up: imports, connections, compiled patterns
        off = job(srv, body, rows, shards)
    with aws_limits(True), servers(latency_ms) as srv:
        job(srv, csv_bytes(warm_rows), warm_rows, shards)
        one = job(srv, body, rows, 1)
        many = job(srv, body, rows, shards) if shards > 1 else one
    return {
        "latency_ms": latency_ms,
        "row_shards_setting": HAS_SHARDS,
        "limits_off": off,
        "limits_on_one_shard": one,
        "limits_on_default_shards": many,
        "ratio_default_shards": round(many["rows_per_s"] / off["rows_per_s"], 3),
        "ratio_one_shard": round(one["rows_per_s"] / off["rows_per_s"], 3),
        "ratio_default_vs_one_shard": round(many["rows_per_s"] / one["rows_per_s"], 3),
        "goal_ratio": GOAL,
        "aws": aws_arithmetic(),
    }


def aws_arithmetic(
    shard_counts: Sequence[int] = SHARD_COUNTS,
    latencies_s: Sequence[float] = PROVIDER_LATENCIES_S,
    in_flight: int = 4,
    numbers_per_call: int = 1000,
) -> dict[str, Any]:
    """Rows/s one job can write at S shards (its partitions; a new table takes TABLE_WRITE_UNITS in all), the rows/s
    the provider's calls allow (in_flight calls of numbers_per_call every latency), the S from which the provider's
    is the lower, and the table write units that rate needs (more than a new table's: warm it)."""
    provider = {str(latency): in_flight * numbers_per_call / latency for latency in latencies_s}
    return {
        "partition_rows_per_s": {str(s): round(s * PARTITION_WRITE_UNITS / ROW_UNITS) for s in shard_counts},
        "new_table_rows_per_s": round(TABLE_WRITE_UNITS / TABLE_UNITS_PER_ROW),
        "provider_rows_per_s": {latency: round(rate) for latency, rate in provider.items()},
        "shards_from_which_the_provider_is_the_ceiling": {
            latency: math.ceil(rate * ROW_UNITS / PARTITION_WRITE_UNITS) for latency, rate in provider.items()
        },
        "table_write_units_needed": {
            latency: math.ceil(rate * TABLE_UNITS_PER_ROW) for latency, rate in provider.items()
        },
    }


def report(r: dict[str, Any]) -> str:
    """The tables."""
    runs = [
        ("limits off", r["limits_off"], 1.0),
        ("limits on, 1 shard", r["limits_on_one_shard"], r["ratio_one_shard"]),
        ("limits on, default shards", r["limits_on_default_shards"], r["ratio_default_shards"]),
    ]
    rows = [(name, run["shards"], run["rows"], run["seconds"], run["rows_per_s"], run["rows_per_s_without_report"],
             ratio) for name, run, ratio in runs]  # fmt: skip
    title = f"to COMPLETED at {r['latency_ms']:g} ms gateway latency (goal: default shards >= {GOAL:g}x limits off)"
    header = ("run", "shards", "rows", "seconds", "rows/s", "rows/s w/o report", "x limits off")
    lines = [table(title, header, rows)]
    if not r["row_shards_setting"]:
        lines.append("(no Settings.row_shards yet: every job writes one partition)")
    aws = r["aws"]
    title = f"AWS: rows/s one job's partitions take (a new table takes {aws['new_table_rows_per_s']:,}/s in all)"
    lines.append(table(title, ("shards", "rows/s"), list(aws["partition_rows_per_s"].items())))
    provider = [
        (f"{latency} s", rate, aws["shards_from_which_the_provider_is_the_ceiling"][latency],
         aws["table_write_units_needed"][latency])
        for latency, rate in aws["provider_rows_per_s"].items()
    ]  # fmt: skip
    header = ("latency", "rows/s", "from shards", "table write units/s")
    lines.append(table("AWS: the provider's ceiling (4 calls of 1000 numbers in flight)", header, provider))
    return "\n\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    return script_main(
        "shards",
        __doc__,
        lambda args: measure(args.quick, args.latency_ms),
        report,
        argv,
        options=lambda p: p.add_argument("--latency-ms", type=float, default=20.0),
    )


if __name__ == "__main__":
    raise SystemExit(main())
