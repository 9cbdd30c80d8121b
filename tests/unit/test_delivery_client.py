"""The getReport client: the request it makes, what it retries, and what ends a poll."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from smsdrop.delivery.receipts import Report
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.report_client import ReportClient, ReportRefused, ReportUnavailable
from smsdrop.provider.signing import sign
from tests.fixtures.scripted_http import ScriptedAdapter

BASE_URL = "https://api.example.test/sms"
CREDENTIALS = Credentials(api_key="bDqJFiq9", api_secret="s3cr3t-value", app_id="4luaKsL2")
NOW = 1_800_000_000


def make_client(*answers, attempts=3, clock=lambda: NOW):
    adapter = ScriptedAdapter(*answers)
    sleeps = []
    client = ReportClient(
        BASE_URL,
        lambda: CREDENTIALS,
        adapter=adapter,
        sleep=sleeps.append,
        clock=clock,
        jitter=lambda: 1.0,
        max_attempts=attempts,
    )
    return client, adapter, sleeps


def answer(*entries, status="0"):
    return {"status": status, "reason": "success", "success": "1", "fail": "0", "sending": "0", "array": list(entries)}


def test_a_call_is_a_signed_get_with_app_id_and_comma_separated_msg_ids():
    client, adapter, _ = make_client(answer())
    client.reports(["m1", "m2", "m3"])
    (request,) = adapter.requests
    parts = urlsplit(request.url)
    assert (request.method, parts.path) == ("GET", "/sms/getReport")
    assert "msgIds=m1,m2,m3" in parts.query
    assert parse_qs(parts.query) == {"appId": ["4luaKsL2"], "msgIds": ["m1,m2,m3"]}
    assert request.headers["Api-Key"] == CREDENTIALS.api_key
    assert request.headers["Timestamp"] == str(NOW)
    assert request.headers["Sign"] == sign(CREDENTIALS.api_key, CREDENTIALS.api_secret, NOW)


def test_the_reports_are_keyed_by_msg_id_and_unknown_ones_absent():
    client, _, _ = make_client(
        answer({"msgId": "m1", "number": "91", "receiveTime": "2025-11-24T16:00:00+00:00", "status": "0"})
    )
    assert client.reports(["m1", "m2"]) == {"m1": Report("m1", "0", "", "2025-11-24T16:00:00+00:00")}


@pytest.mark.parametrize("count", [0, 201], ids=["none", "over-200"])
def test_a_call_takes_1_to_200_msg_ids(count):
    client, adapter, _ = make_client()
    with pytest.raises(ValueError, match="200"):
        client.reports([f"m{n}" for n in range(count)])
    assert adapter.requests == []


FAILED_ATTEMPTS = [
    ("http-500", (500, b"oops")),
    ("http-502", (502, b"")),
    ("http-504", (504, b"")),
    ("http-503", (503, b"")),
    ("http-429", (429, b"")),
    ("http-408", (408, b"")),
    ("not-json", (200, b"<html>")),
    ("read-timeout", requests.ReadTimeout("slow")),
    ("connection-reset", requests.ConnectionError("reset")),
    ("timestamp-expired", answer(status="-16")),
    ("port-unusual", answer(status="-18")),
]


@pytest.mark.parametrize("first", [row[1] for row in FAILED_ATTEMPTS], ids=[row[0] for row in FAILED_ATTEMPTS])
def test_a_failed_attempt_even_an_ambiguous_5xx_is_retried_because_a_get_changes_nothing(first):
    client, adapter, sleeps = make_client(first, answer({"msgId": "m1", "status": "1"}))
    assert client.reports(["m1"])["m1"].code == "1"
    assert len(adapter.requests) == 2
    assert sleeps == [0.5]


def test_every_attempt_is_signed_afresh():
    ticks = iter([NOW, NOW + 7])
    client, adapter, _ = make_client((502, b""), answer(), clock=lambda: next(ticks))
    client.reports(["m1"])
    first, second = (r.headers for r in adapter.requests)
    assert (first["Timestamp"], second["Timestamp"]) == (str(NOW), str(NOW + 7))
    assert second["Sign"] == sign(CREDENTIALS.api_key, CREDENTIALS.api_secret, NOW + 7) != first["Sign"]


def test_the_provider_staying_down_makes_the_report_unavailable():
    client, adapter, sleeps = make_client((503, b""), (503, b""), (503, b""))
    with pytest.raises(ReportUnavailable, match="gave up after 3 attempts: HTTP 503"):
        client.reports(["m1"])
    assert (len(adapter.requests), sleeps) == (3, [0.5, 1.0])


@pytest.mark.parametrize(
    "code", ["-1", "-2", "-30", "-31", "-32"], ids=["auth", "ip", "key-disabled", "whitelist", "no-permission"]
)
def test_a_stop_class_answer_makes_the_report_unavailable_at_once(code):
    client, adapter, _ = make_client(answer(status=code))
    with pytest.raises(ReportUnavailable, match=code):
        client.reports(["m1"])
    assert len(adapter.requests) == 1


@pytest.mark.parametrize("code", ["-22", "-99"], ids=["parameter-exception", "undocumented"])
def test_a_reject_class_answer_refuses_this_call_only(code):
    client, _, _ = make_client(answer(status=code))
    with pytest.raises(ReportRefused) as raised:
        client.reports(["m1"])
    assert raised.value.code == code


def test_a_redirect_or_404_means_a_wrong_url_and_is_not_retried():
    client, adapter, _ = make_client((404, b"not found"))
    with pytest.raises(ReportUnavailable, match="HTTP 404"):
        client.reports(["m1"])
    assert len(adapter.requests) == 1


@pytest.mark.parametrize("url", ["http://api.example.test/sms", "ftp://x/sms"], ids=["http", "ftp"])
def test_only_https_is_accepted_unless_http_is_allowed(url):
    with pytest.raises(ValueError, match="https"):
        ReportClient(url, lambda: CREDENTIALS)
    if url.startswith("http:"):
        assert ReportClient(url, lambda: CREDENTIALS, allow_http=True).url == url + "/getReport"
