"""The provider's `GET /sms/getReport`: up to 200 msgIds a call, signed like a send, safe to retry."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

import requests
from aws_lambda_powertools import Logger
from requests.adapters import BaseAdapter

from smsdrop.delivery.receipts import Report, report_entries
from smsdrop.masking import mask_digits
from smsdrop.provider.codes import SUCCESS, Action, classify
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.session import ProviderHttp
from smsdrop.provider.signing import signed_headers

logger = Logger(child=True)

MAX_IDS = 200
_RETRY_HTTP = frozenset({408, 429})


class ReportUnavailable(Exception):  # noqa: N818 - what happened, said plainly
    """No report can be had now (provider down, or credentials refused): end this poll, try next time."""


class ReportRefused(Exception):  # noqa: N818 - what happened, said plainly
    """The provider refused this call's msgIds (a reject-class status): ask about them later, go on."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code


class ReportClient(ProviderHttp):
    """A client of `GET <base_url>/getReport` on one keep-alive session; a GET is retried on any failure.

    `adapter` replaces the pooled HTTPAdapter (for tests).
    """

    def __init__(
        self,
        base_url: str,
        credentials: Callable[[], Credentials],
        *,
        allow_http: bool = False,
        connect_timeout_s: float = 3.05,
        read_timeout_s: float = 10.0,
        max_attempts: int = 3,
        backoff_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        adapter: BaseAdapter | None = None,
    ) -> None:
        super().__init__(base_url, "/getReport", allow_http=allow_http, pool_size=4, adapter=adapter)
        self._credentials = credentials
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._max_attempts = max(1, max_attempts)
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._clock = clock
        self.calls = 0

    def reports(self, msg_ids: Sequence[str]) -> dict[str, Report]:
        """The provider's report of each msgId it knows (unknown ones are absent).

        Raises `ReportRefused` for a reject-class answer and `ReportUnavailable` when retries are spent
        or the provider says nothing more can succeed (credentials, IP, key).
        """
        if not 0 < len(msg_ids) <= MAX_IDS:
            raise ValueError(f"getReport takes 1 to {MAX_IDS} msgIds, not {len(msg_ids)}")
        last = "no attempt made"
        for attempt in range(1, self._max_attempts + 1):
            outcome = self._attempt(msg_ids)
            if isinstance(outcome, dict):
                return outcome
            last = outcome
            if attempt < self._max_attempts:
                logger.warning("getReport failed, retrying", extra={"attempt": attempt, "reason": last})
                self._sleep(random.random() * self._backoff_s * 2 ** (attempt - 1))
        raise ReportUnavailable(f"getReport failed after {self._max_attempts} attempts: {last}")

    def _attempt(self, msg_ids: Sequence[str]) -> dict[str, Report] | str:
        """The reports, or why this attempt should be retried."""
        credentials = self._credentials()
        query = f"appId={quote(credentials.app_id, safe='')}&msgIds={quote(','.join(msg_ids), safe=',')}"
        headers = signed_headers(credentials.api_key, credentials.api_secret, int(self._clock()))
        self.calls += 1
        try:
            response = self._session.get(
                f"{self.url}?{query}", headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as exc:
            return f"no answer ({type(exc).__name__})"
        http = response.status_code
        if http in _RETRY_HTTP or http >= 500:
            return f"HTTP {http}"
        if not 200 <= http < 300:
            raise ReportUnavailable(f"the gateway answered HTTP {http}: check GATEWAY_URL ({self.url})")
        try:
            answer = json.loads(response.content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return "unreadable answer"
        status = str(answer.get("status", "")).strip()
        if status == SUCCESS:
            return {r.msg_id: r for r in report_entries(answer)}
        reason = mask_digits(str(answer.get("reason", "")))
        verdict = classify(status, reason)
        if verdict.action is Action.RETRY:
            return f"{status} {verdict.describe(reason)}"
        if verdict.action is Action.STOP:
            raise ReportUnavailable(f"{status} {verdict.describe(reason)}")
        raise ReportRefused(status, verdict.describe(reason))
