"""The provider's batch endpoint: sign, POST, and read the answer into one Outcome per number.

What each answer leads to is the table in docs/provider-api.md, "What our clients do with each answer".
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _quoted

import requests
from requests.adapters import BaseAdapter

from smsdrop.masking import mask_digits
from smsdrop.models import UNKNOWN_REASON, CallItem, JobStop, Outcome, Recipient, Status
from smsdrop.provider.batch_answer import NOT_ACKNOWLEDGED, entries, every, resolve
from smsdrop.provider.codes import SUCCESS, Action, ProviderCode, classify
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.http_answers import HttpAnswer, classify_error, classify_status, json_object
from smsdrop.provider.retry import Again, Backoff, CallNotMade, Expired, Retry, Spent, TimeLeft
from smsdrop.provider.session import ProviderHttp

logger = logging.getLogger(__name__)

REFUSED_WITHOUT_REASON = "refused by the provider (no reason given)"
AMBIGUOUS = "request may have reached the provider (an answer was ambiguous)"
"""How an UNKNOWN call cut short after an ambiguous answer begins its reason (then why it was cut short)."""
_STATUS = re.compile(r"-?\d+")
_CALL_JSON = '{"appId":%s,"array":[%s]}'
_ITEM_JSON = '{"numbers":%s,"content":%s,"senderId":%s,"orderId":%s}'
_Result = dict[int, Outcome] | Again


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


class GatewayClient(ProviderHttp):
    """A thread-safe client of `POST <base_url>/sendSms/batch` sharing one keep-alive session.

    `send` returns an Outcome for every recipient, raises `JobStop` when the job must stop, retries only what
    was surely not processed, and never resends a request that may have reached the provider - unless
    `retry_server_errors` says the provider de-duplicates orderIds, when HTTP 5xx answers are retried too.
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
        retry_server_errors: bool = False,
        pool_size: int = 16,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        adapter: BaseAdapter | None = None,
    ) -> None:
        super().__init__(
            base_url, "/sendSms/batch", credentials, clock, allow_http=allow_http, pool_size=pool_size, adapter=adapter
        )
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._retry = Retry(
            "gateway call", max_attempts, Backoff(backoff_base_s, backoff_max_s), sleep=sleep, jitter=jitter
        )
        self._retry_server_errors = retry_server_errors
        self._lock = threading.Lock()
        self._stats = GatewayStats()
        self._ambiguous = 0  # calls recorded UNKNOWN for an ambiguous answer, since the last take_counts

    def take_counts(self) -> dict[str, int]:
        """Retried attempts and ambiguous calls since the last take: for the caller to add to the metrics on its own
        thread (powertools Metrics is a shared buffer without a lock; calls are made from worker threads)."""
        with self._lock:
            ambiguous, self._ambiguous = self._ambiguous, 0
        return {"GatewayRetries": self._retry.take_retries(), "AmbiguousAnswers": ambiguous}

    @property
    def stats(self) -> GatewayStats:
        """A snapshot of the counters."""
        with self._lock:
            return self._stats

    def send(self, items: Sequence[CallItem], time_left: TimeLeft | None = None) -> dict[int, Outcome]:
        """Send one batch call; an Outcome per recipient row. Raises `JobStop` if the job must stop.

        `time_left` (seconds to the caller's deadline): no attempt starts too close to it and none may wait for an
        answer past it (its timeouts are cut to the time left). Raises `CallNotMade` when the deadline comes before
        the provider processed the call (the numbers were not sent); a call cut short after an ambiguous answer is
        UNKNOWN, and an attempt whose answer the deadline cuts off is UNKNOWN as any read timeout is.
        """
        recipients = [r for item in items for r in item.recipients]
        if not recipients:
            return {}
        self._count(calls=1, numbers=len(recipients))
        result = self._retry.run(lambda attempt: self._attempt(attempt, items, recipients, time_left), time_left)
        outcomes = self._expired(result, recipients) if isinstance(result, Expired) else result
        outcomes = self._spent(outcomes, recipients) if isinstance(outcomes, Spent) else outcomes
        if any(_from_ambiguous_answer(o) for o in outcomes.values()):
            with self._lock:
                self._ambiguous += 1
        return outcomes

    def _expired(self, expired: Expired, recipients: list[Recipient]) -> dict[int, Outcome]:
        if not expired.ambiguous:
            raise CallNotMade(expired.reason)
        logger.warning("gateway call out of time after an ambiguous answer", extra={"reason": expired.reason})
        reason = f"{AMBIGUOUS}; {expired.reason}"
        code = expired.last.code if expired.last else None
        return every(recipients, Outcome(Status.UNKNOWN, reason=reason, provider_code=code))

    def _spent(self, spent: Spent, recipients: list[Recipient]) -> dict[int, Outcome]:
        logger.warning(
            "gateway call failed", extra={"code": spent.last.code, "reason": spent.reason, "numbers": len(recipients)}
        )
        if spent.ambiguous:  # a 5xx retried by the operator's choice: an earlier attempt may have been accepted
            reason = f"{AMBIGUOUS}; {spent.reason}"
            return every(recipients, Outcome(Status.UNKNOWN, reason=reason, provider_code=spent.last.code))
        return every(recipients, Outcome(Status.FAILED, reason=spent.reason, provider_code=spent.last.code))

    def _count(self, *, calls: int = 0, attempts: int = 0, retries: int = 0, numbers: int = 0) -> None:
        with self._lock:
            s = self._stats
            self._stats = GatewayStats(s.calls + calls, s.attempts + attempts, s.retries + retries, s.numbers + numbers)

    def _attempt(
        self, attempt: int, items: Sequence[CallItem], recipients: list[Recipient], time_left: TimeLeft | None
    ) -> _Result:
        credentials, headers = self._signed()
        self._count(attempts=1, retries=int(attempt > 1))
        timeout = self._timeout
        if time_left is not None:
            left = max(time_left(), 0.1)  # the retry loop checked it a moment ago
            timeout = (min(timeout[0], left), min(timeout[1], left))
        try:
            response = self._session.post(
                self.url,
                data=request_body(credentials.app_id, items),
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
            )
        except requests.RequestException as error:
            if classify_error(error) is HttpAnswer.RETRY:
                return Again(f"could not connect to the gateway ({type(error).__name__})")
            return _ambiguous(recipients, type(error).__name__)
        return self._read(response, recipients)

    def _read(self, response: requests.Response, recipients: list[Recipient]) -> _Result:
        http = response.status_code
        code, said = f"HTTP {http}", f"the gateway answered HTTP {http}"
        match classify_status(http):
            case HttpAnswer.RETRY:
                return Again(said, code)
            case HttpAnswer.AMBIGUOUS if self._retry_server_errors:
                return Again(said, code, ambiguous=True)
            case HttpAnswer.AMBIGUOUS:
                return _ambiguous(recipients, code, provider_code=code)
            case HttpAnswer.REJECT:
                reason = f"the gateway refused the request with HTTP {http}"
                return every(recipients, Outcome(Status.FAILED, reason=reason, provider_code=code))
            case HttpAnswer.STOP:
                raise JobStop(code, f"{said}: check GATEWAY_URL ({self.url})")
        return _read_body(response.content, recipients)


