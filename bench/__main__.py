"""Every benchmark in one run: `python -m bench` (make bench) or `python -m bench --quick` (make bench-quick).

Each prints its table and merges its section into bench/results.json; this runner adds how long each took.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Callable

from bench import bound, cost, e2e, memory, pipeline, record_cpu, resume_close, scale_out, shards, xlsx_read
from bench.common import machine, save

SCRIPTS: dict[str, Callable[[list[str]], int]] = {
    "pipeline": pipeline.main,
    "e2e": e2e.main,
    "bound": bound.main,
    "cost": cost.main,
    "memory": memory.main,
    "shards": shards.main,
    "xlsx_read": xlsx_read.main,
    "record_cpu": record_cpu.main,
    "resume_close": resume_close.main,
    "scale_out": scale_out.main,
}


def main(argv: list[str] | None = None) -> int:
    """Run the scripts in turn; a failing one is reported and the rest still run."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small inputs, under 2 minutes; no 100k/1M memory runs")
    p.add_argument("--only", nargs="+", choices=sorted(SCRIPTS), default=list(SCRIPTS))
    args = p.parse_args(argv)
    flags = ["--quick"] if args.quick else []
    seconds: dict[str, float] = {}
    failed = []
    started = time.perf_counter()
    for name in args.only:
        print(f"\n== bench.{name} {' '.join(flags)}", flush=True)
        t0 = time.perf_counter()
        try:
            if SCRIPTS[name](flags) != 0:
                failed.append(name)
        except Exception:
            traceback.print_exc()
            failed.append(name)
        seconds[name] = round(time.perf_counter() - t0, 1)
        print(f"   ({seconds[name]} s)", flush=True)
    total = round(time.perf_counter() - started, 1)
    run = {"seconds": seconds, "total_seconds": total, "failed": failed, "date": machine()["date"]}
    save("run_quick" if args.quick else "run_full", run)
    print(f"\nbench {'quick ' if args.quick else ''}done in {total} s" + (f"; FAILED: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
