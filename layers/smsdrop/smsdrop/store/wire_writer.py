"""BatchWriteItem on the wire: row items sent as DynamoDB JSON text built once, signed with botocore's SigV4, posted
over a keep-alive urllib3 pool (urllib3 ships with botocore), so a number costs a fraction of botocore's per-call
work (parameter validation, serialisation through the model, its retry and parsing layers: docs/performance.md).

It goes wherever the DynamoDB client it is made from goes (AWS, or AWS_ENDPOINT_URL: moto server behind the local
limits proxy), with the client's timeouts, and keeps the client's behaviour where the runner relies on it:
- throttling (ProvisionedThroughputExceededException, ThrottlingException...), 5xx answers and broken connections are
  retried with botocore's standard backoff, rand(0, 1) x min(base x 2^i, 20 s) (base 1 s for throttling, 25 ms
  otherwise), at most `Backoff.attempts` tries; items left unprocessed are sent again, only those, after
  rand(0, 1) x min(50 ms x 2^i, 2 s), at most `Backoff.rounds` times, then ResultsNotWritten;
- any other error (ValidationException: an item too large...) raises at once the ClientError botocore would have
  raised (its class from the client, the same `response["Error"]` Code and Message), which the runner reads;
- the client's event hooks still see each request: `before-call` (botocore's Stubber, fault injection) may answer it
  instead, `before-send` (moto's mock_aws, fault injection) may answer the signed request.
A BatchWriteItem of puts is idempotent (the same items again), so resending after a lost answer is harmless.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import botocore
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpsession import get_cert_path

from smsdrop.store.results import BATCH_WRITE_LIMIT, ResultsNotWritten
from smsdrop.store.wire_json import Item, batch_write_body, item_json, unprocessed_body

OPERATION = "BatchWriteItem"
SERVICE = "dynamodb"
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)  # botocore's standard retry mode's list
TRANSIENT_CODES = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
Parsed = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Retry bounds and bases: `attempts` tries of a request (botocore's max_attempts), `rounds` sending unprocessed
    items."""

    attempts: int = 10
    rounds: int = 8
    throttled_s: float = 1.0
    transient_s: float = 0.025
    unprocessed_s: float = 0.05
    unprocessed_cap_s: float = 2.0
    cap_s: float = 20.0

    def base_s(self, status: int, code: str) -> float | None:
        """The backoff base after an error answer, or None if no retry can heal it."""
        if code in THROTTLING_CODES or status == 429:
            return self.throttled_s
        if code in TRANSIENT_CODES or status in TRANSIENT_STATUS:
            return self.transient_s
        return None


@dataclass(frozen=True, slots=True)
class ClientHooks:
    """What the wire writer keeps of a botocore client: its event hooks, its operation model, its exception classes."""

    events: Any
    model: Any
    exceptions: Any

    @classmethod
    def of(cls, client: Any) -> ClientHooks:
        """The hooks of a botocore DynamoDB client."""
        return cls(client.meta.events, client.meta.service_model.operation_model(OPERATION), client.exceptions)