def _from_ambiguous_answer(outcome: Outcome) -> bool:
    """Whether an outcome is UNKNOWN because the call's answer was ambiguous (not because a number went unanswered)."""
    return outcome.status is Status.UNKNOWN and (
        outcome.reason == UNKNOWN_REASON or outcome.reason.startswith(AMBIGUOUS)
    )


def _ambiguous(recipients: list[Recipient], what: str, provider_code: str | None = None) -> dict[int, Outcome]:
    """The request may have been accepted: every number UNKNOWN, never resent."""
    logger.warning("gateway call ambiguous: not resent", extra={"error": what, "numbers": len(recipients)})
    return every(recipients, Outcome(Status.UNKNOWN, reason=UNKNOWN_REASON, provider_code=provider_code))


def _read_body(content: bytes, recipients: list[Recipient]) -> _Result:
    """The provider's status and per-number lists, read from a 2xx answer."""
    answer = json_object(content)
    status = str(answer.get("status", "")).strip() if answer is not None else ""
    if answer is None or not _STATUS.fullmatch(status):
        return _ambiguous(recipients, "unreadable answer")
    if status == SUCCESS:
        refused = Outcome(Status.FAILED, reason=REFUSED_WITHOUT_REASON)
        return resolve(recipients, answer, failed=refused, missing=Outcome(Status.UNKNOWN, reason=NOT_ACKNOWLEDGED))
    provider_reason = mask_digits(str(answer.get("reason", "")))
    verdict = classify(status, provider_reason)
    if not verdict.known:
        logger.warning(
            "provider answered an undocumented status",
            extra={"code": status, "reason": provider_reason, "numbers": len(recipients)},
        )
    failed = Outcome(Status.FAILED, reason=verdict.describe(provider_reason), provider_code=status)
    if entries(answer.get("array")):
        # Some numbers were accepted despite the status: the call was taken, so it is never resent, and a
        # number in neither list may have been accepted too.
        logger.warning("provider accepted part of a failed call", extra={"code": status})
        missing = Outcome(Status.UNKNOWN, reason=NOT_ACKNOWLEDGED, provider_code=status)
        return resolve(recipients, answer, failed=failed, missing=missing)
    if verdict.action is Action.STOP:
        raise JobStop(status, verdict.describe(provider_reason))
    if verdict.action is Action.RETRY:
        described = f"{status} {verdict.describe(provider_reason)}"
        return Again(described, status, backoff=status != ProviderCode.TIMESTAMP_EXPIRED)
    return resolve(recipients, answer, failed=failed, missing=failed)
