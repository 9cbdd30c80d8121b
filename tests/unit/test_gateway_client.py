import json
import logging

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from smsdrop.models import UNKNOWN_REASON, CallItem, JobStop, Outcome, Recipient, Status
from smsdrop.provider.codes import ProviderCode
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.retry import CallNotMade
from smsdrop.provider.send_client import GatewayClient, request_body
from smsdrop.provider.signing import sign
from tests.fixtures.scripted_http import ScriptedAdapter

BASE_URL = "https://api.example.test/sms"
CREDENTIALS = Credentials(api_key="bDqJFiq9", api_secret="s3cr3t-value", app_id="4luaKsL2")

# The provider's sample request body (sendSms-batch.txt), as printed on its page.
PROVIDER_SAMPLE = """{
    "appId": "4luaKsL2",
    "array": [
        {
            "numbers": "91856321412,91856321413",
            "content": "test message",
            "senderId": "",
            "orderId": "56584,56585"
        },
        {
            "numbers": "91856321414",
            "content": "test message1",
            "senderId": "",
            "orderId": "56586"
        }
    ]
}"""


def recipient(row, number, order_id, content="test message"):
    return Recipient(
        row=row, offset=0, number=number, country_code=91, content=content, sender_id="", order_id=order_id
    )


SAMPLE_ITEMS = (
    CallItem(
        "test message",
        "",
        (recipient(2, "91856321412", "56584"), recipient(3, "91856321413", "56585")),
    ),
    CallItem("test message1", "", (recipient(4, "91856321414", "56586", "test message1"),)),
)
ROWS = (2, 3, 4)


def accepted(*rows, status="0", fail_array=None, **extra):
    """The provider's answer accepting the sample rows given."""
    by_row = {r.row: r for item in SAMPLE_ITEMS for r in item.recipients}
    array = [{"msgId": f"m{row}", "number": by_row[row].number, "orderId": by_row[row].order_id} for row in rows]
    answer = {"status": status, "reason": "success", "success": str(len(rows)), "fail": "0", "array": array}
    if fail_array is not None:
        answer["failArray"] = fail_array
    return answer | extra


def failure(code, reason="failure"):
    return {"status": code, "reason": reason, "success": "0", "fail": "0", "array": []}


class Clock:
    def __init__(self, start=1_700_000_000.0):
        self.now = start

    def __call__(self):
        self.now += 1.0
        return self.now


def make_client(*answers, **options):
    adapter = ScriptedAdapter(*answers)
    sleeps = []
    options = {"sleep": sleeps.append, "clock": Clock(), "jitter": lambda: 1.0, **options}
    client = GatewayClient(BASE_URL, lambda: CREDENTIALS, adapter=adapter, **options)
    return client, adapter, sleeps


def connect_error():
    return requests.ConnectionError(MaxRetryError(None, BASE_URL, NewConnectionError(None, "refused")))


def every(outcome):
    return dict.fromkeys(ROWS, outcome)


# -- the request --------------------------------------------------------------------------------------


def test_the_body_is_the_providers_sample_byte_for_byte_in_compact_form():
    compact = json.dumps(json.loads(PROVIDER_SAMPLE), separators=(",", ":")).encode()
    assert request_body("4luaKsL2", SAMPLE_ITEMS) == compact


def test_the_body_keeps_non_ascii_content_as_utf8():
    item = CallItem("नमस्ते €", "Shop", (recipient(2, "919876543210", "a1"),))
    body = request_body("app", [item])
    assert "नमस्ते €".encode() in body
    assert json.loads(body)["array"][0]["senderId"] == "Shop"


def test_the_request_is_a_signed_post_to_the_batch_endpoint():
    client, adapter, _ = make_client(accepted(*ROWS), clock=lambda: 1630468800.7)
    client.send(SAMPLE_ITEMS)
    (request,) = adapter.requests
    assert (request.method, request.url) == ("POST", f"{BASE_URL}/sendSms/batch")
    assert request.body == request_body("4luaKsL2", SAMPLE_ITEMS)
    assert {k: request.headers[k] for k in ("Content-Type", "Api-Key", "Timestamp", "Sign")} == {
        "Content-Type": "application/json;charset=UTF-8",
        "Api-Key": "bDqJFiq9",
        "Timestamp": "1630468800",
        "Sign": sign("bDqJFiq9", "s3cr3t-value", 1630468800),
    }


