"""Resume and closing cost: what one continuation costs with 10k vs 100k rows already done, and what closing a job
costs at 100k vs 1M rows. Goal: both flat (neither may grow with the rows done).

A continuation: a job is run until about N rows are recorded and handed over (the real runner, rows into moto server
behind AWS's limits); then a fresh invocation is timed that takes the job, sends one batch and hands over again (the
median of three). Its row-item reads are counted (a hand-over's successor reads none), and its time is split: the
reader's ("read": on a resume it takes back the reader state the hand-over left and enters the file at the
checkpoint, smsdrop.intake.reader_state; without one it would read and check the file again up to there), the
batch's (its call and its rows' writes), and the rest: the claim, the results file's state (read, and written at the
hand-over), the reader's state kept at the hand-over ("keep", and its size), the job item's updates, the hand-over.

Closing: the same runner to COMPLETED in one invocation, its row items built and dropped (closing reads no row item
back any more, so where they go does not matter to it; moto would take ~30 min to take 1M rows); "close" is the
results file's last part and completion, the summary and the page (`ResultsStream.close`). moto assembles the whole
object inside CompleteMultipartUpload (O(file)), so that call is timed apart.

The reader state: the size of the state after N rows that each bring a new key to both indexes (the worst case), and
the CPU time to make its bytes and to take them back, without S3.

python -m bench.resume_close [--quick] [--done 10000 100000] [--closing 100000 1000000]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from bench.common import script_main, table
from bench.csv_data import csv_bytes
from bench.job_runs import NO_DEADLINE, runner
from bench.stack import Servers, Stack, servers
from bench.stage_timing import StageClock

DONE = (10_000, 100_000)
CLOSING = (100_000, 1_000_000)
QUICK_DONE = (2_000, 10_000)
QUICK_CLOSING = (10_000, 50_000)
EXTRA_ROWS = 30_000  # rows left after the checkpoint, so every continuation has batches to send
GOAL_GROWTH = 0.25  # "flat": the larger job's figure within 25% of the smaller's
SNAPSHOT_ROWS = 1_000_000
QUICK_SNAPSHOT_ROWS = 100_000
READER = "/reader-"  # the reader snapshots' objects (smsdrop.intake.reader_snapshots)


class CountedReads:
    """The results port (once `wrap` is given it), its row-item reads counted (range reads, rows asked by key)."""

    def __init__(self) -> None:
        self._inner: Any = None
        self.reads: Counter[str] = Counter()

    def wrap(self, inner: Any) -> CountedReads:
        """Count the reads of `inner`."""
        self._inner = inner
        return self

    def read(self, *args: Any) -> Any:
        self.reads["range reads"] += 1
        return self._inner.read(*args)

    def by_row(self, rows: Any, numbers: Any) -> Any:
        wanted = list(numbers)
        self.reads["rows by key"] += len(wanted)
        return self._inner.by_row(rows, wanted)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def batches_then_hand_over(batches: int) -> Callable[[], int]:
    """A Lambda context's time left that runs out after `batches` batch starts (the window asks once a batch)."""
    checks = iter([900_000] * batches)
    return lambda: next(checks, 0)


