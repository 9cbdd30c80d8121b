"""One Lambda invocation in a process of its own: a cold start of the real ingest handler, one event, then exit.

    python -m tests.reliability.lambda_process EVENT.json [--remaining-ms N] [--clock-offset-s S]

The function's environment (AWS_ENDPOINT_URL of a moto server, RESULTS_TABLE, GATEWAY_URL...) comes from the
caller, which keeps moto server and the gateway simulator alive across processes, kills this one whenever it
likes and delivers the event again. `--clock-offset-s` moves the runner's clock forward, as if that much time
had passed since an earlier holder of the job died: its lease has lapsed. The last line printed is JSON:
{"result": what the handler returned, "max_rss_kb": the peak resident memory of this process}.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import local  # noqa: F401 - puts the layer and the handlers on the path, as Lambda does
from local.invoke import LocalContext


def main(argv: Sequence[str] | None = None) -> int:
    """Invoke the handler once with the event in the file; print its answer and the peak memory."""
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.lambda_process")
    parser.add_argument("event", type=Path)
    parser.add_argument("--remaining-ms", type=int, default=900_000)
    parser.add_argument("--clock-offset-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)  # the Lambda runtime's root handler: whatever reaches it is logged

    from ingest import app
    from smsdrop.config import Settings
    from smsdrop.send.clients import Clients
    from smsdrop.send.wiring import build_runner

    if args.clock_offset_s:
        offset = args.clock_offset_s
        app.runner = functools.cache(
            lambda: build_runner(Settings.from_env(), Clients.default(), clock=lambda: time.time() + offset)
        )
    result = app.handler(json.loads(args.event.read_text()), LocalContext(args.remaining_ms))
    print(json.dumps({"result": result, "max_rss_kb": peak_rss_kb()}, default=str), flush=True)
    return 0


def peak_rss_kb() -> int:
    """This process's peak resident memory: VmHWM, which exec resets (ru_maxrss would still count the memory of
    the parent this process was forked from)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    sys.exit(main())