def test_the_connect_and_read_timeouts_are_passed_on_every_attempt():
    client, adapter, _ = make_client(connect_error(), accepted(*ROWS), connect_timeout_s=1.5, read_timeout_s=9.0)
    client.send(SAMPLE_ITEMS)
    assert adapter.timeouts == [(1.5, 9.0), (1.5, 9.0)]


def test_credentials_are_asked_for_on_every_attempt_so_a_rotation_is_used():
    rotated = iter([CREDENTIALS, Credentials("bDqJFiq9", "rotated", "4luaKsL2")])
    adapter = ScriptedAdapter(failure("-18"), accepted(*ROWS))
    client = GatewayClient(BASE_URL, lambda: next(rotated), adapter=adapter, sleep=lambda _: None)
    client.send(SAMPLE_ITEMS)
    first, second = (r.headers for r in adapter.requests)
    assert first["Sign"] == sign("bDqJFiq9", "s3cr3t-value", first["Timestamp"])
    assert second["Sign"] == sign("bDqJFiq9", "rotated", second["Timestamp"])


def test_nothing_is_sent_for_a_call_without_recipients():
    client, adapter, _ = make_client()
    assert client.send([]) == {}
    assert adapter.requests == []
    assert client.stats.calls == 0


@pytest.mark.parametrize(
    "url",
    ["http://api.itniotech.com/sms", "ftp://api.itniotech.com/sms", "api.itniotech.com/sms"],
    ids=["http", "ftp", "no-scheme"],
)
def test_a_url_that_is_not_https_is_refused(url):
    with pytest.raises(ValueError, match="must use https"):
        GatewayClient(url, lambda: CREDENTIALS)


def test_plain_http_is_allowed_only_when_asked_for():
    client = GatewayClient("http://127.0.0.1:9/sms/", lambda: CREDENTIALS, allow_http=True)
    assert client.url == "http://127.0.0.1:9/sms/sendSms/batch"


# -- the answer ---------------------------------------------------------------------------------------


def test_each_accepted_number_is_submitted_with_its_msg_id():
    client, _, _ = make_client(accepted(*ROWS))
    assert client.send(SAMPLE_ITEMS) == {row: Outcome(Status.SUBMITTED, msg_id=f"m{row}") for row in ROWS}


def test_a_partial_success_fails_only_the_numbers_in_fail_array():
    fail = [{"msgId": "", "number": "91856321413", "reason": "-9 abnormal number"}]
    client, _, _ = make_client(accepted(2, 4, fail_array=fail, fail="1"))
    outcomes = client.send(SAMPLE_ITEMS)
    assert outcomes[3] == Outcome(Status.FAILED, reason="-9 abnormal number", provider_code="-9")
    assert outcomes[2].status == outcomes[4].status == Status.SUBMITTED


def test_a_carrier_reason_in_fail_array_is_kept_as_the_reason():
    fail = [{"msgId": "", "number": "91856321414", "reason": "DST_MCCMNC_LIMIT"}]
    client, _, _ = make_client(accepted(2, 3, fail_array=fail))
    assert client.send(SAMPLE_ITEMS)[4] == Outcome(Status.FAILED, reason="DST_MCCMNC_LIMIT")


NOT_ACKNOWLEDGED = Outcome(Status.UNKNOWN, reason="not acknowledged")


