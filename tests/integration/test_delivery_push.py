"""The push webhook end to end over HTTP: the simulator POSTs push reports to a tiny Function URL stand-in on
127.0.0.1 that invokes the real handler, which records them in moto server."""

import base64
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest
from delivery_push import app

from local.aws import LocalAws
from local.gateway_sim import GatewaySimulator
from local.invoke import LocalContext
from smsdrop.config import Settings
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_poller
from tests.integration.test_delivery_poller import Seeded, seed

TOKEN = uuid.uuid4().hex + uuid.uuid4().hex  # 64 characters


def function_url_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, source_ip: str) -> dict:
    """The event a Lambda Function URL hands the function (payload format 2.0)."""
    path, _, query = raw_path.partition("?")
    try:
        text, encoded = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, encoded = base64.b64encode(body).decode(), True
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc123",
            "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip, "userAgent": ""},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query))
    if body:
        event["body"] = text
    return event


class FunctionUrl:
    """A local stand-in for the Function URL: HTTP in, the real handler, HTTP out."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.invocations = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        url = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._invoke("POST")

            def do_GET(self) -> None:
                self._invoke("GET")

            def _invoke(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event = function_url_event(method, self.path, dict(self.headers), body, self.client_address[0])
                url.invocations += 1
                answer = app.handler(event, LocalContext(15_000, function_name="DeliveryPushFunction"))
                data = answer.get("body", "").encode()
                self.send_response(answer["statusCode"])
                for name, value in answer.get("headers", {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent."""

        return Handler


@pytest.fixture
def settings(aws: LocalAws, simulator: GatewaySimulator) -> Settings:
    """The stack's settings, with a gateway secret that also holds the push token."""
    secret = {
        "apiKey": simulator.api_key,
        "apiSecret": simulator.api_secret,
        "appId": simulator.app_id,
        "pushToken": TOKEN,
    }
    aws.client("secretsmanager").create_secret(Name=aws.names.secret, SecretString=json.dumps(secret))
    return Settings(
        results_table=aws.names.table, secret_id=aws.names.secret, gateway_url=simulator.base_url, allow_http=True
    )


