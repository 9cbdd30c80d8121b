"""The provider's `GET /sms/getReport`: up to 200 msgIds a call, signed like a send, safe to retry.

A getReport call changes nothing at the provider, so unlike a send it is retried on any failure, HTTP 5xx and
lost answers included (docs/provider-api.md, "What our clients do with each answer").
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from urllib.parse import quote

import requests
from requests.adapters import BaseAdapter

from smsdrop.delivery.receipts import Report, report_entries
from smsdrop.errors import SmsdropError
from smsdrop.masking import mask_digits
from smsdrop.provider.codes import SUCCESS, Action, classify
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.http_answers import HttpAnswer, classify_status, json_object
from smsdrop.provider.retry import Again, Backoff, Retry, Spent
from smsdrop.provider.session import ProviderHttp

MAX_IDS = 200


class ReportUnavailable(SmsdropError):  # noqa: N818 - what happened, said plainly
    """No report can be had now (provider down, or credentials refused): end this poll, try next time."""


class ReportRefused(SmsdropError):  # noqa: N818 - what happened, said plainly
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
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        adapter: BaseAdapter | None = None,
    ) -> None:
        super().__init__(
            base_url, "/getReport", credentials, clock, allow_http=allow_http, pool_size=4, adapter=adapter
        )
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._retry = Retry(
            "getReport", max_attempts, Backoff(backoff_base_s, backoff_max_s), sleep=sleep, jitter=jitter
        )

    def reports(self, msg_ids: Sequence[str]) -> dict[str, Report]:
        """The provider's report of each msgId it knows (unknown ones are absent).

        Raises `ReportRefused` for a reject-class answer and `ReportUnavailable` when retries are spent
        or the provider says nothing more can succeed (credentials, IP, key).
        """
        if not 0 < len(msg_ids) <= MAX_IDS:
            raise ValueError(f"getReport takes 1 to {MAX_IDS} msgIds, not {len(msg_ids)}")
        result = self._retry.run(lambda _: self._attempt(msg_ids))
        if isinstance(result, Spent):
            raise ReportUnavailable(f"getReport {result.reason}")
        return result

    def _attempt(self, msg_ids: Sequence[str]) -> dict[str, Report] | Again:
        """The reports, or why this attempt should be made again."""
        credentials, headers = self._signed()
        query = f"appId={quote(credentials.app_id, safe='')}&msgIds={quote(','.join(msg_ids), safe=',')}"
        try:
            response = self._session.get(
                f"{self.url}?{query}", headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            return Again(f"no answer ({type(error).__name__})")
        http = response.status_code
        match classify_status(http):
            case HttpAnswer.RETRY | HttpAnswer.AMBIGUOUS:  # nothing to fear from asking again
                return Again(f"HTTP {http}", f"HTTP {http}")
            case HttpAnswer.REJECT | HttpAnswer.STOP:
                raise ReportUnavailable(f"the gateway answered HTTP {http}: check GATEWAY_URL ({self.url})")
        return _read_body(response.content)


def _read_body(content: bytes) -> dict[str, Report] | Again:
    answer = json_object(content)
    if answer is None:
        return Again("unreadable answer")
    status = str(answer.get("status", "")).strip()
    if status == SUCCESS:
        return {r.msg_id: r for r in report_entries(answer)}
    reason = mask_digits(str(answer.get("reason", "")))
    verdict = classify(status, reason)
    if verdict.action is Action.RETRY:
        return Again(f"{status} {verdict.describe(reason)}", status)
    if verdict.action is Action.STOP:
        raise ReportUnavailable(f"{status} {verdict.describe(reason)}")
    raise ReportRefused(status, verdict.describe(reason))
