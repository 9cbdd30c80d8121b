"""End to end: smsdrop vs the naive sender, against the same simulator latency, both recording to moto server.

The naive sender is the provider's sample code: for each row, one blocking POST with one number (a new
connection each time, no pooling), then one put_item of its result. smsdrop is the real runner
(smsdrop.send.wiring.build_runner) run to COMPLETED, with results in moto server, and again with a null sink
(nothing written) so the sink's cost shows. Moto server and the simulator run in processes of their own.

python -m bench.e2e [--quick] [--latency-ms 20]
"""

from __future__ import annotations

import time
from typing import Any

import requests

from bench.common import script_main, table
from bench.csv_data import csv_bytes, synthetic_rows
from bench.job_runs import data_rows, run_job, runner
from bench.stack import Servers, servers
from bench.stage_timing import StageClock
from smsdrop.provider.signing import signed_headers
from smsdrop.store.schema import row_key

GOAL = 200.0
SIZES = {
    "full": {"naive": 300, "moto": 20_000, "null": 100_000},
    "quick": {"naive": 100, "moto": 4_000, "null": 20_000},
}


def naive_send(srv: Servers, rows: int) -> dict[str, Any]:
    """The provider's sample code, row by row: POST one number (fresh connection), put_item its result."""
    stack = srv.stack()
    sim, table_name = srv.simulator, stack.settings.results_table
    dynamodb = stack.aws.client("dynamodb")
    url = sim.base_url + "/sendSms/batch"
    t0 = time.perf_counter()
    for i, (number, content, sender, order) in enumerate(synthetic_rows(rows), start=2):
        body = {"appId": sim.app_id, "array": [{"numbers": number, "content": content, "senderId": sender,
                                                "orderId": order}]}  # fmt: skip
        headers = signed_headers(sim.api_key, sim.api_secret, int(time.time()))
        answer = requests.post(url, json=body, headers=headers, timeout=30).json()
        accepted = answer.get("array") or [{}]
        item = {
            **row_key("naive", i),
            "number": {"S": number},
            "status": {"S": "SUBMITTED" if answer.get("status") == "0" else "FAILED"},
            "msg_id": {"S": str(accepted[0].get("msgId") or "-")},
            "provider_code": {"S": str(answer.get("status"))},
        }
        dynamodb.put_item(TableName=table_name, Item=item)
    seconds = time.perf_counter() - t0
    return {"numbers": rows, "seconds": round(seconds, 3), "numbers_per_s": round(rows / seconds, 1)}


def smsdrop_send(srv: Servers, rows: int, sink: str) -> dict[str, Any]:
    """One job through the real runner, to COMPLETED; the report stage (results CSV) is timed apart."""
    stack = srv.stack()
    upload = stack.upload(csv_bytes(rows))
    clock = StageClock()
    job_runner, gateway = runner(stack, sink=sink, clock=clock)
    cpu = time.process_time()
    result, seconds = run_job(job_runner, upload)
    cpu = time.process_time() - cpu
    if result.end != "COMPLETED" or data_rows(result) != rows:
        raise AssertionError(f"smsdrop run did not complete all {rows} rows: {result}")
    report_s = clock.seconds["report"]
    numbers = gateway.stats.numbers
    return {
        "rows": rows,
        "numbers_sent": numbers,
        "calls": gateway.stats.calls,
        "seconds": round(seconds, 3),
        "report_seconds": round(report_s, 3),
        "rows_per_s": round(rows / seconds, 1),
        "rows_per_s_without_report": round(rows / (seconds - report_s), 1),
        "cpu_us_per_row": round(cpu / rows * 1e6, 1),
    }


def measure(quick: bool, latency_ms: float, sizes: dict[str, int] | None = None) -> dict[str, Any]:
    """Naive, smsdrop to moto, smsdrop to a null sink: one after the other against the same servers."""
    sizes = sizes or SIZES["quick" if quick else "full"]
    with servers(latency_ms) as srv:
        smsdrop_send(srv, min(500, sizes["null"]), "null")  # warm up: imports, connections, compiled patterns
        naive = naive_send(srv, sizes["naive"])
        moto = smsdrop_send(srv, sizes["moto"], "dynamodb")
        null = smsdrop_send(srv, sizes["null"], "null")
    base = naive["numbers_per_s"]
    return {
        "latency_ms": latency_ms,
        "naive": naive,
        "smsdrop_moto": moto,
        "smsdrop_null_sink": null,
        "ratio_moto": round(moto["rows_per_s"] / base, 1),
        "ratio_moto_without_report": round(moto["rows_per_s_without_report"] / base, 1),
        "ratio_null_sink": round(null["rows_per_s"] / base, 1),
        "goal_ratio": GOAL,
    }


def report(r: dict[str, Any]) -> str:
    """The table."""
    naive, moto, null = r["naive"], r["smsdrop_moto"], r["smsdrop_null_sink"]
    rows = [
        ("naive sender -> moto (put_item each)", naive["numbers"], naive["seconds"], naive["numbers_per_s"], 1.0),
        ("smsdrop -> moto, to COMPLETED", moto["rows"], moto["seconds"], moto["rows_per_s"], r["ratio_moto"]),
        ("  same, without the results report", moto["rows"], moto["seconds"] - moto["report_seconds"],
         moto["rows_per_s_without_report"], r["ratio_moto_without_report"]),
        ("smsdrop -> null sink", null["rows"], null["seconds"], null["rows_per_s"], r["ratio_null_sink"]),
    ]  # fmt: skip
    title = f"end to end at {r['latency_ms']:g} ms gateway latency (goal: smsdrop >= {GOAL:g}x naive)"
    lines = [table(title, ("sender", "numbers", "seconds", "numbers/s", "x naive"), rows)]
    lines.append(
        f"runner CPU per row (all threads, whole job): {moto['cpu_us_per_row']} us with moto, "
        f"{null['cpu_us_per_row']} us with the null sink"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    return script_main(
        "e2e",
        __doc__,
        lambda args: measure(args.quick, args.latency_ms),
        report,
        argv,
        options=lambda p: p.add_argument("--latency-ms", type=float, default=20.0),
    )


if __name__ == "__main__":
    raise SystemExit(main())