@pytest.mark.parametrize(
    ("answer", "outcomes"),
    [
        (
            accepted(2, 4),
            {2: Outcome(Status.SUBMITTED, msg_id="m2"), 3: NOT_ACKNOWLEDGED, 4: Outcome(Status.SUBMITTED, msg_id="m4")},
        ),
        (accepted(), every(NOT_ACKNOWLEDGED)),
        ({"status": "0", "reason": "success"}, every(NOT_ACKNOWLEDGED)),
        (
            accepted(2, fail_array=[{"number": "91856321413", "reason": "-9 abnormal number"}]),
            {
                2: Outcome(Status.SUBMITTED, msg_id="m2"),
                3: Outcome(Status.FAILED, reason="-9 abnormal number", provider_code="-9"),
                4: NOT_ACKNOWLEDGED,
            },
        ),
        (
            accepted(2, status="-18", reason="busy"),
            {2: Outcome(Status.SUBMITTED, msg_id="m2")}
            | dict.fromkeys((3, 4), Outcome(Status.UNKNOWN, reason="not acknowledged", provider_code="-18")),
        ),
    ],
    ids=[
        "success-one-missing",
        "success-empty-array",
        "success-no-lists",
        "one-in-each-list",
        "failed-status-partly-accepted",
    ],
)
def test_a_number_the_answer_does_not_mention_is_unknown_as_not_acknowledged_and_never_resent(answer, outcomes):
    client, adapter, _ = make_client(answer)
    assert client.send(SAMPLE_ITEMS) == outcomes
    assert len(adapter.requests) == 1


def test_a_fail_array_entry_without_a_reason_is_failed_as_refused_by_the_provider():
    client, _, _ = make_client(accepted(2, 3, fail_array=[{"number": "91856321414"}]))
    assert client.send(SAMPLE_ITEMS)[4] == Outcome(Status.FAILED, reason="refused by the provider (no reason given)")


def test_entries_are_matched_by_order_id_before_number():
    same_number = CallItem("a", "", (recipient(2, "91856321412", "first"), recipient(3, "91856321412", "second")))
    answer = {
        "status": "0",
        "array": [
            {"msgId": "for-second", "number": "91856321412", "orderId": "second"},
            {"msgId": "for-first", "number": "91856321412", "orderId": "first"},
        ],
    }
    client, _, _ = make_client(answer)
    outcomes = client.send([same_number])
    assert (outcomes[2].msg_id, outcomes[3].msg_id) == ("for-first", "for-second")


def test_entries_without_order_id_fall_back_to_the_first_unclaimed_same_number():
    same_number = CallItem("a", "", (recipient(2, "91856321412", "x"), recipient(3, "91856321412", "y")))
    answer = {"status": "0", "array": [{"msgId": "one", "number": "91856321412"}], "failArray": []}
    answer["failArray"] = [{"number": "91856321412", "reason": "-28 limit"}]
    client, _, _ = make_client(answer)
    outcomes = client.send([same_number])
    assert outcomes[2] == Outcome(Status.SUBMITTED, msg_id="one")
    assert outcomes[3] == Outcome(Status.FAILED, reason="-28 limit", provider_code="-28")


def test_numbers_a_failed_status_lists_in_fail_array_are_failed_with_the_status_when_their_entry_has_no_reason():
    fail = [{"number": "91856321413"}]
    client, _, _ = make_client(accepted(2, status="-9", reason="bad", fail_array=fail))
    reason = f"{ProviderCode('-9').message} (provider: bad)"
    assert client.send(SAMPLE_ITEMS)[3] == Outcome(Status.FAILED, reason=reason, provider_code="-9")


STOP_CODES = ["-1", "-2", "-10", "-13", "-19", "-30", "-31", "-32"]
REJECT_CODES = ["-3", "-4", "-5", "-6", "-7", "-8", "-9", "-22", "-28"]
RETRY_CODES = ["-12", "-15", "-16", "-18", "-27"]


@pytest.mark.parametrize("code", STOP_CODES, ids=[f"code{c}" for c in STOP_CODES])
def test_a_stop_code_stops_the_job(code):
    client, _, _ = make_client(failure(code, "refused"))
    with pytest.raises(JobStop) as stopped:
        client.send(SAMPLE_ITEMS)
    assert stopped.value.code == code
    assert stopped.value.reason == f"{ProviderCode(code).message} (provider: refused)"


