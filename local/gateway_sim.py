"""A local stand-in for the provider's SMS API: a real HTTP/1.1 keep-alive server on 127.0.0.1.

It checks requests as the provider does (docs/provider-api.md), keeps an audit of every number it accepted
(to prove at-most-once; `local/sim_audit.py`), and injects faults that can change at run time
(`local/sim_faults.py`). Numbers are valid when they are 7 to 15 digits (E.164 allows up to 15; the shortest
real ones have 7).
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import random
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from local.sim_audit import Accepted, Audit, Ledger
from local.sim_faults import Faults
from local.sim_http import BATCH_PATH, REPORT_PATH, handler, post_each

__all__ = ["BATCH_PATH", "REPORT_PATH", "Accepted", "Audit", "Faults", "GatewaySimulator"]

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
SERVER_ERRORS = {500: "Internal Server Error", 502: "Bad Gateway", 504: "Gateway Timeout"}

_Groups = list[tuple[str, list[tuple[str, str]]]]


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
        self._ledger = Ledger(self.faults.balance)
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    # -- life cycle -------------------------------------------------------------------------------

    def start(self) -> GatewaySimulator:
        """Listen on 127.0.0.1 and serve in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), handler(self))
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
                self._ledger.balance = self.faults.balance
            return self.faults

    @property
    def balance(self) -> int | None:
        """Numbers that can still be accepted (None: unlimited)."""
        return self._ledger.balance

    def audit(self) -> Audit:
        """A copy of the audit."""
        return self._ledger.audit()

    def reset_audit(self) -> None:
        """Forget every accepted number and call."""
        self._ledger.reset()

    # -- the provider -----------------------------------------------------------------------------

    def send_batch(self, headers: Any, body: bytes) -> tuple[int, dict[str, Any] | None]:
        """The answer to one batch call: (HTTP status, JSON or None to close without answering)."""
        faults = self.faults
        self._ledger.count_call()
        if faults.latency_ms or faults.jitter_ms:
            self._stopping.wait((faults.latency_ms + self._random.random() * faults.jitter_ms) / 1000)
        if self._chance(faults.reset_rate):
            return 0, None
        if self._chance(faults.http_500_rate):
            return 500, {"error": SERVER_ERRORS[500]}
        try:
            self._injected_status(faults)
            self._check_signature(headers)
            answer = self._accept(self._parse_batch(body), faults)
        except _Answer as refused:
            return 200, _failure(refused.status)
        if self._chance(faults.accept_then_5xx_rate):
            status = faults.accept_then_5xx_status
            return status, {"error": SERVER_ERRORS.get(status, "Server Error")}
        return 200, answer

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

    def _parse_batch(self, body: bytes) -> _Groups:
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
        return [_group(item) for item in array]

    def _accept(self, groups: _Groups, faults: Faults) -> dict[str, Any]:
        valid = [(c, n, o) for c, pairs in groups for n, o in pairs if _valid(n)]
        invalid = [(n, o) for _, pairs in groups for n, o in pairs if not _valid(n)]
        if not valid:
            raise _Answer("-9")
        accepted = [
            Accepted(number, order_id, hashlib.sha256(content.encode()).hexdigest(), self._next_msg_id())
            for content, number, order_id in valid
        ]
        if not self._ledger.record(accepted, self.clock()):
            raise _Answer("-10")
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

    def report(self, headers: Any, query: str) -> dict[str, Any]:
        """The answer to one getReport call."""
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
        known = self._ledger.sent(msg_ids)
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
        return self._push_body(msg_id, self._ledger.order_ids().get(msg_id, ""))

    def _push_body(self, msg_id: str, order_id: str) -> dict[str, Any]:
        number, at = self._ledger.sent([msg_id]).get(msg_id, ("", self.clock()))
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
        order_ids = self._ledger.order_ids()
        chosen = list(order_ids) if msg_ids is None else msg_ids
        bodies = ((m, self._push_body(m, order_ids.get(m, ""))) for m in chosen)
        return post_each(url, bodies, timeout_s)

    def _delivered(self, msg_id: str, ratio: float) -> bool:
        return zlib.crc32(f"{self._seed}:{msg_id}".encode()) / 2**32 < ratio

    def _chance(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def _next_msg_id(self) -> str:
        return f"{self._msg_prefix}{next(self._msg_ids):09d}"


def _group(item: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """(content, [(number, orderId)]) of one element of the request's array; raises the provider's answer."""
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
    return content, list(zip(listed, orders, strict=True))


def _valid(number: str) -> bool:
    return number.isdigit() and len(number) in NUMBER_DIGITS


def _failure(status: str) -> dict[str, Any]:
    reason = REASONS.get(status, "failure")
    return {"status": status, "reason": reason, "success": "0", "fail": "0", "array": []}
