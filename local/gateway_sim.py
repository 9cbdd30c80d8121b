"""A local stand-in for the provider's SMS API: a real HTTP/1.1 keep-alive server on 127.0.0.1.

It checks requests as the provider does (`/shared/api/sendSms-batch.txt`, `CONTRACT.md`), keeps an audit
of every number it accepted (to prove at-most-once), and injects faults that can change at run time.
Numbers are valid when they are 7 to 15 digits (E.164 allows up to 15; the shortest real ones have 7).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import random
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

BATCH_PATH = "/sms/sendSms/batch"
REPORT_PATH = "/sms/getReport"
MAX_NUMBERS = 1000
MAX_CONTENT = 1024
MAX_REPORT_IDS = 200
TIMESTAMP_WINDOW_S = 30 * 60
NUMBER_DIGITS = range(7, 16)

REASONS = {
    "0": "success",
    "-1": "Authentication error",
    "-2": "Restricted IP access",
    "-3": "Sensitive characters in SMS content",
    "-4": "SMS content is empty",
    "-5": "The SMS content is too long",
    "-6": "SMS that is not a template",
    "-7": "Phone number exceeds limit",
    "-8": "The phone number is empty",
    "-9": "Abnormal phone number",
    "-10": "The customer's balance is insufficient",
    "-16": "Timestamp expires",
    "-18": "port program unusual",
    "-19": "Please contact the business managers binding channel",
    "-22": "Parameter exception",
}


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong, and how often (rates are per call, 0..1)."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    http_500_rate: float = 0.0
    code_18_rate: float = 0.0
    code_16_rate: float = 0.0
    stall_rate: float = 0.0
    """Accept the call's numbers, then answer only after `stall_s` (the ambiguous read timeout)."""
    stall_s: float = 5.0
    reset_rate: float = 0.0
    """Close the connection without answering, and without accepting anything."""
    balance: int | None = None
    """Numbers that can still be accepted; a call needing more is answered -10. None: unlimited."""
    forced_status: str | None = None
    """Answer this status (other than "0") to every call, accepting nothing."""
    delivered_ratio: float = 1.0
    """Share of msgIds getReport says were delivered (the rest failed), decided per msgId."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """One number the simulator accepted."""

    number: str
    order_id: str
    content_sha256: str
    msg_id: str


@dataclass(frozen=True, slots=True)
class Audit:
    """Everything accepted, and how often something was accepted twice (both must stay 0)."""

    accepted: list[Accepted]
    calls: int
    duplicate_order_ids: int
    duplicate_numbers: int
    """The same number with the same content accepted more than once."""


@dataclass(slots=True)
class _Ledger:
    accepted: list[Accepted] = field(default_factory=list)
    calls: int = 0
    duplicate_order_ids: int = 0
    duplicate_numbers: int = 0
    order_ids: set[str] = field(default_factory=set)
    sends: set[tuple[str, str]] = field(default_factory=set)
    by_msg_id: dict[str, tuple[str, float]] = field(default_factory=dict)


class _Answer(Exception):  # noqa: N818 - control flow: the provider's answer to a failed check
    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class GatewaySimulator:
    """The provider's `sendSms/batch` and `getReport`, plus `/_faults` and `/_audit` for tests and runs.

    `push_reports` plays the provider's delivery report push: it POSTs reports to a webhook URL.
    """

    def __init__(
        self,
        api_key: str = "test-key",
        api_secret: str = "test-secret",
        app_id: str = "test-app",
        faults: Faults | None = None,
        seed: int = 0,
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.app_id = app_id
        self.faults = faults or Faults()
        self.clock = clock
        self._port = port
        self._random = random.Random(seed)
        self._seed = seed
        self._msg_ids = itertools.count(1)
        self._msg_prefix = f"{seed % 1000:03d}{int(time.time()):010d}"
        self._lock = threading.Lock()
        self._ledger = _Ledger()
        self._balance = self.faults.balance
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> GatewaySimulator:
        """Listen on 127.0.0.1 and serve in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self))
        self._server.daemon_threads = True
        self._stopping.clear()
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name="gateway-sim", daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled answers are released at once."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> GatewaySimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """The URL to configure as the gateway: "http://127.0.0.1:PORT/sms"."""
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/sms"

    # -- control ----------------------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> Faults:
        """Change some faults (names of `Faults`); setting `balance` resets the remaining balance."""
        with self._lock:
            self.faults = dataclasses.replace(self.faults, **changes)
            if "balance" in changes:
                self._balance = self.faults.balance
            return self.faults

    @property
    def balance(self) -> int | None:
        """Numbers that can still be accepted (None: unlimited)."""
        with self._lock:
            return self._balance

    def audit(self) -> Audit:
        """A copy of the audit."""
        with self._lock:
            ledger = self._ledger
            return Audit(list(ledger.accepted), ledger.calls, ledger.duplicate_order_ids, ledger.duplicate_numbers)

    def reset_audit(self) -> None:
        """Forget every accepted number and call."""
        with self._lock:
            self._ledger = _Ledger()

    # -- the provider -----------------------------------------------------------------------------

    def _send_batch(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any] | None]:
        """The answer to one batch call: (HTTP status, JSON or None to close without answering)."""
        faults = self.faults
        with self._lock:
            self._ledger.calls += 1
        if faults.latency_ms or faults.jitter_ms:
            self._stopping.wait((faults.latency_ms + self._random.random() * faults.jitter_ms) / 1000)
        if self._chance(faults.reset_rate):
            return 0, None
        if self._chance(faults.http_500_rate):
            return 500, {"error": "Internal Server Error"}
        try:
            self._injected_status(faults)
            self._check_signature(headers)
            groups = self._parse_batch(body)
            return 200, self._accept(groups, faults)
        except _Answer as answer:
            return 200, _failure(answer.status)

    def _injected_status(self, faults: Faults) -> None:
        if faults.forced_status is not None and faults.forced_status != "0":
            raise _Answer(faults.forced_status)
        if self._chance(faults.code_18_rate):
            raise _Answer("-18")
        if self._chance(faults.code_16_rate):
            raise _Answer("-16")

    def _check_signature(self, headers: Any) -> None:
        if headers.get("Api-Key") != self.api_key:
            raise _Answer("-1")
        timestamp = headers.get("Timestamp", "")
        expected = hashlib.md5(f"{self.api_key}{self.api_secret}{timestamp}".encode()).hexdigest()
        if str(headers.get("Sign", "")).lower() != expected:
            raise _Answer("-1")
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > TIMESTAMP_WINDOW_S:
            raise _Answer("-16")

    def _parse_batch(self, body: bytes) -> list[tuple[str, list[tuple[str, str]]]]:
        """[(content, [(number, orderId)])] of a valid body; raises the provider's answer otherwise."""
        try:
            payload = json.loads(body)
        except ValueError:
            raise _Answer("-22") from None
        array = payload.get("array") if isinstance(payload, dict) else None
        if not isinstance(array, list) or not array or not all(isinstance(i, dict) for i in array):
            raise _Answer("-22")
        if payload.get("appId") != self.app_id:
            raise _Answer("-1")
        if sum(len(str(i.get("numbers") or "").split(",")) for i in array) > MAX_NUMBERS:
            raise _Answer("-7")
        groups = []
        for item in array:
            content, numbers, order_ids = (str(item.get(k) or "") for k in ("content", "numbers", "orderId"))
            if not content:
                raise _Answer("-4")
            if len(content) > MAX_CONTENT:
                raise _Answer("-5")
            if not numbers:
                raise _Answer("-8")
            listed = numbers.split(",")
            orders = order_ids.split(",") if order_ids else [""] * len(listed)
            if len(orders) != len(listed):
                raise _Answer("-22")
            groups.append((content, list(zip(listed, orders, strict=True))))
        return groups

    def _accept(self, groups: list[tuple[str, list[tuple[str, str]]]], faults: Faults) -> dict[str, Any]:
        valid = [(c, n, o) for c, pairs in groups for n, o in pairs if n.isdigit() and len(n) in NUMBER_DIGITS]
        invalid = [(n, o) for _, pairs in groups for n, o in pairs if not (n.isdigit() and len(n) in NUMBER_DIGITS)]
        if not valid:
            raise _Answer("-9")
        accepted = [
            Accepted(number, order_id, hashlib.sha256(content.encode()).hexdigest(), self._next_msg_id())
            for content, number, order_id in valid
        ]
        self._record(accepted)
        if self._chance(faults.stall_rate):
            self._stopping.wait(faults.stall_s)
        return {
            "status": "0",
            "reason": "success",
            "success": str(len(accepted)),
            "fail": str(len(invalid)),
            "array": [{"msgId": a.msg_id, "number": a.number, "orderId": a.order_id} for a in accepted],
            "failArray": [{"msgId": "", "number": n, "reason": "-9 abnormal number"} for n, _ in invalid],
        }

    def _record(self, accepted: list[Accepted]) -> None:
        now = self.clock()
        with self._lock:
            if self._balance is not None:
                if len(accepted) > self._balance:
                    raise _Answer("-10")
                self._balance -= len(accepted)
            ledger = self._ledger
            for a in accepted:
                ledger.duplicate_order_ids += bool(a.order_id) and a.order_id in ledger.order_ids
                ledger.duplicate_numbers += (a.number, a.content_sha256) in ledger.sends
                ledger.order_ids.add(a.order_id)
                ledger.sends.add((a.number, a.content_sha256))
                ledger.by_msg_id[a.msg_id] = (a.number, now)
            ledger.accepted.extend(accepted)

    def _report(self, headers: Any, query: str) -> dict[str, Any]:
        try:
            self._check_signature(headers)
            params = parse_qs(query)
            if params.get("appId", [""])[0] != self.app_id:
                raise _Answer("-1")
            msg_ids = [m for m in params.get("msgIds", [""])[0].split(",") if m]
            if not msg_ids or len(msg_ids) > MAX_REPORT_IDS:
                raise _Answer("-22")
        except _Answer as answer:
            return _failure(answer.status)
        with self._lock:
            known = {m: self._ledger.by_msg_id[m] for m in msg_ids if m in self._ledger.by_msg_id}
        ratio = self.faults.delivered_ratio
        array = [
            {
                "msgId": msg_id,
                "number": number,
                "receiveTime": datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"),
                "status": "0" if self._delivered(msg_id, ratio) else "1",
            }
            for msg_id, (number, at) in known.items()
        ]
        delivered = sum(e["status"] == "0" for e in array)
        return {
            "status": "0",
            "reason": "success",
            "success": str(delivered),
            "fail": str(len(array) - delivered),
            "sending": "0",
            "nofound": str(len(msg_ids) - len(known)),
            "array": array,
        }

    # -- the provider's push (delivery report webhook) --------------------------------------------

    def push_body(self, msg_id: str) -> dict[str, Any]:
        """The push the provider would send for `msg_id` (delivered per `delivered_ratio`; status an int)."""
        with self._lock:
            order_id = next((a.order_id for a in self._ledger.accepted if a.msg_id == msg_id), "")
        return self._push_body(msg_id, order_id)

    def _push_body(self, msg_id: str, order_id: str) -> dict[str, Any]:
        with self._lock:
            number, at = self._ledger.by_msg_id.get(msg_id, ("", self.clock()))
        delivered = self._delivered(msg_id, self.faults.delivered_ratio)
        body: dict[str, Any] = {
            "appId": self.app_id,
            "msgid": msg_id,
            "mobile": number,
            "status": 0 if delivered else 1,
            "reason": "DELIVRD" if delivered else "UNDELIV",
            "timestamp": int(at * 1000) + 1500,
            "mcc": "404",
            "mnc": "10",
            "pricedetail": {"pay": "0.0022", "currency": "USD", "chargeCnt": 1, "price": "0.0022"},
        }
        if order_id:
            body["orderId"] = order_id
        return body

    def push_reports(
        self, url: str, msg_ids: Sequence[str] | None = None, timeout_s: float = 5.0
    ) -> list[tuple[str, int]]:
        """POST a push for each msgId (default: every accepted one) to `url`, one request each, as the provider
        does; returns (msgId, HTTP status) per push (0 when nothing answered)."""
        with self._lock:
            order_ids = {a.msg_id: a.order_id for a in self._ledger.accepted}
        if msg_ids is None:
            msg_ids = list(order_ids)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to the URL, no proxy
        answers = []
        for msg_id in msg_ids:
            data = json.dumps(self._push_body(msg_id, order_ids.get(msg_id, "")), separators=(",", ":")).encode()
            request = urllib.request.Request(
                url, data=data, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with opener.open(request, timeout=timeout_s) as response:
                    answers.append((msg_id, response.status))
            except urllib.error.HTTPError as error:
                answers.append((msg_id, error.code))
            except OSError:
                answers.append((msg_id, 0))
        return answers

    def _delivered(self, msg_id: str, ratio: float) -> bool:
        return zlib.crc32(f"{self._seed}:{msg_id}".encode()) / 2**32 < ratio

    def _chance(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def _next_msg_id(self) -> str:
        return f"{self._msg_prefix}{next(self._msg_ids):09d}"


def _failure(status: str) -> dict[str, Any]:
    reason = REASONS.get(status, "failure")
    return {"status": status, "reason": reason, "success": "0", "fail": "0", "array": []}


def _handler(sim: GatewaySimulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        timeout = 60  # an idle keep-alive connection is closed after this

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = urlsplit(self.path).path
            if path == BATCH_PATH:
                status, answer = sim._send_batch(self.headers, body)
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
                self._reply(200, sim._report(self.headers, parts.query))
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
