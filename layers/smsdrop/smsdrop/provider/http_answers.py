"""What an HTTP answer (or a failure to get one) says about a request: the one reading both clients share.

See docs/provider-api.md, "What our clients do with each answer".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError


class HttpAnswer(StrEnum):
    """The class of an HTTP answer, before the provider's own status in the body is read."""

    READ = "READ"
    """2xx: the body holds the provider's status."""
    RETRY = "RETRY"
    """Nothing was processed (408, 429, 503, or no connection was made): the same request may be sent again."""
    AMBIGUOUS = "AMBIGUOUS"
    """The request was sent and may have been processed (500, 502, 504, any other 5xx, a lost or cut answer)."""
    REJECT = "REJECT"
    """The request itself is at fault (400, 413): sending it again cannot help."""
    STOP = "STOP"
    """No request can get past this (a redirect, 401, 403, 404, ...): the URL or the account is wrong."""


NOT_PROCESSED = frozenset({408, 429, 503})
REJECTED = frozenset({400, 413})


def classify_status(http: int) -> HttpAnswer:
    """The class of an HTTP status code."""
    if 200 <= http < 300:
        return HttpAnswer.READ
    if http in NOT_PROCESSED:
        return HttpAnswer.RETRY
    if http >= 500:
        return HttpAnswer.AMBIGUOUS
    if http in REJECTED:
        return HttpAnswer.REJECT
    return HttpAnswer.STOP


def classify_error(error: requests.RequestException) -> HttpAnswer:
    """RETRY if the error surely happened before the request left (while connecting), else AMBIGUOUS."""
    if isinstance(error, requests.ConnectTimeout):
        return HttpAnswer.RETRY
    inner = error.args[0] if isinstance(error, requests.ConnectionError) and error.args else None
    if isinstance(inner, MaxRetryError) and isinstance(inner.reason, NewConnectionError):
        return HttpAnswer.RETRY
    return HttpAnswer.AMBIGUOUS


def json_object(content: bytes) -> Mapping[str, Any] | None:
    """A 2xx answer's JSON object, or None if the body is not one (an unreadable answer)."""
    try:
        answer = json.loads(content)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
