"""The guards' costs: the check-first pass per million rows, and the opt-out list's check per row.

Check-first: the pass CheckedFirst makes before a job's first batch (a second RecipientReader over the whole file,
fed by an in-memory S3 stand-in, every row counted and priced), against the job's own read of the same bytes; best
of a few repeats. Opt-out check: OptOutList.opted_out on batches of 1,000 numbers (10 BatchGetItem requests of 100
keys, in parallel) against moto server behind AWS's limits (local.aws), a list of 10,000 numbers of which 1% of
each batch is listed; the time per batch and per row, and the read units the keys cost.

python -m bench.guards [--rows N] [--batches N] [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from bench.common import script_main, table
from bench.csv_data import csv_bytes
from bench.pipeline import MemoryS3, read_only
from local.aws import REGION, create_results_table, moto_server
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.uploads import Upload
from smsdrop.output.sms_parts import PriceTable
from smsdrop.send.check_first import Caps, CheckedFirst
from smsdrop.store.optouts import OptOutList

PRICES = PriceTable.from_json('{"91": 0.0022, "44": 0.035, "default": 0.01}')
BATCH = 1000
LISTED = 10_000
RRU_PRICE_PER_MILLION = 0.125  # on-demand read request units, us-east-1 (a strongly consistent read of <= 4 KB: 1)


def check_first_pass(data: bytes) -> int:
    """The check CheckedFirst makes from the start of a job under a cap: every row read, counted and priced."""
    upload = Upload("bench", "incoming/bench.csv", None, "e", len(data))

    def reader() -> RecipientReader:
        return RecipientReader(MemoryS3(data), "bench", upload.key, None, RowRules(job_id="bench-job"))

    checked = CheckedFirst(reader(), reader, Caps(PRICES, max_rows=10**9), upload)
    checked._check()  # the pass alone: what a job pays before its first batch
    return int(checked.report()["guards"]["checked_first"]["rows"])


def best_of(repeats: int, step: Callable[[bytes], int], data: bytes) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step(data)
        times.append(time.perf_counter() - started)
    return min(times)


def opt_out_checks(batches: int) -> dict[str, float]:
    """Seconds per batch of 1,000 numbers checked against the list, over `batches` batches."""
    import boto3

    with moto_server() as endpoint:
        dynamodb = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t"
        )
        create_results_table(dynamodb, "SendResults")
        optouts = OptOutList(dynamodb, "SendResults")
        optouts.add((f"9198{n * 97:08d}" for n in range(LISTED)), "bench", 0)
        times = []
        for b in range(batches):
            numbers = [
                f"9198{(b * BATCH + i) * 97 if i % 100 == 0 else 10**7 + b * BATCH + i:08d}" for i in range(BATCH)
            ]
            started = time.perf_counter()
            found = optouts.opted_out(numbers)
            times.append(time.perf_counter() - started)
            assert len(found) == sum(1 for i in range(BATCH) if i % 100 == 0 and (b * BATCH + i) < LISTED)
    times.sort()
    return {"median_s": times[len(times) // 2], "p90_s": times[int(len(times) * 0.9)]}


def _nth(n: int) -> int:
    """The n-th number asked: every 100th one is the list's (while the list lasts), the others are not."""
    return n * 97 if n % 100 == 0 else 10**7 + n


def measure(args: argparse.Namespace) -> dict[str, Any]:
    rows = 100_000 if args.quick else args.rows
    data = csv_bytes(rows)
    repeats = 2 if args.quick else 3
    check = best_of(repeats, check_first_pass, data)
    read = best_of(repeats, read_only, data)
    checks = opt_out_checks(5 if args.quick else args.batches)
    return {
        "rows": rows,
        "bytes": len(data),
        "check_first_s": check,
        "check_first_s_per_million": check * 1_000_000 / rows,
        "job_read_s_per_million": read * 1_000_000 / rows,
        "check_first_rows_per_s": rows / check,
        "check_first_mb_per_s": len(data) / check / 1e6,
        "opt_out_batch_median_ms": checks["median_s"] * 1000,
        "opt_out_batch_p90_ms": checks["p90_s"] * 1000,
        "opt_out_us_per_row": checks["median_s"] * 1e6 / BATCH,
        "opt_out_read_units_per_row": 1.0,
        "opt_out_usd_per_million_rows": RRU_PRICE_PER_MILLION,
    }


def report(r: dict[str, Any]) -> str:
    return "\n\n".join(
        [
            table(
                f"Check-first pass, {r['rows']:,} rows ({r['bytes'] / 1e6:.1f} MB)",
                ["what", "s per million rows", "rows/s", "MB/s"],
                [
                    [
                        "check-first pass",
                        r["check_first_s_per_million"],
                        r["check_first_rows_per_s"],
                        r["check_first_mb_per_s"],
                    ],
                    ["the job's own read (for scale)", r["job_read_s_per_million"], "", ""],
                ],
            ),
            table(
                f"Opt-out check, batches of {BATCH:,} numbers, list of {LISTED:,} (moto server behind AWS's limits)",
                ["what", "value"],
                [
                    ["ms per batch (median)", r["opt_out_batch_median_ms"]],
                    ["ms per batch (p90)", r["opt_out_batch_p90_ms"]],
                    ["µs per row", r["opt_out_us_per_row"]],
                    ["read units per row (strongly consistent, listed or not)", r["opt_out_read_units_per_row"]],
                    ["USD per million rows (on-demand reads)", r["opt_out_usd_per_million_rows"]],
                ],
            ),
        ]
    )


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the checked file")
    parser.add_argument("--batches", type=int, default=50, help="batches of 1,000 numbers checked")


def main(argv: list[str] | None = None) -> int:
    """Measure and print the guards' costs."""
    return script_main("guards", __doc__ or "", measure, report, argv, "100k rows, 5 batches", options)


if __name__ == "__main__":
    raise SystemExit(main())
