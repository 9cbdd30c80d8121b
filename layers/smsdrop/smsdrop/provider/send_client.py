"""The provider's batch endpoint: sign, POST, and read the answer into one Outcome per number."""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _quoted  # type: ignore[attr-defined]
from typing import Any

import requests
from requests.adapters import BaseAdapter
from urllib3.exceptions import MaxRetryError, NewConnectionError

from smsdrop.masking import mask_digits
from smsdrop.models import CallItem, JobStop, Outcome, Recipient, Status
from smsdrop.provider.codes import SUCCESS, Action, ProviderCode, classify
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.session import ProviderHttp
from smsdrop.provider.signing import signed_headers

logger = logging.getLogger(__name__)

UNKNOWN_REASON = "request may have reached the provider; not resent"
NOT_ACKNOWLEDGED = "not acknowledged"
_RETRY_HTTP = frozenset({408, 429})
_REJECT_HTTP = frozenset({400, 413})
_LEADING_CODE = re.compile(r"\s*(-\d+)\b")
_STATUS = re.compile(r"-?\d+")
_CALL_JSON = '{"appId":%s,"array":[%s]}'
_ITEM_JSON = '{"numbers":%s,"content":%s,"senderId":%s,"orderId":%s}'


def request_body(app_id: str, items: Sequence[CallItem]) -> bytes:
    """The exact bytes POSTed for `items`: compact UTF-8 JSON, orderIds aligned with numbers.

    Byte for byte what json.dumps(payload, ensure_ascii=False, separators=(",", ":")) gives, with each string
    quoted by json's own encoder, at half the cost (no dict per item).
    """
    array = ",".join(
        [
            _ITEM_JSON
            % (
                _quoted(",".join([r.number for r in item.recipients])),
                _quoted(item.content),
                _quoted(item.sender_id),
                _quoted(",".join([r.order_id for r in item.recipients])),
            )
            for item in items
        ]
    )
    return (_CALL_JSON % (_quoted(app_id), array)).encode("utf-8")


@dataclass(frozen=True, slots=True)
class GatewayStats:
    """Counters since the client was made: `send` calls, HTTP attempts, retries among them."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    numbers: int = 0


@dataclass(frozen=True, slots=True)
class _Retry:
    code: str | None
    reason: str
    backoff: bool = True


class GatewayClient(ProviderHttp):
    """A thread-safe client of `POST <base_url>/sendSms/batch` sharing one keep-alive session.

    `send` returns an Outcome for every recipient, raises `JobStop` when the job must stop, retries
    only what was surely not accepted, and never resends a request that may have reached the provider.
    `adapter` replaces the pooled HTTPAdapter (for tests).
    """

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], Credentials],
        *,
        allow_http: bool = False,
        connect_timeout_s: float = 3.05,
        read_timeout_s: float = 30.0,
        max_attempts: int = 5,
        pool_size: int = 16,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        adapter: BaseAdapter | None = None,
    ) -> None:
        super().__init__(base_url, "/sendSms/batch", allow_http=allow_http, pool_size=pool_size, adapter=adapter)
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self._credentials = credentials
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._max_attempts = max_attempts
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._lock = threading.Lock()
        self._stats = GatewayStats()

    @property
    def stats(self) -> GatewayStats:
        """A snapshot of the counters."""
        with self._lock:
            return self._stats

    def send(self, items: Sequence[CallItem]) -> dict[int, Outcome]:
        """Send one batch call; an Outcome per recipient row. Raises `JobStop` if the job must stop."""
        recipients = [r for item in items for r in item.recipients]
        if not recipients:
            return {}
        self._count(calls=1, numbers=len(recipients))
        last = _Retry(None, "no attempt made")
        for attempt in range(1, self._max_attempts + 1):
            if attempt > 1:
                self._count(retries=1)
            result = self._attempt(items, recipients)
            if not isinstance(result, _Retry):
                return result
            last = result
            if attempt < self._max_attempts:
                delay = self._backoff(attempt) if result.backoff else 0.0
                logger.warning(
                    "gateway call not accepted, retrying",
                    extra={"attempt": attempt, "code": result.code, "reason": result.reason, "delay_s": delay},
                )
                if delay:
                    self._sleep(delay)
        reason = f"gave up after {self._max_attempts} attempts: {last.reason}"
        logger.warning("gateway call failed", extra={"code": last.code, "reason": reason, "numbers": len(recipients)})
        return _all(recipients, Outcome(Status.FAILED, reason=reason, provider_code=last.code))

    def _backoff(self, attempt: int) -> float:
        return self._jitter() * min(self._backoff_max_s, self._backoff_base_s * 2 ** (attempt - 1))

    def _count(self, *, calls: int = 0, attempts: int = 0, retries: int = 0, numbers: int = 0) -> None:
        with self._lock:
            s = self._stats
            self._stats = GatewayStats(s.calls + calls, s.attempts + attempts, s.retries + retries, s.numbers + numbers)

    def _attempt(self, items: Sequence[CallItem], recipients: list[Recipient]) -> dict[int, Outcome] | _Retry:
        credentials = self._credentials()
        headers = signed_headers(credentials.api_key, credentials.api_secret, int(self._clock()))
        self._count(attempts=1)
        try:
            response = self._session.post(
                self.url,
                data=request_body(credentials.app_id, items),
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            if _not_sent(exc):
                return _Retry(None, f"could not connect to the gateway ({type(exc).__name__})")
            logger.warning(
                "gateway call ambiguous: not resent",
                extra={"error": type(exc).__name__, "numbers": len(recipients)},
            )
            return _all(recipients, Outcome(Status.UNKNOWN, reason=UNKNOWN_REASON))
        return self._read(response, recipients)

    def _read(self, response: requests.Response, recipients: list[Recipient]) -> dict[int, Outcome] | _Retry:
        http = response.status_code
        if http in _RETRY_HTTP or http >= 500:
            return _Retry(f"HTTP {http}", f"the gateway answered HTTP {http}")
        if http in _REJECT_HTTP:
            reason = f"the gateway refused the request with HTTP {http}"
            return _all(recipients, Outcome(Status.FAILED, reason=reason, provider_code=f"HTTP {http}"))
        if not 200 <= http < 300:
            raise JobStop(f"HTTP {http}", f"the gateway answered HTTP {http}: check GATEWAY_URL ({self.url})")
        answer = _json_object(response.content)
        status = str(answer.get("status", "")).strip() if answer is not None else ""
        if answer is None or not _STATUS.fullmatch(status):
            logger.warning("gateway answer unreadable: not resent", extra={"numbers": len(recipients)})
            return _all(recipients, Outcome(Status.UNKNOWN, reason=UNKNOWN_REASON))
        provider_reason = mask_digits(str(answer.get("reason", "")))
        accepted = _entries(answer.get("array"))
        if status == SUCCESS:
            return _resolve(recipients, answer, Outcome(Status.FAILED, reason=NOT_ACKNOWLEDGED))
        verdict = classify(status, provider_reason)
        if not verdict.known:
            logger.warning(
                "provider answered an undocumented status",
                extra={"code": status, "reason": provider_reason, "numbers": len(recipients)},
            )
        missing = Outcome(Status.FAILED, reason=verdict.describe(provider_reason), provider_code=status)
        if accepted:
            # Some numbers were accepted despite the status: record them as such and never resend the call.
            logger.warning("provider accepted part of a failed call", extra={"code": status})
            return _resolve(recipients, answer, missing)
        if verdict.action is Action.STOP:
            raise JobStop(status, verdict.describe(provider_reason))
        if verdict.action is Action.RETRY:
            return _Retry(
                status,
                f"{status} {verdict.describe(provider_reason)}",
                backoff=status != ProviderCode.TIMESTAMP_EXPIRED,
            )
        return _resolve(recipients, answer, missing)


def _not_sent(exc: requests.RequestException) -> bool:
    """Whether the error surely happened before the request left (connecting), so a retry is safe."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    inner = exc.args[0] if isinstance(exc, requests.ConnectionError) and exc.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, NewConnectionError)


