"""smsdrop against the latency bound N·B/L, with a per-stage time breakdown measured from outside.

With latency L, N calls in flight and B numbers per call, no sender can beat N·B/L numbers/s. Each run wraps
the runner's ports (reader factory, gateway, result writer; also the job store and the report writer) and
adds up the time spent in each, so the bottleneck can be named:

- main thread: reading + validating (the reader), batching, job-store calls (in-flight marks, completions);
  main use = their sum / wall, the rest is waiting for a free slot;
- in-flight slots (N of them): a slot is busy while its call is sent and answered (gateway) and while its
  results are written (write) and its lease renewed; slot use = busy seconds / (N x wall).

Sinks: "null" (nothing written), "memory" (the real ResultWriter over an in-memory DynamoDB stand-in), and
"moto" (moto server, with 1, 4 and 16 writer threads: the sink's own ceiling).

python -m bench.bound [--quick]
"""

from __future__ import annotations

from typing import Any

import requests

from bench.common import script_main, table
from bench.csv_data import csv_bytes
from bench.job_runs import data_rows, run_job, runner
from bench.stack import Servers, servers
from bench.stage_timing import StageClock

GOAL = 0.80
# (latency ms, in flight, numbers per call, sink, writer threads)
FULL = [
    (20, 4, 1000, "null", None),
    (20, 4, 1000, "memory", None),
    (20, 4, 100, "null", None),
    (20, 4, 100, "memory", None),
    (200, 4, 1000, "null", None),
    (200, 4, 1000, "memory", None),
    (500, 4, 1000, "memory", None),
    (1000, 4, 1000, "memory", None),
    (20, 16, 1000, "null", None),
    (20, 4, 1000, "moto", 1),
    (20, 4, 1000, "moto", 4),
    (20, 4, 1000, "moto", 16),
]
QUICK = [
    (20, 4, 1000, "null", None),
    (20, 4, 100, "memory", None),
    (200, 4, 1000, "memory", None),
    (20, 4, 1000, "moto", 16),
]


def set_latency(srv: Servers, latency_ms: float) -> None:
    """Change the simulator's latency at run time (its /_faults control endpoint)."""
    root = srv.simulator.base_url.removesuffix("/sms")
    requests.post(f"{root}/_faults", json={"latency_ms": latency_ms}, timeout=10).raise_for_status()


def one_run(srv: Servers, latency_ms: int, in_flight: int, per_call: int, sink: str, threads: int | None,
            rows: int) -> dict[str, Any]:  # fmt: skip
    """One job with its stages timed; the figures of one line of the table."""
    set_latency(srv, latency_ms)
    stack = srv.stack(in_flight=in_flight, numbers_per_call=per_call)
    upload = stack.upload(csv_bytes(rows))
    clock = StageClock()
    job_runner, gateway = runner(stack, sink="dynamodb" if sink == "moto" else sink, clock=clock,
                                 writer_threads=threads)  # fmt: skip
    result, wall = run_job(job_runner, upload)
    if data_rows(result) != rows:
        raise AssertionError(f"not every row recorded: {result}")
    sec, main = clock.seconds, clock.main
    report_s = sec["report"]
    send_wall = wall - report_s  # the report runs after the last call; the bound is about sending
    numbers, calls = gateway.stats.numbers, gateway.stats.calls
    bound = in_flight * per_call / (latency_ms / 1000)
    rate = numbers / send_wall
    slot_store = sec["job_store"] - main["job_store"]
    slots = (sec["gateway"] + sec["write"] + slot_store) / (in_flight * send_wall)
    batching = max(0.0, sec["batch"] - sec["read"])  # the batches generator pulls the rows: reading is inside it
    main_busy = sec["read"] + batching + main["job_store"]
    figures = {
        "latency_ms": latency_ms,
        "in_flight": in_flight,
        "numbers_per_call": per_call,
        "sink": sink if threads is None else f"{sink} x{threads}",
        "rows": rows,
        "numbers_sent": numbers,
        "calls": calls,
        "wall_s": round(send_wall, 3),
        "numbers_per_s": round(rate),
        "bound_numbers_per_s": round(bound),
        "fraction_of_bound": round(rate / bound, 3),
        "read_s": round(sec["read"], 3),
        "read_us_per_row": round(sec["read"] / rows * 1e6, 2),
        "batching_s": round(batching, 3),
        "main_job_store_s": round(main["job_store"], 3),
        "main_waiting_s": round(max(0.0, send_wall - main_busy), 3),
        "main_use": round(main_busy / send_wall, 3),
        "gateway_s": round(sec["gateway"], 3),
        "gateway_ms_per_call": round(sec["gateway"] / max(1, calls) * 1000, 1),
        "write_s": round(sec["write"], 3),
        "slot_job_store_s": round(slot_store, 3),
        "slot_use": round(slots, 3),
        "report_s": round(report_s, 3),
    }
    figures["bottleneck"] = bottleneck(figures)
    return figures


def bottleneck(f: dict[str, Any]) -> str:
    """The busier of the two resources (the N slots, the main thread), and what keeps it busy the most."""
    if f["slot_use"] >= f["main_use"]:
        latency = f["calls"] * f["latency_ms"] / 1000
        per_slot = {
            "slots: gateway latency": latency,
            "slots: gateway overhead": f["gateway_s"] - latency,
            "slots: sink": f["write_s"] + f["slot_job_store_s"],
        }
        return max(per_slot, key=per_slot.__getitem__)
    main = {
        "main: read+validate": f["read_s"],
        "main: batching": f["batching_s"],
        "main: job store": f["main_job_store_s"],
    }
    return max(main, key=main.__getitem__)


def measure(quick: bool, configs: list[tuple[int, int, int, str, int | None]] | None = None,
            rows: int | None = None) -> dict[str, Any]:  # fmt: skip
    """Every configuration, one after the other against the same servers."""
    runs = []
    with servers(20) as srv:
        one_run(srv, 20, 4, 1000, "null", None, rows or 2000)  # warm up
        for latency, in_flight, per_call, sink, threads in configs or (QUICK if quick else FULL):
            size = rows or _rows(quick, latency, sink)
            runs.append(one_run(srv, latency, in_flight, per_call, sink, threads, size))
    return {"runs": runs, "goal_fraction": GOAL}


def _rows(quick: bool, latency: int, sink: str) -> int:
    if sink == "moto":
        return 4_000 if quick else 10_000
    if latency >= 500:
        return 20_000 if quick else 40_000
    return 20_000 if quick else 60_000


def report(result: dict[str, Any]) -> str:
    """The table."""
    rows = [
        (
            f"L={r['latency_ms']}ms N={r['in_flight']} B={r['numbers_per_call']} {r['sink']}",
            r["bound_numbers_per_s"],
            r["numbers_per_s"],
            f"{r['fraction_of_bound']:.1%}",
            f"{r['read_us_per_row']:.1f}",
            f"{r['gateway_ms_per_call']:.0f}",
            r["write_s"],
            f"{r['main_use']:.0%}",
            f"{r['slot_use']:.0%}",
            r["bottleneck"],
        )
        for r in result["runs"]
    ]
    title = f"against the latency bound N*B/L (goal >= {GOAL:.0%} when the sink is not the bottleneck)"
    header = ("configuration", "bound/s", "numbers/s", "of bound", "read us/row", "ms/call", "write s", "main",
              "slots", "bottleneck")  # fmt: skip
    return table(title, header, rows)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    return script_main("bound", __doc__, lambda args: measure(args.quick), report, argv)


if __name__ == "__main__":
    raise SystemExit(main())
