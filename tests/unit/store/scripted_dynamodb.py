"""A DynamoDB endpoint on 127.0.0.1 that answers from a script and keeps every request it was sent."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    """One request as it arrived: method, path, headers (as sent) and body."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def error(code: str, message: str = "", status: int = 400) -> tuple[int, bytes]:
    """An error answer as DynamoDB writes it."""
    return status, json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()


def ok(answer: dict[str, Any] | None = None) -> tuple[int, bytes]:
    """A success answer (by default: nothing unprocessed)."""
    return 200, json.dumps({"UnprocessedItems": {}} if answer is None else answer).encode()


class ScriptedDynamoDB(ThreadingHTTPServer):
    """Answers each POST with the next scripted (status, body); with nothing left, with `ok()`."""

    daemon_threads = True

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answers = list(answers)
        self.received: list[Received] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ScriptedDynamoDB:
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def next_answer(self, request: Received) -> tuple[int, bytes]:
        with self.lock:
            self.received.append(request)
            return self.answers.pop(0) if self.answers else ok()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedDynamoDB

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = Received(self.command, self.path, dict(self.headers.items()), body)
        status, data = self.server.next_answer(request)
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", f"req-{len(self.server.received)}")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
