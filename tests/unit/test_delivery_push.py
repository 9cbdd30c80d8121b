"""The push webhook: the token gate, lenient parsing, and moves that happen once."""

import base64
import json
import logging
from collections import Counter

import pytest

from smsdrop.delivery.push import MIN_TOKEN_LENGTH, PushReceiver, PushToken
from smsdrop.store.delivery import ItemKey

TOKEN = "t" * 20 + "0123456789abcdefghijkl"
NOW = 1_800_000_000


def url_event(path=f"/{TOKEN}", body="", method="POST", query="", b64=False):
    """A Lambda Function URL event (payload format 2.0)."""
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "queryStringParameters": params,
        "headers": {"content-type": "application/json", "host": "abc.lambda-url.us-east-1.on.aws"},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.9"}},
        "body": base64.b64encode(body.encode()).decode() if b64 else body,
        "isBase64Encoded": b64,
    }


def push(msg_id="m1", status=0, **extra):
    return json.dumps({"appId": "app", "msgid": msg_id, "mobile": "919876543210", "status": status} | extra)


class FakeStore:
    def __init__(self, items=None):
        self.items = items if items is not None else {"m1": [ItemKey("job", "N#0000000002")]}
        self.status = {k: "SUBMITTED" for keys in self.items.values() for k in keys}
        self.counts = Counter()
        self.reports = []
        self.broken = False

    def find(self, msg_id):
        if self.broken:
            raise RuntimeError("dynamodb down")
        return self.items.get(msg_id, [])

    def settle(self, key, msg_id, verdict, report, source, now):
        if self.status[key] != "SUBMITTED":
            return False
        self.status[key] = str(verdict)
        self.reports.append((report, str(source)))
        return True

    def add_counts(self, job_id, changes):
        self.counts.update(changes)


def handle(event, store=None, token=TOKEN):
    store = store if store is not None else FakeStore()
    response = PushReceiver(store, lambda: token, clock=lambda: NOW).handle(event)
    return response["statusCode"], json.loads(response["body"]), store


@pytest.mark.parametrize(
    ("path", "query"),
    [(f"/{TOKEN}", ""), (f"/reports/{TOKEN}/", ""), ("/", f"token={TOKEN}")],
    ids=["path", "nested-path-trailing-slash", "query"],
)
def test_a_push_with_the_token_in_path_or_query_is_recorded(path, query):
    status, body, store = handle(url_event(path=path, query=query, body=push()))
    assert (status, body) == (200, {"status": "0", "received": 1, "settled": 1})
    assert store.status == {ItemKey("job", "N#0000000002"): "DELIVERED"}
    assert store.counts == Counter({"SUBMITTED": -1, "DELIVERED": 1})


@pytest.mark.parametrize(
    ("path", "query", "token"),
    [
        ("/", "", TOKEN),
        ("/wrong-token-of-some-length-000000000000", "", TOKEN),
        (f"/{TOKEN[:-1]}", "", TOKEN),
        (f"/{TOKEN}x", "", TOKEN),
        ("/", "token=", TOKEN),
        (f"/{TOKEN}", "", ""),
        ("/short", "", "short"),
    ],
    ids=["none", "wrong", "prefix", "longer", "empty-query", "secret-without-token", "secret-token-too-short"],
)
def test_a_request_without_the_right_token_is_forbidden_and_changes_nothing(path, query, token):
    receiver_token = token if len(token) >= MIN_TOKEN_LENGTH else ""  # PushToken gives "" for a short one
    status, body, store = handle(url_event(path=path, query=query, body=push()), token=receiver_token)
    assert (status, body) == (403, {"error": "forbidden"})
    assert store.counts == Counter()


def test_the_token_is_checked_before_anything_else():
    status, _, _ = handle(url_event(path="/nope", method="GET", body="{not json"))
    assert status == 403


@pytest.mark.parametrize("method", ["GET", "PUT"], ids=["get", "put"])
def test_only_post_is_accepted(method):
    status, _, _ = handle(url_event(method=method, body=push()))
    assert status == 405


@pytest.mark.parametrize("body", ["{not json", "", "\x00\x01"], ids=["broken", "empty", "binary"])
def test_a_body_that_is_not_json_is_a_bad_request(body):
    status, answer, _ = handle(url_event(body=body))
    assert (status, answer) == (400, {"error": "body must be JSON"})


def test_a_base64_body_is_decoded():
    status, body, _ = handle(url_event(body=push(), b64=True))
    assert (status, body["settled"]) == (200, 1)


def test_a_duplicate_push_is_answered_200_and_counted_once(caplog):
    store = FakeStore()
    handle(url_event(body=push()), store)
    with caplog.at_level(logging.INFO):
        status, body, _ = handle(url_event(body=push(status=1)), store)
    assert (status, body["settled"]) == (200, 0)
    assert store.status == {ItemKey("job", "N#0000000002"): "DELIVERED"}
    assert store.counts == Counter({"SUBMITTED": -1, "DELIVERED": 1})
    assert "Duplicate push" in caplog.text


def test_an_unknown_msg_id_is_logged_and_answered_200(caplog):
    with caplog.at_level(logging.WARNING):
        status, body, store = handle(url_event(body=push(msg_id="nope")))
    assert (status, body) == (200, {"status": "0", "received": 1, "settled": 0})
    assert "unknown msgId" in caplog.text
    assert store.counts == Counter()


