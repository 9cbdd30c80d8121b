"""The gateway simulator's HTTP face: the provider's two endpoints, plus `/_faults` and `/_audit`, over HTTP/1.1
keep-alive; and the provider's delivery report push, POSTed to a webhook."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import urlsplit

from local.sim_audit import Audit
from local.sim_faults import Faults

BATCH_PATH = "/sms/sendSms/batch"
REPORT_PATH = "/sms/getReport"


class Provider(Protocol):
    """What the handler serves: the simulator."""

    def send_batch(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any] | None]: ...

    def report(self, headers: Any, query: str) -> dict[str, Any]: ...

    def set_faults(self, **changes: Any) -> Faults: ...

    def audit(self) -> Audit: ...


def handler(sim: Provider) -> type[BaseHTTPRequestHandler]:
    """A request handler class serving `sim`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        timeout = 60  # an idle keep-alive connection is closed after this

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            if path == BATCH_PATH:
                status, answer = sim.send_batch(self.headers, body)
                if answer is None:
                    self.close_connection = True
                    return
                self._reply(status, answer)
            elif path == "/_faults":
                try:
                    self._reply(200, asdict(sim.set_faults(**json.loads(body or b"{}"))))
                except (TypeError, ValueError) as exc:
                    self._reply(400, {"error": str(exc)})
            else:
                self._reply(404, {"error": "not found"})

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == REPORT_PATH:
                self._reply(200, sim.report(self.headers, parts.query))
            elif parts.path == "/_audit":
                self._reply(200, asdict(sim.audit()))
            else:
                self._reply(404, {"error": "not found"})

        def _reply(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer, separators=(",", ":")).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (a stalled answer after its read timeout)
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: a busy benchmark would drown in access logs."""

    return Handler


def post_each(url: str, bodies: Iterable[tuple[str, dict[str, Any]]], timeout_s: float) -> list[tuple[str, int]]:
    """POST each (msgId, JSON body) to `url`, one request each, as the provider pushes reports; returns
    (msgId, HTTP status) per push (0 when nothing answered)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to the URL, no proxy
    answers = []
    for msg_id, body in bodies:
        data = json.dumps(body, separators=(",", ":")).encode()
        request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
        try:
            with opener.open(request, timeout=timeout_s) as response:
                answers.append((msg_id, response.status))
        except urllib.error.HTTPError as error:
            answers.append((msg_id, error.code))
        except OSError:
            answers.append((msg_id, 0))
    return answers
