"""A do-nothing DynamoDB-protocol endpoint, in a process of its own: the sink whose own cost is nil, so what a bench
measures in the runner is the runner's (moto's CPU, or DynamoDB's latency, is not in the figure).

Every `DynamoDB_20120810.*` call is answered HTTP 200 at once (or after `latency_ms`): BatchWriteItem with
`{"UnprocessedItems":{}}`, anything else with `{}`. `GET /_counts` answers the requests and items it was sent.

python -m bench.null_dynamodb [LATENCY_MS]   -> prints the endpoint, serves until stdin closes
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TARGET = "DynamoDB_20120810."
BATCH_WRITE_ANSWER = b'{"UnprocessedItems":{}}'


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, latency_s: float) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.latency_s = latency_s
        self.lock = threading.Lock()
        self.counts = {"requests": 0, "items": 0}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as DynamoDB's endpoints
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a line per request would swamp the bench's output."""

    def do_POST(self) -> None:
        """Answer any DynamoDB call as a success that changed nothing (a BatchWriteItem: nothing unprocessed)."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        operation = self.headers.get("X-Amz-Target", "").removeprefix(TARGET)
        with self.server.lock:
            self.server.counts["requests"] += 1
            self.server.counts["items"] += body.count(b'"PutRequest"')
        if self.server.latency_s:
            time.sleep(self.server.latency_s)
        self._answer(BATCH_WRITE_ANSWER if operation == "BatchWriteItem" else b"{}")

    def do_GET(self) -> None:
        """`/_counts`: the requests and PutRequests received so far."""
        with self.server.lock:
            counts = dict(self.server.counts)
        self._answer(json.dumps(counts).encode())

    def _answer(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "null")
        self.send_header("x-amz-crc32", str(zlib.crc32(data)))
        self.end_headers()
        self.wfile.write(data)


@dataclass(frozen=True, slots=True)
class NullEndpoint:
    """A running null endpoint (in another process): its URL, and what it was sent."""

    url: str

    def counts(self) -> dict[str, int]:
        """Requests and PutRequests received so far."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{self.url}/_counts", timeout=30) as answer:
            counts: dict[str, int] = json.loads(answer.read())
        return counts


@contextmanager
def null_dynamodb(latency_ms: float = 0.0) -> Iterator[NullEndpoint]:
    """Start `python -m bench.null_dynamodb LATENCY_MS`, yield its endpoint, stop it (by its own pid) on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.null_dynamodb", str(latency_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip() if proc.stdout else ""
        if not line.startswith("http"):
            raise RuntimeError(f"bench.null_dynamodb did not start (said {line!r})")
        yield NullEndpoint(line)
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _serve(latency_ms: float) -> None:
    server = _Server(latency_ms / 1000)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    _serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