@pytest.mark.parametrize("code", REJECT_CODES, ids=[f"code{c}" for c in REJECT_CODES])
def test_a_reject_code_fails_every_number_of_the_call_with_the_providers_reason(code):
    client, adapter, _ = make_client(failure(code, "said no"))
    reason = f"{ProviderCode(code).message} (provider: said no)"
    assert client.send(SAMPLE_ITEMS) == every(Outcome(Status.FAILED, reason=reason, provider_code=code))
    assert len(adapter.requests) == 1


@pytest.mark.parametrize("code", RETRY_CODES, ids=[f"code{c}" for c in RETRY_CODES])
def test_a_retry_code_resends_the_call_until_it_is_accepted(code):
    client, adapter, _ = make_client(failure(code), failure(code), accepted(*ROWS))
    assert {o.status for o in client.send(SAMPLE_ITEMS).values()} == {Status.SUBMITTED}
    assert len(adapter.requests) == 3


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ((400, b"bad"), Outcome(Status.FAILED, "the gateway refused the request with HTTP 400", "HTTP 400")),
        ((413, b"big"), Outcome(Status.FAILED, "the gateway refused the request with HTTP 413", "HTTP 413")),
        ((200, b"<html>ok</html>"), Outcome(Status.UNKNOWN, UNKNOWN_REASON)),
        ((200, b'["not", "an", "object"]'), Outcome(Status.UNKNOWN, UNKNOWN_REASON)),
        ((200, b'{"reason": "no status"}'), Outcome(Status.UNKNOWN, UNKNOWN_REASON)),
        (requests.exceptions.ChunkedEncodingError("cut"), Outcome(Status.UNKNOWN, UNKNOWN_REASON)),
    ],
    ids=[
        "http-400",
        "http-413",
        "non-json-200",
        "json-not-object",
        "json-without-status",
        "broken-body",
    ],
)
def test_an_answer_that_settles_the_call_at_once(answer, outcome):
    client, adapter, sleeps = make_client(answer)
    assert client.send(SAMPLE_ITEMS) == every(outcome)
    assert (len(adapter.requests), sleeps) == (1, [])


@pytest.mark.parametrize("http", [301, 401, 403, 404], ids=["redirect", "401", "403", "404"])
def test_an_http_status_that_no_call_can_get_past_stops_the_job(http):
    client, _, _ = make_client((http, b""))
    with pytest.raises(JobStop, match=f"HTTP {http}.*check GATEWAY_URL"):
        client.send(SAMPLE_ITEMS)


RETRIED, AMBIGUOUS = "retried", "UNKNOWN"
READ_RESET = requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")))
# (name, first answer, retry_server_errors, what the client does with it)
FIRST_ANSWERS = [
    ("http-408", (408, b""), False, RETRIED),
    ("http-429", (429, b""), False, RETRIED),
    ("http-503", (503, b""), False, RETRIED),
    ("http-503", (503, b""), True, RETRIED),
    ("connect-refused", connect_error(), False, RETRIED),
    ("connect-timeout", requests.ConnectTimeout("slow"), False, RETRIED),
    ("http-500", (500, b""), False, AMBIGUOUS),
    ("http-502", (502, b""), False, AMBIGUOUS),
    ("http-504", (504, b""), False, AMBIGUOUS),
    ("http-501", (501, b""), False, AMBIGUOUS),
    ("http-500", (500, b""), True, RETRIED),
    ("http-502", (502, b""), True, RETRIED),
    ("http-504", (504, b""), True, RETRIED),
    ("read-timeout", requests.ReadTimeout("read timed out"), False, AMBIGUOUS),
    ("read-timeout", requests.ReadTimeout("read timed out"), True, AMBIGUOUS),
    ("reset-while-reading", READ_RESET, True, AMBIGUOUS),
    ("non-json-200", (200, b"<html>ok</html>"), True, AMBIGUOUS),
]