def _json_object(content: bytes) -> Mapping[str, Any] | None:
    try:
        answer = json.loads(content)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _all(recipients: Sequence[Recipient], outcome: Outcome) -> dict[int, Outcome]:
    return {r.row: outcome for r in recipients}


def _entries(value: object) -> list[Mapping[str, Any]]:
    return [e for e in value if isinstance(e, Mapping)] if isinstance(value, list) else []


def _resolve(recipients: Sequence[Recipient], answer: Mapping[str, Any], missing: Outcome) -> dict[int, Outcome]:
    """Per number: in `array` is SUBMITTED, in `failArray` is FAILED, in neither gets `missing`."""
    claims = _Claims(recipients)
    outcomes: dict[int, Outcome] = {}
    for entry in _entries(answer.get("array")):
        if (row := claims.take(entry)) is not None:
            outcomes[row] = Outcome(Status.SUBMITTED, msg_id=str(entry.get("msgId") or "") or None)
    for entry in _entries(answer.get("failArray")):
        if (row := claims.take(entry)) is not None:
            reason = mask_digits(str(entry.get("reason", ""))) or missing.reason
            code = m.group(1) if (m := _LEADING_CODE.match(reason)) else missing.provider_code
            outcomes[row] = Outcome(Status.FAILED, reason=reason, provider_code=code)
    return {r.row: outcomes.get(r.row, missing) for r in recipients}


class _Claims:
    """Matches answer entries to recipients: by orderId first, else the first unclaimed same number."""

    def __init__(self, recipients: Sequence[Recipient]) -> None:
        self._by_order = {r.order_id: r for r in recipients}
        self._by_number: dict[str, list[Recipient]] = defaultdict(list)
        for r in recipients:
            self._by_number[r.number].append(r)
        self._taken: set[int] = set()

    def take(self, entry: Mapping[str, Any]) -> int | None:
        recipient = self._by_order.get(str(entry.get("orderId", "")))
        if recipient is None or recipient.row in self._taken:
            recipient = next(self._unclaimed(str(entry.get("number", ""))), None)
        if recipient is None:
            return None
        self._taken.add(recipient.row)
        return recipient.row

    def _unclaimed(self, number: str) -> Iterator[Recipient]:
        return (r for r in self._by_number.get(number, ()) if r.row not in self._taken)
