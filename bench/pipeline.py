"""Core pipeline vs a bare csv.reader loop, same bytes, no network.

The pipeline is what one invocation does to every row before the network: stream and parse (RecipientReader,
fed by an in-memory S3 stand-in), validate, batch, then serialise (smsdrop.provider.send_client.request_body) and sign
(smsdrop.provider.signing.sign) each call. Rows/s of each and the ratio; best of several repeats.

python -m bench.pipeline [--rows N] [--repeats N] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import time
from collections.abc import Callable
from typing import Any

from bench.common import script_main, table
from bench.csv_data import csv_bytes

GOAL = 0.30


class MemoryS3:
    """The one S3 call RecipientReader makes to stream an object (get_object with a Range), from bytes."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def get_object(self, Range: str = "bytes=0-", **_: Any) -> dict[str, Any]:  # noqa: N803 - boto3's name
        start = int(Range.removeprefix("bytes=").split("-")[0])
        return {"Body": io.BytesIO(self._data[start:])}

    def head_object(self, **_: Any) -> dict[str, Any]:
        return {"ContentLength": len(self._data)}


def bare_csv(data: bytes) -> int:
    """The floor: decode the bytes and let csv.reader split every record; nothing else."""
    rows = 0
    for _ in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
        rows += 1
    return rows - 1


def read_only(data: bytes) -> int:
    """RecipientReader alone: stream, parse and validate every row."""
    from smsdrop.intake.reader import RecipientReader, RowRules

    reader = RecipientReader(MemoryS3(data), "bench", "incoming/bench.csv", None, RowRules(job_id="bench-job"))
    return sum(1 for _ in reader.rows())


def pipeline(data: bytes) -> int:
    """Read + validate + batch + serialise + sign: everything before the network, for every row."""
    from smsdrop.intake.reader import RecipientReader, RowRules
    from smsdrop.provider.send_client import request_body
    from smsdrop.provider.signing import sign
    from smsdrop.send.batching import BatchLimits, batches

    reader = RecipientReader(MemoryS3(data), "bench", "incoming/bench.csv", None, RowRules(job_id="bench-job"))
    rows = 0
    for batch in batches(reader.rows(), lambda: reader.position, BatchLimits()):
        rows += len(batch.rejected)
        if batch.has_call:
            rows += sum(len(item.recipients) for item in batch.items)
            request_body("bench-app", batch.items)
            sign("bench-key", "bench-secret", int(time.time()))
    return rows


def pipeline_without_gc(data: bytes) -> int:
    """The pipeline with the cyclic garbage collector off: what collection costs (for information)."""
    gc.disable()
    try:
        return pipeline(data)
    finally:
        gc.enable()


def best_rate(work: Callable[[bytes], int], data: bytes, repeats: int) -> tuple[float, int]:
    """(best rows/s over `repeats` runs, rows)."""
    best, rows = float("inf"), 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        rows = work(data)
        best = min(best, time.perf_counter() - t0)
    return rows / best, rows


def measure(rows: int, repeats: int) -> dict[str, Any]:
    """The rates, interleaved (each loop once per round, best of `repeats` rounds), and the ratios."""
    data = csv_bytes(rows)
    pipeline(data[: 1 << 16].rsplit(b"\n", 1)[0] + b"\n")  # warm up: compiled patterns, imports
    loops = {"csv_reader": bare_csv, "reader": read_only, "pipeline": pipeline, "pipeline_gc_off": pipeline_without_gc}
    rates: dict[str, float] = dict.fromkeys(loops, 0.0)
    counted: dict[str, int] = {}
    for _ in range(repeats):
        for name, work in loops.items():
            rate, counted[name] = best_rate(work, data, 1)
            rates[name] = max(rates[name], rate)
    if len(set(counted.values())) != 1:
        raise AssertionError(f"the loops saw different row counts: {counted}")
    return {
        "rows": rows,
        "bytes": len(data),
        "repeats": repeats,
        "csv_reader_rows_per_s": round(rates["csv_reader"]),
        "reader_rows_per_s": round(rates["reader"]),
        "pipeline_rows_per_s": round(rates["pipeline"]),
        "pipeline_us_per_row": round(1e6 / rates["pipeline"], 2),
        "pipeline_gc_off_rows_per_s": round(rates["pipeline_gc_off"]),
        "csv_reader_us_per_row": round(1e6 / rates["csv_reader"], 2),
        "ratio": round(rates["pipeline"] / rates["csv_reader"], 4),
        "goal_ratio": GOAL,
    }


def report(result: dict[str, Any]) -> str:
    """The table."""
    rows = [
        ("bare csv.reader", result["csv_reader_rows_per_s"], result["csv_reader_us_per_row"], 1.0),
        ("RecipientReader (parse+validate)", result["reader_rows_per_s"], round(1e6 / result["reader_rows_per_s"], 2),
         result["reader_rows_per_s"] / result["csv_reader_rows_per_s"]),
        ("pipeline (+batch+serialise+sign)", result["pipeline_rows_per_s"], result["pipeline_us_per_row"],
         result["ratio"]),
        ("  same, cyclic GC off (information)", result["pipeline_gc_off_rows_per_s"],
         round(1e6 / result["pipeline_gc_off_rows_per_s"], 2),
         result["pipeline_gc_off_rows_per_s"] / result["csv_reader_rows_per_s"]),
    ]  # fmt: skip
    title = f"core pipeline vs csv.reader ({result['rows']:,} rows, {result['bytes'] / 1e6:.1f} MB, best of "
    title += f"{result['repeats']} rounds; goal ratio >= {GOAL:.0%})"
    return table(title, ("loop", "rows/s", "us/row", "ratio"), [(*r[:3], f"{r[3]:.1%}") for r in rows])


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    return script_main(
        "pipeline",
        __doc__,
        lambda args: measure(*((50_000, 3) if args.quick else (args.rows, args.repeats))),
        report,
        argv,
        quick_help="50k rows, 3 repeats",
        options=_options,
    )


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)


if __name__ == "__main__":
    raise SystemExit(main())