@pytest.mark.parametrize(
    ("first", "retry_server_errors", "then"),
    [row[1:] for row in FIRST_ANSWERS],
    ids=[f"{name}-{'retry-5xx' if retry else 'default'}" for name, _, retry, _ in FIRST_ANSWERS],
)
def test_an_answer_that_says_nothing_was_processed_is_retried_and_an_ambiguous_one_is_unknown(
    first, retry_server_errors, then
):
    client, adapter, sleeps = make_client(first, accepted(*ROWS), retry_server_errors=retry_server_errors)
    outcomes = client.send(SAMPLE_ITEMS)
    if then == RETRIED:
        assert {o.status for o in outcomes.values()} == {Status.SUBMITTED}
        assert (len(adapter.requests), sleeps) == (2, [0.5])
        assert client.take_counts() == {"GatewayRetries": 1, "AmbiguousAnswers": 0}
    else:
        code = f"HTTP {first[0]}" if isinstance(first, tuple) and first[0] >= 500 else None
        assert outcomes == every(Outcome(Status.UNKNOWN, reason=UNKNOWN_REASON, provider_code=code))
        assert (len(adapter.requests), sleeps) == (1, [])
        assert client.take_counts() == {"GatewayRetries": 0, "AmbiguousAnswers": 1}
    assert client.take_counts() == {"GatewayRetries": 0, "AmbiguousAnswers": 0}


def test_server_errors_retried_by_choice_until_attempts_run_out_leave_the_numbers_unknown():
    client, adapter, _ = make_client((502, b""), (503, b""), (503, b""), max_attempts=3, retry_server_errors=True)
    reason = "request may have reached the provider (an answer was ambiguous); gave up after 3 attempts: "
    reason += "the gateway answered HTTP 503"
    assert client.send(SAMPLE_ITEMS) == every(Outcome(Status.UNKNOWN, reason=reason, provider_code="HTTP 503"))
    assert len(adapter.requests) == 3
    assert client.take_counts() == {"GatewayRetries": 2, "AmbiguousAnswers": 1}


# -- retries ------------------------------------------------------------------------------------------


def test_retries_back_off_exponentially_with_full_jitter():
    client, _, sleeps = make_client(*[failure("-18")] * 4, accepted(*ROWS), jitter=lambda: 0.5)
    client.send(SAMPLE_ITEMS)
    assert sleeps == [0.25, 0.5, 1.0, 2.0]


def test_the_backoff_is_capped():
    client, _, sleeps = make_client(
        *[(503, b"")] * 6, max_attempts=6, backoff_base_s=1.0, backoff_max_s=3.0, jitter=lambda: 1.0
    )
    client.send(SAMPLE_ITEMS)
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


def test_when_attempts_run_out_every_number_fails_with_the_last_code():
    client, adapter, _ = make_client(failure("-15"), failure("-18", "busy"), max_attempts=2)
    reason = f"gave up after 2 attempts: -18 {ProviderCode('-18').message} (provider: busy)"
    assert client.send(SAMPLE_ITEMS) == every(Outcome(Status.FAILED, reason=reason, provider_code="-18"))
    assert len(adapter.requests) == 2


def test_connect_errors_that_never_end_fail_the_numbers_without_a_provider_code():
    client, _, _ = make_client(*[connect_error()] * 3, max_attempts=3)
    reason = "gave up after 3 attempts: could not connect to the gateway (ConnectionError)"
    assert client.send(SAMPLE_ITEMS) == every(Outcome(Status.FAILED, reason=reason))


def test_an_expired_timestamp_is_re_signed_and_resent_at_once():
    client, adapter, sleeps = make_client(failure("-16"), accepted(*ROWS))
    client.send(SAMPLE_ITEMS)
    first, second = (r.headers for r in adapter.requests)
    assert sleeps == []
    assert int(second["Timestamp"]) > int(first["Timestamp"])
    assert second["Sign"] == sign("bDqJFiq9", "s3cr3t-value", second["Timestamp"]) != first["Sign"]


def test_an_expired_timestamp_is_retried_only_up_to_max_attempts():
    client, adapter, _ = make_client(*[failure("-16")] * 3, max_attempts=3)
    assert {o.provider_code for o in client.send(SAMPLE_ITEMS).values()} == {"-16"}
    assert len(adapter.requests) == 3


