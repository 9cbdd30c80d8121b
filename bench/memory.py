"""Peak RSS of a whole local run: the real handler in a process of its own, moto server and the simulator outside it.

For each size a CSV is generated on disk and uploaded; a child process then invokes the real ingest handler
(local.invoke.Invoker: the S3 event, then one SQS event per continuation) until the job ends. The peak is the
child's own high-water mark, VmHWM in /proc/self/status, read as it ends (ru_maxrss from wait4 is not used:
Linux carries the parent's high-water mark across the fork and exec into it); its RSS is also sampled from
/proc while it runs. Moto server (which holds every item) and the simulator are other processes.

python -m bench.memory [--rows 100000 1000000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.common import script_main, table
from bench.csv_data import write_csv
from bench.stack import Servers, servers

GOAL_MB = 200.0
GOAL_GROWTH = 0.20
BUDGET_MS = 900_000  # Lambda's maximum: a continuation only if a run needs more
REPORT_LIMIT_S = 3600.0  # a safety net: closing a job no longer reads its items back, so it is never reached


def measure_one(srv: Servers, rows: int, workdir: Path, report_limit_s: float) -> dict[str, Any]:
    """Generate, upload, run the handler in a child until the job ends; its peak RSS and how long it took.

    The results file is written as the job runs; closing writes its last part, the summary and the page. After
    `report_limit_s` in the closing the child is stopped and the run is marked not completed, with the peak it
    reached.
    """
    path = write_csv(workdir / f"bench-{rows}.csv", rows)
    stack = srv.stack()
    upload = stack.upload(path, key=f"incoming/bench-{rows}.csv")
    path.unlink()
    names = asdict(stack.aws.names)
    spec = {"endpoint": stack.aws.endpoint, "names": names, "upload": asdict(upload), "budget_ms": BUDGET_MS}
    env = os.environ | stack.env()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.memory", "--child", json.dumps(spec)], env=env, stdout=subprocess.PIPE, text=True
    )
    samples: list[tuple[float, float, float]] = []
    events: dict[str, Any] = {}
    done = threading.Event()
    threading.Thread(target=_sample_rss, args=(child.pid, started, samples, done), daemon=True).start()
    threading.Thread(target=_read_events, args=(child, events, started), daemon=True).start()
    completed = _wait(child, events, report_limit_s)
    done.set()
    seconds = time.perf_counter() - started
    if completed and child.returncode != 0:
        raise RuntimeError(f"the handler run for {rows} rows failed (exit {child.returncode})")
    job = _job(stack, upload.job_id)
    if completed and (job["state"] != "COMPLETED" or job["rows"] != rows):
        raise AssertionError(f"{rows}-row job ended {job}")
    send_end = events.get("report_start")
    peak = events["done"]["peak_rss_mb"] if completed else max((hwm for _, _, hwm in samples), default=0.0)
    return {
        "rows": rows,
        "completed": completed,
        "file_mb": round(upload.size / 1e6, 1),
        "peak_rss_mb": peak,
        "baseline_rss_mb": events.get("baseline", {}).get("rss_mb"),
        "rss_at_send_end_mb": _rss_before(samples, send_end) if send_end else None,
        "invocations": events["done"]["invocations"] if completed else None,
        "seconds": round(seconds, 1),
        "send_seconds": round(send_end, 1) if send_end else None,
        "report_seconds": round(seconds - send_end, 1) if send_end else None,
        "rss_samples_mb": [(round(t, 1), round(mb, 1)) for t, mb, _ in samples[:: max(1, len(samples) // 20)]],
        "counts": job["counts"],
        "state": job["state"],
    }


def _wait(child: subprocess.Popen[str], events: dict[str, Any], report_limit_s: float) -> bool:
    """Wait for the child; stop it (by its pid) once it has spent `report_limit_s` in the report. True if done."""
    while child.poll() is None:
        started = events.get("report_start_clock")
        if started is not None and time.perf_counter() - started > report_limit_s:
            time.sleep(2.0)  # one more RSS sample
            child.terminate()
            child.wait(timeout=30)
            return False
        time.sleep(1.0)
    deadline = time.perf_counter() + 10
    while "done" not in events and time.perf_counter() < deadline:
        time.sleep(0.1)
    return "done" in events


def _read_events(child: subprocess.Popen[str], events: dict[str, Any], started: float) -> None:
    for line in child.stdout or ():
        event = json.loads(line)
        name = event.pop("event")
        if name == "report_start" and name in events:
            continue  # a continuation's report: the first one counts
        events[name] = event
        if name == "report_start":
            events["report_start_clock"] = time.perf_counter()
            events["report_start"] = time.perf_counter() - started


def _sample_rss(pid: int, started: float, samples: list[tuple[float, float, float]], done: threading.Event) -> None:
    while not done.wait(1.0):
        try:
            status = dict(
                line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
            )
            rss, hwm = (int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM"))
            samples.append((time.perf_counter() - started, rss, round(hwm, 1)))
        except (OSError, KeyError, ValueError):
            return


def _rss_before(samples: list[tuple[float, float, float]], at: float) -> float | None:
    earlier = [mb for t, mb, _ in samples if t <= at]
    return round(max(earlier), 1) if earlier else None


def _job(stack: Any, job_id: str) -> dict[str, Any]:
    from smsdrop.store.schema import deserialise, job_key

    item = stack.aws.client("dynamodb").get_item(TableName=stack.aws.names.table, Key=job_key(job_id))["Item"]
    job = deserialise(item)
    counts = {k: int(v) for k, v in job["counts"].items()}
    return {"state": job["state"], "rows": int(job.get("rows", 0)), "counts": counts}


def child(spec_json: str) -> int:
    """In the child: invoke the real handler until the job ends; tell the parent what it cannot see, as it happens.

    One JSON line per event: "baseline" (RSS after the imports), "report_start" (sending is over, the
    results report begins), "done" (invocations, own peak RSS).
    """
    spec = json.loads(spec_json)
    real_stdout = os.fdopen(os.dup(1), "w")
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handler's JSON logs and metrics

    def tell(event: str, **facts: Any) -> None:
        print(json.dumps({"event": event, **facts}), file=real_stdout, flush=True)

    from local.aws import LocalAws, Names
    from local.invoke import Invoker
    from smsdrop.intake.uploads import Upload
    from smsdrop.output.results_stream import ResultsStream

    close = ResultsStream.close

    def noted_close(self: ResultsStream, *args: Any, **kwargs: Any) -> Any:
        tell("report_start")
        return close(self, *args, **kwargs)

    ResultsStream.close = noted_close  # type: ignore[method-assign] - only to note when sending ended
    aws = LocalAws(spec["endpoint"], Names(**spec["names"]))
    invoker = Invoker(aws, spec["budget_ms"])
    import ingest.app  # noqa: F401 - imported before the baseline, as at a cold start

    tell("baseline", rss_mb=_own_rss_mb())
    invocations = invoker.run_to_end(Upload(**spec["upload"])).invocations
    tell("done", invocations=invocations, peak_rss_mb=_own_rss_mb("VmHWM:"))
    return 0


def _own_rss_mb(field: str = "VmRSS:") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure(sizes: list[int], report_limit_s: float = REPORT_LIMIT_S) -> dict[str, Any]:
    """Each size in turn, against the same servers."""
    runs = []
    with servers(20) as srv, tempfile.TemporaryDirectory(prefix="smsdrop-bench-") as workdir:
        for rows in sizes:
            run = measure_one(srv, rows, Path(workdir), report_limit_s)
            runs.append(run)
            end = "" if run["completed"] else f", stopped {report_limit_s:g} s into the report"
            print(f"  {rows:,} rows: peak RSS {run['peak_rss_mb']} MB in {run['seconds']} s{end}", flush=True)
    smallest, largest = runs[0], runs[-1]
    growth = largest["peak_rss_mb"] / smallest["peak_rss_mb"] - 1
    return {
        "runs": runs,
        "growth_largest_vs_smallest": round(growth, 3),
        "goal_peak_mb": GOAL_MB,
        "goal_growth": GOAL_GROWTH,
    }


def report(result: dict[str, Any]) -> str:
    """The table."""
    rows = [
        (f"{r['rows']:,} rows ({r['file_mb']} MB CSV)", r["baseline_rss_mb"], r["rss_at_send_end_mb"] or "-",
         r["peak_rss_mb"], r["invocations"] or "-", r["send_seconds"] or "-", r["report_seconds"] or "-",
         "yes" if r["completed"] else "no: stopped in the report")
        for r in result["runs"]
    ]  # fmt: skip
    title = (
        f"peak RSS of the handler process (goal <= {GOAL_MB:g} MB and within {GOAL_GROWTH:.0%} of the smallest run;"
        f" growth here {result['growth_largest_vs_smallest']:+.1%})"
    )
    header = ("run", "after imports MB", "sending MB", "peak MB", "invocations", "send s", "report s", "completed")
    return table(title, header, rows)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    return script_main(
        "memory",
        __doc__,
        lambda args: measure([2_000, 10_000] if args.quick else args.rows, args.report_limit_s),
        report,
        argv,
        quick_help="2,000 and 10,000 rows",
        options=_options,
    )


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    limit_help = "stop a run after this long in its report"
    parser.add_argument("--report-limit-s", type=float, default=REPORT_LIMIT_S, help=limit_help)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        raise SystemExit(child(sys.argv[2]))
    raise SystemExit(main())
