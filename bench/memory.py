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

from bench.common import Servers, save, servers, table, write_csv

GOAL_MB = 200.0
GOAL_GROWTH = 0.20
BUDGET_MS = 900_000  # Lambda's maximum: a continuation only if a run needs more


def measure_one(srv: Servers, rows: int, workdir: Path) -> dict[str, Any]:
    """Generate, upload, run the handler in a child until the job ends; its peak RSS and how long it took."""
    path = write_csv(workdir / f"bench-{rows}.csv", rows)
    stack = srv.stack()
    upload = stack.upload(path, key=f"incoming/bench-{rows}.csv")
    names = asdict(stack.aws.names)
    spec = {"endpoint": stack.aws.endpoint, "names": names, "upload": asdict(upload), "budget_ms": BUDGET_MS}
    env = os.environ | stack.env()
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.memory", "--child", json.dumps(spec)], env=env, stdout=subprocess.PIPE, text=True
    )
    samples: list[tuple[float, float]] = []
    done = threading.Event()
    threading.Thread(target=_sample_rss, args=(child.pid, started, samples, done), daemon=True).start()
    out = child.stdout.read() if child.stdout else ""
    child.wait()
    done.set()
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"the handler run for {rows} rows failed (exit {child.returncode})")
    said = json.loads(out.strip().splitlines()[-1])
    job = _job(stack, upload.job_id)
    if job["state"] != "COMPLETED" or job["rows"] != rows:
        raise AssertionError(f"{rows}-row job ended {job}")
    path.unlink()
    return {
        "rows": rows,
        "file_mb": round(upload.size / 1e6, 1),
        "peak_rss_mb": said["peak_rss_mb"],
        "baseline_rss_mb": said["baseline_rss_mb"],
        "rss_at_send_end_mb": _rss_before(samples, said["send_end_s"]),
        "invocations": said["invocations"],
        "seconds": round(seconds, 1),
        "report_seconds": round(said["seconds"] - said["send_end_s"], 1),
        "rss_samples_mb": [(round(t, 1), round(mb, 1)) for t, mb in samples[:: max(1, len(samples) // 20)]],
        "counts": job["counts"],
    }


def _sample_rss(pid: int, started: float, samples: list[tuple[float, float]], done: threading.Event) -> None:
    while not done.wait(1.0):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    samples.append((time.perf_counter() - started, int(line.split()[1]) / 1024))
        except OSError:
            return


def _rss_before(samples: list[tuple[float, float]], at: float) -> float | None:
    earlier = [mb for t, mb in samples if t <= at]
    return round(max(earlier), 1) if earlier else None


def _job(stack: Any, job_id: str) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer().deserialize
    key = {"job_id": {"S": job_id}, "rec": {"S": "JOB"}}
    item = stack.aws.client("dynamodb").get_item(TableName=stack.aws.names.table, Key=key)["Item"]
    job = {k: plain(v) for k, v in item.items()}
    return {"state": job["state"], "rows": int(job["rows"]), "counts": {k: int(v) for k, v in job["counts"].items()}}


def child(spec_json: str) -> int:
    """In the child: invoke the real handler until the job ends; print what the parent cannot see."""
    spec = json.loads(spec_json)
    real_stdout = os.fdopen(os.dup(1), "w")
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the handler's JSON logs and metrics
    from local.aws import LocalAws, Names
    from local.invoke import Invoker
    from smsdrop.report import ReportWriter
    from smsdrop.uploads import Upload

    started = time.perf_counter()
    send_end = [0.0]
    write = ReportWriter.write

    def timed_write(self: ReportWriter, *args: Any, **kwargs: Any) -> Any:
        send_end[0] = time.perf_counter() - started
        return write(self, *args, **kwargs)

    ReportWriter.write = timed_write  # type: ignore[method-assign] - only to note when sending ended
    aws = LocalAws(spec["endpoint"], Names(**spec["names"]))
    invoker = Invoker(aws, spec["budget_ms"])
    import ingest.app  # noqa: F401 - imported before the baseline, as at a cold start

    baseline = _own_rss_mb()
    invocations = invoker.run_to_end(Upload(**spec["upload"]))
    seconds = time.perf_counter() - started
    said = {
        "invocations": invocations,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _own_rss_mb("VmHWM:"),
        "send_end_s": send_end[0],
        "seconds": seconds,
    }
    print(json.dumps(said), file=real_stdout, flush=True)
    return 0


def _own_rss_mb(field: str = "VmRSS:") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure(sizes: list[int]) -> dict[str, Any]:
    """Each size in turn, against the same servers."""
    runs = []
    with servers(20) as srv, tempfile.TemporaryDirectory(prefix="smsdrop-bench-") as workdir:
        for rows in sizes:
            runs.append(measure_one(srv, rows, Path(workdir)))
            print(f"  {rows:,} rows: peak RSS {runs[-1]['peak_rss_mb']} MB in {runs[-1]['seconds']} s", flush=True)
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
         r["peak_rss_mb"], r["invocations"], r["seconds"], r["report_seconds"])
        for r in result["runs"]
    ]  # fmt: skip
    title = (
        f"peak RSS of the handler process (goal <= {GOAL_MB:g} MB and within {GOAL_GROWTH:.0%} of the smallest run;"
        f" growth here {result['growth_largest_vs_smallest']:+.1%})"
    )
    header = ("run", "after imports MB", "sending MB", "peak MB", "invocations", "seconds", "report s")
    return table(title, header, rows)


def main(argv: list[str] | None = None) -> int:
    """Measure, print, save."""
    p = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--quick", action="store_true", help="2,000 and 10,000 rows")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--no-save", action="store_true")
    args = p.parse_args(argv)
    if args.child:
        return child(args.child)
    sizes = [2_000, 10_000] if args.quick else args.rows
    result = measure(sizes)
    print(report(result))
    if not args.no_save:
        save("memory_quick" if args.quick else "memory", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
