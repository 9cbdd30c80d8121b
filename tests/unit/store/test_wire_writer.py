"""The wire writer against a scripted DynamoDB on 127.0.0.1: what it sends, what it retries, what it raises."""

import json
import re

import boto3
import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from smsdrop.store.results import ResultsNotWritten
from smsdrop.store.wire_writer import Backoff, WireWriter
from tests.unit.store.scripted_dynamodb import ScriptedDynamoDB, error, ok

CREDENTIALS = Credentials("testing", "testing-secret", "session-token")
TABLE = "SendResults"


def item(row, **extra):
    return {"job_id": {"S": "j#1"}, "rec": {"S": f"N#{row:010d}"}, "number": {"S": f"9198765{row:05d}"}} | extra


def put(row):
    return {"PutRequest": {"Item": item(row)}}


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


def writer(url, sleeps, backoff=None):
    """A writer whose jitter is always its maximum (rand() = 1), so each wait is its bound."""
    return WireWriter(url, "us-east-1", CREDENTIALS, pool_size=2, backoff=backoff, sleep=sleeps, rand=lambda: 1.0)


def test_items_go_out_as_one_signed_batch_write_item_whose_signature_covers_the_request_as_it_arrives(sleeps):
    with ScriptedDynamoDB() as server:
        writer(server.url, sleeps).put(TABLE, [item(2), item(3, note={"S": "é ✓"})])
    (request,) = server.received
    assert request.headers["X-Amz-Target"] == "DynamoDB_20120810.BatchWriteItem"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert request.headers["X-Amz-Security-Token"] == "session-token"
    assert request.json() == {"RequestItems": {TABLE: [put(2), {"PutRequest": {"Item": item(3, note={"S": "é ✓"})}}]}}
    authorization = request.headers["Authorization"]
    assert re.match(r"AWS4-HMAC-SHA256 Credential=testing/\d{8}/us-east-1/dynamodb/aws4_request, ", authorization)
    assert authorization.rsplit("Signature=", 1)[1] == expected_signature(server.url, request, authorization)
    assert sleeps == []


def expected_signature(url, request, authorization):
    """The SigV4 signature of the request as received, over the headers it says it signed."""
    signed = re.search(r"SignedHeaders=([^,]+)", authorization).group(1).split(";")
    assert "host" in signed
    headers = {name.lower(): value for name, value in request.headers.items()}
    again = AWSRequest(method=request.method, url=url + request.path, headers={h: headers[h] for h in signed})
    again.data = request.body
    again.context["timestamp"] = headers["x-amz-date"]
    auth = SigV4Auth(CREDENTIALS, "dynamodb", "us-east-1")
    return auth.signature(auth.string_to_sign(again, auth.canonical_request(again)), again)


@pytest.mark.parametrize(
    ("answer", "waits"),
    [
        (error("ProvisionedThroughputExceededException"), [1.0, 2.0]),
        (error("ThrottlingException"), [1.0, 2.0]),
        (error("Whatever", status=429), [1.0, 2.0]),
        (error("InternalServerError", status=500), [0.025, 0.05]),
        (error("ServiceUnavailable", status=503), [0.025, 0.05]),
    ],
    ids=["throughput exceeded", "throttling", "HTTP 429", "HTTP 500", "HTTP 503"],
)
def test_throttling_and_server_errors_are_sent_again_after_botocores_backoff(sleeps, answer, waits):
    with ScriptedDynamoDB(answer, answer) as server:
        wire = writer(server.url, sleeps)
        wire.put(TABLE, [item(2)])
    assert len(server.received) == 3
    assert len({r.body for r in server.received}) == 1
    assert sleeps == waits
    throttled = 2 if waits[0] == 1.0 else 0
    assert wire.take_counts() == {"DynamoDBThrottles": throttled}  # for the runner to add to the metrics
    assert wire.take_counts() == {"DynamoDBThrottles": 0}


def test_only_the_items_left_unprocessed_are_sent_again(sleeps):
    left = {TABLE: [put(3), put(5)]}
    with ScriptedDynamoDB(ok({"UnprocessedItems": left}), ok({"UnprocessedItems": {TABLE: [put(5)]}})) as server:
        writer(server.url, sleeps).put(TABLE, [item(r) for r in range(2, 7)])
    assert [len(r.json()["RequestItems"][TABLE]) for r in server.received] == [5, 2, 1]
    assert server.received[1].json() == {"RequestItems": left}
    assert server.received[2].json() == {"RequestItems": {TABLE: [put(5)]}}
    assert sleeps == [0.05, 0.1]


