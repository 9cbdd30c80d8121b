"""The local doubles in their own processes, as the real services are remote: no GIL shared with the runner.

python -m bench.servers moto                  -> prints the endpoint, serves until stdin closes
python -m bench.servers gateway [LATENCY_MS]  -> prints the simulator's base URL, serves until stdin closes
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import bench  # noqa: F401 - the layer on the path

SIM_KEY, SIM_SECRET, SIM_APP = "bench-key", "bench-secret", "bench-app"


@contextmanager
def _child(*args: str) -> Iterator[str]:
    """Start `python -m bench.servers ARGS`, yield the URL it prints, stop it (by its own pid) on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.servers", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        if not line.startswith("http"):
            raise RuntimeError(f"bench.servers {' '.join(args)} did not start (said {line!r})")
        yield line
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def remote_moto() -> Iterator[str]:
    """A moto server in its own process; yields its endpoint."""
    with _child("moto") as endpoint:
        yield endpoint


class RemoteSimulator:
    """The parts of GatewaySimulator the benches use, for a simulator in another process."""

    api_key, api_secret, app_id = SIM_KEY, SIM_SECRET, SIM_APP

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def audit_counts(self) -> dict[str, int]:
        """Calls, numbers accepted, and numbers accepted twice (must be 0)."""
        root = self.base_url.removesuffix("/sms")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{root}/_audit", timeout=60) as answer:
            audit = json.loads(answer.read())
        duplicates = audit["duplicate_order_ids"] + audit["duplicate_numbers"]
        return {"calls": audit["calls"], "accepted": len(audit["accepted"]), "duplicates": duplicates}


@contextmanager
def remote_simulator(latency_ms: float) -> Iterator[RemoteSimulator]:
    """The gateway simulator in its own process, answering after `latency_ms`."""
    with _child("gateway", str(latency_ms)) as base_url:
        yield RemoteSimulator(base_url)


def _serve(kind: str, latency_ms: float) -> None:
    if kind == "moto":
        from local.aws import moto_server

        server: Any = moto_server()
        with server as endpoint:
            print(endpoint, flush=True)
            sys.stdin.read()
        return
    from local.gateway_sim import Faults, GatewaySimulator

    sim = GatewaySimulator(SIM_KEY, SIM_SECRET, SIM_APP, faults=Faults(latency_ms=latency_ms))
    with sim:
        print(sim.base_url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _serve(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