@pytest.fixture
def webhook(aws: LocalAws, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[FunctionUrl]:
    """The Function URL stand-in, its handler configured as the template configures DeliveryPushFunction."""
    for name, value in {
        **aws.env(),
        "RESULTS_TABLE": settings.results_table,
        "GATEWAY_SECRET_ID": settings.secret_id,
    }.items():
        monkeypatch.setenv(name, value)
    app.receiver.cache_clear()
    url = FunctionUrl()
    threading.Thread(target=url.server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield url
    finally:
        url.server.shutdown()
        url.server.server_close()
        app.receiver.cache_clear()


def expected(simulator: GatewaySimulator, msg_id: str) -> str:
    return "DELIVERED" if simulator.push_body(msg_id)["status"] == 0 else "UNDELIVERED"


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def job(aws: LocalAws, simulator: GatewaySimulator, gateway_client) -> Seeded:
    simulator.set_faults(delivered_ratio=0.5)
    return seed(aws, gateway_client, 20, time.time() - 120)


def test_pushes_with_the_token_move_every_number_and_the_counts(simulator, webhook, job):
    answers = simulator.push_reports(f"{webhook.base}/{TOKEN}")
    assert [status for _, status in answers] == [200] * 20
    items = job.items()
    want = {row: expected(simulator, msg_id) for row, msg_id in job.msg_ids.items()}
    assert {row: item["status"] for row, item in items.items()} == want
    delivered = sum(s == "DELIVERED" for s in want.values())
    assert 0 < delivered < 20
    assert job.counts() == {"DELIVERED": delivered, "UNDELIVERED": 20 - delivered}
    assert job.awaiting() == 0
    for item in items.values():
        assert item["report_source"] == "push"
        assert item["reason"] in ("DELIVRD", "UNDELIV")
        assert item["price_detail"] == {"pay": "0.0022", "currency": "USD", "chargeCnt": "1", "price": "0.0022"}
        assert item["receive_time"].endswith("+00:00")


def test_the_token_may_come_as_a_query_parameter(simulator, webhook, job):
    answers = simulator.push_reports(f"{webhook.base}/?token={TOKEN}", list(job.msg_ids.values())[:1])
    assert answers[0][1] == 200
    assert sum(job.counts().get(s, 0) for s in ("DELIVERED", "UNDELIVERED")) == 1


@pytest.mark.parametrize(
    "path",
    ["/", "/not-the-token", f"/{TOKEN[:-1]}", f"/?token={TOKEN}x", f"/{TOKEN.upper()}"],
    ids=["none", "wrong", "one-char-short", "one-char-long", "other-case"],
)
def test_pushes_without_the_token_are_forbidden_and_change_nothing(simulator, webhook, job, path):
    answers = simulator.push_reports(f"{webhook.base}{path}")
    assert {status for _, status in answers} == {403}
    assert job.counts() == {"SUBMITTED": 20}
    assert job.awaiting() == 20


def test_duplicate_pushes_are_answered_200_and_counted_once(simulator, webhook, job):
    url = f"{webhook.base}/{TOKEN}"
    simulator.push_reports(url)
    before = job.counts(), {row: item["status"] for row, item in job.items().items()}
    simulator.set_faults(delivered_ratio=0.0)  # a contradicting second push ("1" for all) must not move anything
    again = simulator.push_reports(url)
    assert {status for _, status in again} == {200}
    assert (job.counts(), {row: item["status"] for row, item in job.items().items()}) == before


def test_a_push_for_an_unknown_msg_id_is_answered_200(simulator, webhook, job):
    assert simulator.push_reports(f"{webhook.base}/{TOKEN}", ["never-issued"]) == [("never-issued", 200)]
    assert job.counts() == {"SUBMITTED": 20}


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe"], ids=["broken", "empty", "not-utf8"])
def test_a_body_that_is_not_json_is_a_bad_request(webhook, job, body):
    assert post(f"{webhook.base}/{TOKEN}", body) == 400


def test_a_secret_without_a_push_token_refuses_every_push(aws, simulator, webhook, job):
    secret = {"apiKey": simulator.api_key, "apiSecret": simulator.api_secret, "appId": simulator.app_id}
    aws.client("secretsmanager").put_secret_value(SecretId=aws.names.secret, SecretString=json.dumps(secret))
    app.receiver.cache_clear()
    assert {status for _, status in simulator.push_reports(f"{webhook.base}/{TOKEN}")} == {403}


def test_push_and_poll_together_count_each_number_once(aws, simulator, webhook, job, settings):
    pushed = list(job.msg_ids.values())[:8]
    simulator.push_reports(f"{webhook.base}/{TOKEN}", pushed)
    assert job.awaiting() == 12
    poller = build_poller(settings, DeliverySettings(), aws.client("dynamodb"), aws.client("secretsmanager"))
    summary = poller.run(lambda: 900_000)
    assert summary.asked == 12
    simulator.push_reports(f"{webhook.base}/{TOKEN}")  # late pushes for everything: all duplicates now
    counts = job.counts()
    assert "SUBMITTED" not in counts
    assert counts["DELIVERED"] + counts["UNDELIVERED"] == 20
    assert {row: item["status"] for row, item in job.items().items()} == {
        row: expected(simulator, msg_id) for row, msg_id in job.msg_ids.items()
    }


def test_the_simulator_pushes_in_the_providers_format(simulator, gateway_client, aws):
    job = seed(aws, gateway_client, 1, time.time())
    body = simulator.push_body(job.msg_ids[2])
    assert set(body) >= {"appId", "msgid", "mobile", "status", "reason", "timestamp", "mcc", "mnc", "pricedetail"}
    assert (body["msgid"], body["mobile"], body["orderId"]) == (job.msg_ids[2], "919800000000", "o0")
    assert isinstance(body["status"], int)
    assert body["timestamp"] > 10**12  # milliseconds