def test_stats_count_calls_attempts_retries_and_numbers():
    client, _, _ = make_client(failure("-18"), accepted(*ROWS), requests.ReadTimeout())
    client.send(SAMPLE_ITEMS)
    client.send(SAMPLE_ITEMS[1:])
    stats = client.stats
    assert (stats.calls, stats.attempts, stats.retries, stats.numbers) == (2, 3, 1, 4)


# -- what is never shown ------------------------------------------------------------------------------


def test_an_undocumented_code_is_logged_and_rejected_with_the_number_masked(caplog):
    client, _, _ = make_client(failure("-77", "number 91856321412 blocked"))
    with caplog.at_level(logging.DEBUG, logger="smsdrop.provider.send_client"):
        outcomes = client.send(SAMPLE_ITEMS)
    assert outcomes == every(Outcome(Status.FAILED, reason="number ••••1412 blocked", provider_code="-77"))
    (record,) = caplog.records
    assert (record.code, record.reason) == ("-77", "number ••••1412 blocked")


def test_a_job_stop_never_carries_a_full_number():
    client, _, _ = make_client(failure("-1", "bad key for 91856321412"))
    with pytest.raises(JobStop) as stopped:
        client.send(SAMPLE_ITEMS)
    assert "91856321412" not in str(stopped.value)
    assert "••••1412" in str(stopped.value)


def test_logs_of_retries_and_ambiguous_calls_show_no_secret_sign_or_number(caplog):
    client, adapter, _ = make_client(
        failure("-18", "busy 91856321413"), (503, b""), connect_error(), requests.ReadTimeout()
    )
    with caplog.at_level(logging.DEBUG):
        client.send(SAMPLE_ITEMS)
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    signs = {r.headers["Sign"] for r in adapter.requests}
    forbidden = {"s3cr3t-value", "91856321412", "91856321413", "91856321414", *signs}
    assert len(caplog.records) >= 4
    assert not [text for text in forbidden if text in logged]


# -- the deadline -------------------------------------------------------------------------------------


class Deadline:
    """Seconds left to the caller's deadline, on a clock the client's sleeps move (no real time passes)."""

    def __init__(self, left):
        self.left = left

    def __call__(self):
        return self.left

    def sleep(self, seconds):
        self.left -= seconds


def test_no_attempt_waits_for_its_answer_past_the_deadline():
    deadline = Deadline(4.0)
    client, adapter, _ = make_client(accepted(*ROWS), connect_timeout_s=3.05, read_timeout_s=30.0)
    client.send(SAMPLE_ITEMS, deadline)
    assert adapter.timeouts == [(3.05, 4.0)]


def test_a_call_the_deadline_leaves_no_time_to_make_is_not_made_and_says_so():
    client, adapter, _ = make_client(accepted(*ROWS))
    with pytest.raises(CallNotMade, match="out of time after 0 attempt"):
        client.send(SAMPLE_ITEMS, Deadline(0.05))
    assert adapter.requests == []


def test_retries_stop_before_a_wait_would_end_past_the_deadline_and_the_numbers_are_not_sent():
    deadline = Deadline(1.4)
    client, adapter, _ = make_client(failure("-18"), failure("-18"), accepted(*ROWS), sleep=deadline.sleep)
    with pytest.raises(CallNotMade, match="out of time after 2 attempt"):
        client.send(SAMPLE_ITEMS, deadline)  # waits 0.5 s; the next wait (1 s) would leave less than an attempt needs
    assert (len(adapter.requests), deadline.left) == (2, pytest.approx(0.9))


def test_a_deadline_after_an_ambiguous_answer_leaves_the_numbers_unknown_never_not_sent():
    deadline = Deadline(0.55)
    client, adapter, _ = make_client((502, b""), accepted(*ROWS), retry_server_errors=True, sleep=deadline.sleep)
    outcomes = client.send(SAMPLE_ITEMS, deadline)
    assert {o.status for o in outcomes.values()} == {Status.UNKNOWN}
    assert next(iter(outcomes.values())).reason.startswith("request may have reached the provider")
    assert len(adapter.requests) == 1