def continuation(srv: Servers, done: int, extra: int, settings: dict[str, Any], repeats: int) -> dict[str, Any]:
    """Run a job of `done` + `extra` rows to about `done` rows, hand over, then time `repeats` continuations of it
    (each: one batch, then a hand-over); the median one. `settings` change the stack's (numbers per call...)."""
    stack = srv.stack(**settings)
    upload = stack.upload(csv_bytes(done + extra))
    calls = max(1, done // stack.settings.numbers_per_call)
    result = runner(stack)[0].run(upload, batches_then_hand_over(calls))
    while result.end == "CONTINUED" and _checkpoint(stack, upload) < done:
        result = runner(stack)[0].run(upload, batches_then_hand_over(calls))
    runs = sorted((_one_continuation(stack, upload) for _ in range(repeats)), key=lambda run: run["seconds"])
    if any(run["end"] != "CONTINUED" for run in runs):
        raise AssertionError(f"a timed continuation did not hand over: {runs}")
    return runs[len(runs) // 2] | {
        "state_kb": _state_kb(stack, upload),
        "snapshot_kb": _state_kb(stack, upload, reader=True),
    }


def _one_continuation(stack: Stack, upload: Any) -> dict[str, Any]:
    rows_done = _checkpoint(stack, upload)
    clock, counted = StageClock(), CountedReads()
    timed, _ = runner(stack, clock=clock, results_hook=counted.wrap)  # the queued continuations are left unread
    t0 = time.perf_counter()
    second = timed.run(upload, batches_then_hand_over(1))
    seconds = time.perf_counter() - t0
    reader, batch = clock.seconds["read"], clock.seconds["gateway"] + clock.seconds["write"]
    return {
        "rows_done": rows_done,
        "end": str(second.end),
        "batches": second.batches,
        "seconds": round(seconds, 3),
        "read_seconds": round(reader, 3),
        "batch_seconds": round(batch, 3),
        "overhead_seconds": round(seconds - reader - batch, 3),
        "job_store_seconds": round(clock.seconds["job_store"], 3),
        "keep_seconds": round(clock.seconds["keep"], 3),
        "row_item_reads": dict(counted.reads),
    }


class Discarding:
    """BatchWriteItem that keeps nothing: the real ResultWriter builds every item (the results file needs them), and
    a million rows cost no memory here."""

    def batch_write_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        return {"UnprocessedItems": {}}


class CompletionTimer:
    """Times S3's CompleteMultipartUpload on a client (moto assembles the object in that call, in O(file))."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def attach(self, clients: Any) -> None:
        events = clients.s3.meta.events
        events.register("before-call.s3.CompleteMultipartUpload", self._start)
        events.register("after-call.s3.CompleteMultipartUpload", self._stop)

    def _start(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _stop(self, **_: Any) -> None:
        self.seconds += time.perf_counter() - self._started


def closing(srv: Servers, rows: int) -> dict[str, Any]:
    """One job to COMPLETED in one invocation (rows built, then dropped); the closing stage timed."""
    from smsdrop.store.results import ResultWriter

    stack = srv.stack()
    upload = stack.upload(csv_bytes(rows))
    clock, completion = StageClock(), CompletionTimer()
    s = stack.settings
    job_runner, _ = runner(
        stack,
        clock=clock,
        clients_hook=completion.attach,
        results_hook=lambda _: ResultWriter(Discarding(), s.results_table, s.ttl_days),
    )
    t0 = time.perf_counter()
    result = job_runner.run(upload, NO_DEADLINE)
    seconds = time.perf_counter() - t0
    if result.end != "COMPLETED":
        raise AssertionError(f"the job did not complete: {result}")
    results_file = stack.aws.client("s3").head_object(Bucket=upload.bucket, Key=result.reports.results)
    close = clock.seconds["report"]
    return {
        "rows": rows,
        "job_seconds": round(seconds, 1),
        "close_seconds": round(close, 3),
        "s3_completion_seconds": round(completion.seconds, 3),
        "close_without_completion_seconds": round(close - completion.seconds, 3),
        "results_file_mb": round(results_file["ContentLength"] / 1e6, 1),
    }


def snapshot(rows: int) -> dict[str, Any]:
    """The reader state a hand-over leaves after `rows` rows that each bring a new key to both indexes (their own
    orderId, their own number): its size, and the time to make its bytes and to take them back (no S3)."""
    from smsdrop.intake.first_seen import LocalFirstSeen
    from smsdrop.intake.reader_state import ReaderState, decoded, encoded
    from smsdrop.models import Position

    seen = LocalFirstSeen()
    for row in range(2, rows + 2):
        seen.order(f"o{row}", row)
        seen.send(f"9198{row:08d}", "Your order has shipped", row)
    texts = {"counts": [0, 0, 0], "texts": []}
    state = ReaderState(Position(0, rows + 1), 0, texts, "", seen.orders, seen.sends)
    t0 = time.process_time()  # CPU time: on a shared machine the wall clock measures the neighbours
    data = encoded(state)
    t1 = time.process_time()
    decoded(data)
    t2 = time.process_time()
    return {
        "rows": rows,
        "mb": round(len(data) / 1e6, 1),
        "bytes_per_row": round(len(data) / rows, 1),
        "encode_seconds": round(t1 - t0, 3),
        "decode_seconds": round(t2 - t1, 3),
    }


def measure(
    done_sizes: Sequence[int],
    closing_sizes: Sequence[int],
    latency_ms: float,
    extra_rows: int = EXTRA_ROWS,
    settings: dict[str, Any] | None = None,
    repeats: int = 3,
    snapshot_rows: int = 10_000,
) -> dict[str, Any]:
    """The three measurements, the first two on one pair of servers (moto behind AWS's limits, the simulator);
    `settings` change the continuations' stack (a smoke test's small calls and window)."""
    changed = settings or {}
    with servers(latency_ms) as srv:
        continuation(srv, min(done_sizes) // 2, extra_rows, changed, 1)  # warm up: imports, connections, patterns
        resumed = [continuation(srv, n, extra_rows, changed, repeats) for n in done_sizes]
        closed = [closing(srv, n) for n in closing_sizes]
    first, last = resumed[0], resumed[-1]
    return {
        "latency_ms": latency_ms,
        "continuation": resumed,
        "closing": closed,
        "overhead_growth": round(last["overhead_seconds"] / first["overhead_seconds"], 2),
        "continuation_growth": round(last["seconds"] / first["seconds"], 2),
        "closing_growth": round(closed[-1]["close_seconds"] / closed[0]["close_seconds"], 2),
        "closing_growth_without_completion": round(
            closed[-1]["close_without_completion_seconds"] / closed[0]["close_without_completion_seconds"], 2
        ),
        "goal_growth": GOAL_GROWTH,
        "snapshot": snapshot(snapshot_rows),
    }


def report(result: dict[str, Any]) -> str:
    """The three tables and the ratios."""
    snap = result["snapshot"]
    rows = [
        (
            f"{c['rows_done']:,} done",
            c["seconds"],
            c["read_seconds"],
            c["batch_seconds"],
            c["overhead_seconds"],
            c["job_store_seconds"],
            c["keep_seconds"],
            c["state_kb"],
            c["snapshot_kb"],
            ", ".join(f"{k} {v}" for k, v in c["row_item_reads"].items()) or "none",
        )
        for c in result["continuation"]
    ]
    lines = [
        table(
            "One continuation (take the job, send one batch, hand over), moto behind AWS's limits",
            (
                "job",
                "s",
                "reader s",
                "batch s",
                "the rest s",
                "job item s",
                "keep s",
                "state KB",
                "snapshot KB",
                "row items read",
            ),
            rows,
        ),
        "",
        table(
            "Closing a job (last part, completion, summary, page)",
            ("rows", "job s", "close s", "S3 completion s", "close but completion s", "results file MB"),
            [
                (
                    f"{c['rows']:,}",
                    c["job_seconds"],
                    c["close_seconds"],
                    c["s3_completion_seconds"],
                    c["close_without_completion_seconds"],
                    c["results_file_mb"],
                )
                for c in result["closing"]
            ],
        ),
        "",
        f"growth, largest vs smallest: continuation {result['continuation_growth']}x (the rest, without the reader "
        f"and the batch: {result['overhead_growth']}x), closing {result['closing_growth']}x "
        f"({result['closing_growth_without_completion']}x but S3's completion) "
        f"(goal: flat, within {result['goal_growth']:.0%})",
        "",
        table(
            "The reader state a hand-over leaves (every row a new key in both indexes; no S3)",
            ("rows", "MB", "bytes a row", "to bytes CPU s", "back from bytes CPU s"),
            [(f"{snap['rows']:,}", snap["mb"], snap["bytes_per_row"], snap["encode_seconds"], snap["decode_seconds"])],
        ),
    ]
    return "\n".join(lines)


def _checkpoint(stack: Stack, upload: Any) -> int:
    from smsdrop.store.jobs import JobStore

    record = JobStore(stack.aws.client("dynamodb"), stack.settings.results_table).get(upload.job_id)
    return record.checkpoint.row if record.checkpoint else 0


def _state_kb(stack: Stack, upload: Any, reader: bool = False) -> float:
    """The size of what the last hand-over left: the results file's state object (lines not in a part, held items),
    or with `reader` the reader's snapshot (its duplicate and orderId indexes)."""
    from smsdrop.output.stream_state import STATE_PREFIX

    s3 = stack.aws.client("s3")
    listing = s3.list_objects_v2(Bucket=upload.bucket, Prefix=f"{STATE_PREFIX}{upload.job_id}/")
    sizes = [entry["Size"] for entry in listing.get("Contents", []) if (READER in entry["Key"]) == reader]
    return round(sum(sizes) / 1024, 1)


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--done", type=int, nargs="+", help="rows done before the timed continuation")
    parser.add_argument("--closing", type=int, nargs="+", help="rows of the jobs whose closing is timed")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the simulator's answer time")


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and save them as `resume_close` in bench/results.json."""
    return script_main(
        "resume_close",
        __doc__ or "",
        lambda args: measure(
            args.done or (QUICK_DONE if args.quick else DONE),
            args.closing or (QUICK_CLOSING if args.quick else CLOSING),
            args.latency_ms,
            snapshot_rows=QUICK_SNAPSHOT_ROWS if args.quick else SNAPSHOT_ROWS,
        ),
        report,
        argv,
        options=_options,
    )


if __name__ == "__main__":
    raise SystemExit(main())