def test_a_validation_error_is_raised_at_once_as_the_client_error_botocore_raises(sleeps):
    too_large = error("ValidationException", "Item size has exceeded the maximum allowed size")
    with ScriptedDynamoDB(too_large) as server, pytest.raises(ClientError) as raised:
        writer(server.url, sleeps).put(TABLE, [item(2)])
    assert raised.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Item size has exceeded the maximum allowed size",
    }
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert raised.value.response["ResponseMetadata"]["RequestId"] == "req-1"
    assert raised.value.operation_name == "BatchWriteItem"
    assert len(server.received) == 1
    assert sleeps == []


def test_throttling_that_outlasts_every_attempt_raises_the_throttling_error(sleeps):
    throttled = error("ProvisionedThroughputExceededException", "slow down")
    throttling = pytest.raises(ClientError, match="ProvisionedThroughputExceededException")
    with ScriptedDynamoDB(*[throttled] * 5) as server, throttling:
        writer(server.url, sleeps, Backoff(attempts=3)).put(TABLE, [item(2)])
    assert len(server.received) == 3
    assert sleeps == [1.0, 2.0]


def test_waits_are_bounded(sleeps):
    throttled = error("ThrottlingException")
    with ScriptedDynamoDB(*[throttled] * 7) as server:
        writer(server.url, sleeps, Backoff(attempts=8, cap_s=20.0)).put(TABLE, [item(2)])
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0]


def test_items_still_unprocessed_after_every_round_fail_the_write_loudly(sleeps):
    stuck = ok({"UnprocessedItems": {TABLE: [put(2)]}})
    loudly = pytest.raises(ResultsNotWritten, match="1 result items unprocessed after 3 tries")
    with ScriptedDynamoDB(*[stuck] * 5) as server, loudly:
        writer(server.url, sleeps, Backoff(rounds=3)).put(TABLE, [item(2), item(3)])
    assert len(server.received) == 3


def test_a_refused_connection_is_tried_again_then_raised(sleeps):
    with ScriptedDynamoDB() as server:
        url = server.url
    with pytest.raises(urllib3.exceptions.NewConnectionError):
        writer(url, sleeps, Backoff(attempts=3)).put(TABLE, [item(2)])
    assert sleeps == [0.025, 0.05]


def test_more_than_25_items_are_refused_before_anything_is_sent(sleeps):
    with ScriptedDynamoDB() as server, pytest.raises(ValueError, match="at most 25"):
        writer(server.url, sleeps).put(TABLE, [item(r) for r in range(26)])
    assert server.received == []


def client_for(url):
    return boto3.client("dynamodb", endpoint_url=url, region_name="eu-west-1")


def test_a_writer_made_from_a_client_goes_where_it_goes_and_raises_its_exception_classes(sleeps):
    with ScriptedDynamoDB(*[error("ProvisionedThroughputExceededException")] * 2) as server:
        dynamodb = client_for(server.url)
        wire = WireWriter.for_client(dynamodb, CREDENTIALS, pool_size=2, backoff=Backoff(attempts=2), sleep=sleeps)
        with pytest.raises(dynamodb.exceptions.ProvisionedThroughputExceededException):
            wire.put(TABLE, [item(2)])
    assert len(server.received) == 2
    assert "/eu-west-1/dynamodb/" in server.received[0].headers["Authorization"]


def test_a_before_call_hook_on_the_client_may_answer_instead_as_with_botocore(sleeps):
    with ScriptedDynamoDB() as server:
        dynamodb = client_for(server.url)
        seen = []

        def unprocessed_once(params, **_):
            seen.append(json.loads(params["body"]))
            if len(seen) == 1:
                return AWSResponse(server.url, 200, {}, None), {"UnprocessedItems": {TABLE: [put(3)]}}
            return None

        dynamodb.meta.events.register("before-call.dynamodb.BatchWriteItem", unprocessed_once)
        WireWriter.for_client(dynamodb, CREDENTIALS, pool_size=2, sleep=sleeps).put(TABLE, [item(2), item(3)])
    assert len(seen) == 2
    assert [r.json() for r in server.received] == [{"RequestItems": {TABLE: [put(3)]}}]


class _Body:
    def __init__(self, data):
        self.data = data

    def stream(self, **_):
        yield self.data


def test_a_before_send_hook_sees_the_signed_request_and_may_answer_instead_as_with_botocore(sleeps):
    with ScriptedDynamoDB() as server:
        dynamodb = client_for(server.url)
        seen = []

        def throttle_once(request, **_):
            seen.append(request)
            if len(seen) == 1:
                body = json.dumps({"__type": "x#ThrottlingException", "message": "injected"}).encode()
                return AWSResponse(request.url, 400, {}, _Body(body))
            return None

        dynamodb.meta.events.register("before-send.dynamodb.BatchWriteItem", throttle_once)
        WireWriter.for_client(dynamodb, CREDENTIALS, pool_size=2, sleep=sleeps).put(TABLE, [item(2)])
    assert len(seen) == 2
    assert seen[0].headers["Authorization"].startswith("AWS4-HMAC-SHA256")
    assert len(server.received) == 1
    assert len(sleeps) == 1