class WireWriter:
    """Puts up to 25 items at a time with BatchWriteItem; thread-safe (one connection per concurrent request)."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        credentials: Credentials,
        *,
        pool_size: int = 16,
        timeout: urllib3.Timeout | None = None,
        backoff: Backoff | None = None,
        hooks: ClientHooks | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        parts = urlsplit(endpoint_url)
        self._url = endpoint_url if parts.path else endpoint_url + "/"
        self._path = parts.path or "/"
        self._region = region
        self._credentials = credentials
        self._backoff = backoff or Backoff()
        self._hooks = hooks
        self._sleep, self._rand = sleep, rand
        self._headers = {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": f"DynamoDB_20120810.{OPERATION}",
            "Host": _host(parts.scheme, parts.hostname or "", parts.port),
            "User-Agent": f"smsdrop-wire-writer botocore/{botocore.__version__}",
        }
        tls = {"ca_certs": get_cert_path(True)} if parts.scheme == "https" else {}
        self._pool = urllib3.connection_from_url(
            endpoint_url,
            maxsize=pool_size,
            block=False,
            timeout=timeout or urllib3.Timeout(connect=60, read=60),  # botocore's defaults
            retries=False,
            **tls,
        )
        self._lock = threading.Lock()
        self._throttled = 0  # throttled answers retried since the last take_counts

    def take_counts(self) -> dict[str, int]:
        """Throttled answers retried since the last take: for the caller to add to the metrics on its own thread
        (powertools Metrics is a shared buffer without a lock; `put` is called from worker threads)."""
        with self._lock:
            throttled, self._throttled = self._throttled, 0
        return {"DynamoDBThrottles": throttled}

    @classmethod
    def for_client(
        cls,
        client: Any,
        credentials: Credentials,
        *,
        pool_size: int = 16,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> WireWriter:
        """A writer to wherever `client` (a botocore DynamoDB client) sends, with its timeouts, hooks and exceptions,
        signing with `credentials` (the session's)."""
        config = client.meta.config
        return cls(
            client.meta.endpoint_url,
            client.meta.region_name,
            credentials,
            pool_size=pool_size,
            timeout=urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout),
            backoff=backoff,
            hooks=ClientHooks.of(client),
            sleep=sleep,
            rand=rand,
        )

    def put(self, table: str, items: Sequence[Item]) -> None:
        """Write `items` (at most 25) into `table`: retried as the module says; raises ClientError for an error no
        retry heals or that outlasts every attempt, ResultsNotWritten for items still unprocessed after every round."""
        if len(items) > BATCH_WRITE_LIMIT:
            raise ValueError(f"a BatchWriteItem takes at most {BATCH_WRITE_LIMIT} items, not {len(items)}")
        body = batch_write_body(table, [item_json(item) for item in items])
        left = 0
        for round_ in range(self._backoff.rounds):
            unprocessed = self._send(body)
            if not unprocessed:
                return
            left = sum(len(requests) for requests in unprocessed.values())
            body = unprocessed_body(unprocessed)
            if round_ + 1 < self._backoff.rounds:
                self._sleep(self._delay(self._backoff.unprocessed_s, round_, self._backoff.unprocessed_cap_s))
        raise ResultsNotWritten(f"{left} result items unprocessed after {self._backoff.rounds} tries")

    def _send(self, body: bytes) -> dict[str, Any]:
        """One request, retried on throttling and transient errors; its UnprocessedItems."""
        attempt = 0
        while True:
            last = attempt + 1 >= self._backoff.attempts
            try:
                status, parsed = self._exchange(body)
            except urllib3.exceptions.HTTPError:
                if last:
                    raise
                self._sleep(self._delay(self._backoff.transient_s, attempt))
                attempt += 1
                continue
            if status < 300:
                unprocessed: dict[str, Any] = parsed.get("UnprocessedItems") or {}
                return unprocessed
            parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = attempt
            base = self._backoff.base_s(status, parsed["Error"]["Code"])
            if base is None or last:
                raise self._error(parsed)
            if status == 429 or parsed["Error"]["Code"] in THROTTLING_CODES:
                with self._lock:
                    self._throttled += 1
            self._sleep(self._delay(base, attempt))
            attempt += 1

    def _exchange(self, body: bytes) -> tuple[int, Parsed]:
        """Send one signed request (unless a hook answers it); its HTTP status and answer (botocore's shape for an
        error: `{"Error": {"Code", "Message"}, "ResponseMetadata"}`)."""
        headers = dict(self._headers)
        hooks = self._hooks
        if hooks is not None:
            answered = self._before_call(hooks, headers, body)
            if answered is not None:
                return answered
        request = _Request(method="POST", url=self._url, headers=headers, data=body)
        SigV4Auth(self._credentials.get_frozen_credentials(), SERVICE, self._region).add_auth(request)
        if hooks is not None:
            responses = hooks.events.emit(f"before-send.{SERVICE}.{OPERATION}", request=request)
            response = next((r for _, r in responses if r is not None), None)
            if response is not None:
                return _parsed(response.status_code, response.headers, response.content)
        answer = self._pool.urlopen(
            "POST", self._path, body=body, headers=dict(request.headers.items()), retries=False, preload_content=True
        )
        return _parsed(answer.status, answer.headers, answer.data)

    def _before_call(self, hooks: ClientHooks, headers: dict[str, str], body: bytes) -> tuple[int, Parsed] | None:
        """botocore's `before-call` event on the request as botocore would have built it (its handlers may add
        headers); a handler's (http response, parsed answer) stands for the call's."""
        params = {"url_path": self._path, "query_string": "", "method": "POST", "headers": headers, "body": body}
        params |= {"url": self._url, "context": {}}
        _, answered = hooks.events.emit_until_response(
            f"before-call.{SERVICE}.{OPERATION}",
            model=hooks.model,
            params=params,
            request_signer=None,
            context=params["context"],
        )
        if answered is None:
            return None
        http, parsed = answered
        return http.status_code, dict(parsed)

    def _error(self, parsed: Parsed) -> ClientError:
        """The exception botocore raises for this error answer: the client's modeled class when there is a client."""
        kind: Any = ClientError if self._hooks is None else self._hooks.exceptions.from_code(parsed["Error"]["Code"])
        error: ClientError = kind(parsed, OPERATION)
        return error

    def _delay(self, base_s: float, attempt: int, cap_s: float | None = None) -> float:
        return self._rand() * min(base_s * 2.0**attempt, self._backoff.cap_s if cap_s is None else cap_s)


class _Request(AWSRequest):
    """An AWSRequest whose body is the bytes given: SigV4Auth reads `body`, which AWSRequest prepares anew (a copy of
    the request, its headers and URL: a fifth of the signing's CPU) every time it is read."""

    @property
    def body(self) -> bytes:  # type: ignore[override]  # the stubs say str; SigV4Auth hashes either
        return cast(bytes, self.data)


def _parsed(status: int, headers: Mapping[str, str], data: bytes) -> tuple[int, Parsed]:
    """An answer as botocore's JSON parser reads it: the body, or for an error its code, message and metadata."""
    try:
        body = json.loads(data) if data else {}
    except ValueError:
        body = {"message": data}
    if status < 300:
        return status, body
    code = str(body.get("__type", status)).split(":", 1)[0].rsplit("#", 1)[-1]
    lower = {key.lower(): value for key, value in headers.items()}
    metadata = {"HTTPStatusCode": status, "HTTPHeaders": lower}
    if "x-amzn-requestid" in lower:
        metadata["RequestId"] = lower["x-amzn-requestid"]
    return status, {"Error": {"Message": body.get("message", body.get("Message", "")), "Code": code}} | {
        "ResponseMetadata": metadata
    }


def _host(scheme: str, hostname: str, port: int | None) -> str:
    """The Host header botocore signs: the port only when it is not the scheme's default."""
    host = f"[{hostname}]" if ":" in hostname else hostname
    default = 443 if scheme == "https" else 80
    return host if port is None or port == default else f"{host}:{port}"