@pytest.mark.parametrize(
    ("status_value", "expected"),
    [
        (0, "DELIVERED"),
        ("0", "DELIVERED"),
        (1, "UNDELIVERED"),
        ("1", "UNDELIVERED"),
        (-1, "SUBMITTED"),
        (5, "SUBMITTED"),
    ],
    ids=["int-0", "str-0", "int-1", "str-1", "still-sending", "undocumented"],
)
def test_the_status_moves_the_item_only_when_final(status_value, expected):
    _, _, store = handle(url_event(body=push(status=status_value)))
    assert store.status[ItemKey("job", "N#0000000002")] == expected


def test_a_push_keeps_time_reason_and_price_detail():
    body = push(
        reason="DELIVRD", timestamp=1_764_000_000_000, pricedetail={"pay": "0.0022", "currency": "USD", "chargeCnt": 1}
    )
    _, _, store = handle(url_event(body=body))
    ((report, source),) = store.reports
    assert (report.reason, report.receive_time, source) == ("DELIVRD", "2025-11-24T16:00:00+00:00", "push")
    assert report.price_detail == {"pay": "0.0022", "currency": "USD", "chargeCnt": "1"}


def test_a_list_of_reports_in_one_push_is_recorded_entry_by_entry():
    store = FakeStore({"m1": [ItemKey("job", "N#0000000002")], "m2": [ItemKey("job", "N#0000000003")]})
    body = json.dumps([{"msgid": "m1", "status": 0}, {"msgid": "m2", "status": 1}, {"no": "id"}])
    status, answer, _ = handle(url_event(body=body), store)
    assert (status, answer) == (200, {"status": "0", "received": 2, "settled": 2})
    assert store.counts == Counter({"SUBMITTED": -2, "DELIVERED": 1, "UNDELIVERED": 1})


def test_a_store_failure_answers_500_so_the_provider_may_push_again():
    store = FakeStore()
    store.broken = True
    status, body, _ = handle(url_event(body=push()), store)
    assert (status, body) == (500, {"error": "try again"})


class FakePages:
    def __init__(self, broken=False):
        self.asked = []
        self.broken = broken

    def refresh(self, job_id, now):
        self.asked.append((job_id, now))
        if self.broken:
            raise RuntimeError("S3 said no")
        return True


def test_the_pages_of_the_jobs_a_push_moved_are_offered_a_redraw_once_each_per_request():
    keys = {"m1": [ItemKey("a", "N#1")], "m2": [ItemKey("a", "N#2")], "m3": [ItemKey("b", "N#1")]}
    store, pages = FakeStore(keys), FakePages()
    body = json.dumps([{"msgid": m, "status": 0} for m in ("m1", "m2", "m3")])
    response = PushReceiver(store, lambda: TOKEN, clock=lambda: NOW, pages=pages).handle(url_event(body=body))
    assert response["statusCode"] == 200
    assert pages.asked == [("a", NOW), ("b", NOW)]


def test_a_push_that_moves_nothing_asks_for_no_redraw():
    store, pages = FakeStore(), FakePages()
    receiver = PushReceiver(store, lambda: TOKEN, clock=lambda: NOW, pages=pages)
    assert receiver.handle(url_event(body=push()))["statusCode"] == 200
    pages.asked.clear()
    for body in (push(), push(msg_id="nope"), push(status=99)):  # a duplicate, an unknown msgId, not final
        assert receiver.handle(url_event(body=body))["statusCode"] == 200
    assert pages.asked == []


def test_a_page_that_cannot_be_redrawn_is_logged_and_the_push_still_answers_200(caplog):
    store, pages = FakeStore(), FakePages(broken=True)
    with caplog.at_level(logging.ERROR):
        response = PushReceiver(store, lambda: TOKEN, clock=lambda: NOW, pages=pages).handle(url_event(body=push()))
    assert response["statusCode"] == 200
    assert store.counts == Counter({"SUBMITTED": -1, "DELIVERED": 1})
    assert "Report page not refreshed" in caplog.text


def test_a_malformed_event_without_request_context_is_not_a_crash():
    event = url_event(body=push())
    del event["requestContext"]
    status, _, _ = handle(event)
    assert status == 405


def test_the_token_never_appears_in_the_logs(caplog):
    with caplog.at_level(logging.DEBUG):
        handle(url_event(body=push(msg_id="nope")))
        handle(url_event(path="/wrong", body=push()))
    assert TOKEN not in caplog.text


class FakeSecrets:
    def __init__(self, value):
        self.value = value

    def get(self, name, transform=None, max_age=None):
        return self.value


@pytest.mark.parametrize(
    ("value", "token"),
    [
        ({"apiKey": "k", "pushToken": TOKEN}, TOKEN),
        ({"apiKey": "k", "pushToken": "too-short"}, ""),
        ({"apiKey": "k"}, ""),
        ({"apiKey": "k", "pushToken": 12345}, ""),
        ("not-an-object", ""),
    ],
    ids=["usable", "too-short", "missing", "not-a-string", "not-an-object"],
)
def test_the_expected_token_is_the_secrets_push_token_of_at_least_32_characters(value, token):
    assert PushToken(FakeSecrets(value), "smsdrop/gateway")() == token
