"""The delivery report webhook behind a Lambda Function URL (AuthType NONE).

The provider's push carries no signature, so the URL carries a secret token: the last path segment
(`https://<url-id>.lambda-url.<region>.on.aws/<token>`) or `?token=<token>`. It is compared in constant
time with the field "pushToken" of the gateway secret (at least 32 characters, else every push is refused).
Without it: 403. Not POST: 405. Not JSON: 400. Everything else is 200, including unknown msgIds (the poller
gets their reports later) and duplicates (the move is conditional and happens once); only a store failure
answers 500, so the provider may push again.

The pages of finished jobs whose counts a request moved are drawn again, under the poller's rate limit (one
conditional write per job and request; the redraw only when it wins; see smsdrop.output.page_refresh). A page
that cannot be drawn is logged and never fails the push.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import LambdaFunctionUrlEvent
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError, TransformParameterError

from smsdrop.delivery.receipts import Report, Source, push_reports
from smsdrop.output.page_refresh import PageRefresher
from smsdrop.store.delivery import DeliveryStore, moved

logger = Logger(child=True)

TOKEN_FIELD = "pushToken"
MIN_TOKEN_LENGTH = 32


class PushToken:
    """Callable giving the expected token from the gateway secret (cached `max_age_s`), or "" if unusable."""

    def __init__(self, provider: SecretsProvider, secret_id: str, max_age_s: int = 300) -> None:
        self._provider = provider
        self._secret_id = secret_id
        self._max_age_s = max_age_s

    def __call__(self) -> str:
        """The token, or "" (logged) when the secret has none of at least MIN_TOKEN_LENGTH characters."""
        try:
            value = self._provider.get(self._secret_id, transform="json", max_age=self._max_age_s)
        except (GetParameterError, TransformParameterError) as exc:
            logger.error(
                "Cannot read the push token", extra={"secret_id": self._secret_id, "error": type(exc).__name__}
            )
            return ""
        token = value.get(TOKEN_FIELD) if isinstance(value, dict) else None
        if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH:
            logger.error(
                "The gateway secret has no usable pushToken: every push is refused",
                extra={"secret_id": self._secret_id, "min_length": MIN_TOKEN_LENGTH},
            )
            return ""
        return token


def presented_token(event: LambdaFunctionUrlEvent) -> str:
    """The token a request presents: `?token=` or else the last non-empty path segment."""
    query = event.get_query_string_value("token")
    if query:
        return query
    segments = [s for s in (event.raw_path or "").split("/") if s]
    return segments[-1] if segments else ""


class PushReceiver:
    """Turns one Function URL request into moves of items (see the module docstring)."""

    def __init__(
        self,
        store: DeliveryStore,
        token: Callable[[], str],
        clock: Callable[[], float] = time.time,
        pages: PageRefresher | None = None,
    ) -> None:
        self._store = store
        self._token = token
        self._clock = clock
        self._pages = pages

    def handle(self, raw_event: Mapping[str, Any]) -> dict[str, Any]:
        """The Function URL response to one request."""
        event = LambdaFunctionUrlEvent(dict(raw_event))
        expected = self._token()
        if not expected or not hmac.compare_digest(presented_token(event).encode(), expected.encode()):
            logger.warning("Push refused: no valid token", extra={"source_ip": _source_ip(event)})
            return _response(403, {"error": "forbidden"})
        if _method(event) != "POST":
            return _response(405, {"error": "POST only"})
        try:
            payload = json.loads(event.decoded_body or "")
        except (ValueError, UnicodeDecodeError):
            logger.warning("Push refused: body is not JSON")
            return _response(400, {"error": "body must be JSON"})
        reports, unreadable = push_reports(payload)
        if unreadable:
            logger.warning("Push entries without a msgid ignored", extra={"entries": unreadable})
        moved_jobs: set[str] = set()
        try:
            settled = sum(self._receive(report, moved_jobs) for report in reports)
        except Exception:
            logger.exception("Push not recorded: store failure")
            self._refresh_pages(moved_jobs)
            return _response(500, {"error": "try again"})
        self._refresh_pages(moved_jobs)
        return _response(200, {"status": "0", "received": len(reports), "settled": settled})

    def _refresh_pages(self, job_ids: set[str]) -> None:
        """Redraw the pages of jobs whose counts moved, if due; a page that cannot be drawn is only logged."""
        if self._pages is None:
            return
        now = int(self._clock())
        for job_id in sorted(job_ids):
            try:
                self._pages.refresh(job_id, now)
            except Exception:
                logger.exception("Report page not refreshed", extra={"job_id": job_id})

    def _receive(self, report: Report, moved_jobs: set[str]) -> bool:
        verdict = report.verdict
        if verdict is None:
            logger.info("Push without a final status", extra={"msg_id": report.msg_id, "code": report.code})
            return False
        keys = self._store.find(report.msg_id)
        if not keys:
            logger.warning("Push for an unknown msgId (the poller will ask for it)", extra={"msg_id": report.msg_id})
            return False
        settled = False
        for key in keys:
            if self._store.settle(key, report.msg_id, verdict, report, Source.PUSH, int(self._clock())):
                self._store.add_counts(key.job_id, moved(verdict))
                moved_jobs.add(key.job_id)
                settled = True
            else:
                logger.info("Duplicate push: the number is already final", extra={"msg_id": report.msg_id})
        return settled


def _method(event: LambdaFunctionUrlEvent) -> str:
    try:
        return str(event.http_method).upper()
    except (KeyError, TypeError):
        return ""


def _source_ip(event: LambdaFunctionUrlEvent) -> str:
    try:
        return event.request_context.http.source_ip
    except (KeyError, TypeError):
        return ""


def _response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}
