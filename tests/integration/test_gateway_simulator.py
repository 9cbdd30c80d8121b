"""The simulator answers as the provider does, and the real client handles its answers and faults."""

import json
import socket
import threading
import time

import pytest
import requests

from local.gateway_sim import GatewaySimulator
from smsdrop.models import UNKNOWN_REASON, CallItem, JobStop, Outcome, Recipient, Status
from smsdrop.provider.credentials import Credentials
from smsdrop.provider.send_client import GatewayClient
from smsdrop.provider.signing import sign, signed_headers


def call(numbers, content="hello", prefix="o", start_row=2):
    recipients = tuple(
        Recipient(
            row=start_row + i,
            offset=0,
            number=n,
            country_code=91,
            content=content,
            sender_id="",
            order_id=f"{prefix}{start_row + i}",
        )
        for i, n in enumerate(numbers)
    )
    return [CallItem(content, "", recipients)]


def numbers(count, first=919800000000):
    return [str(first + i) for i in range(count)]


def post(sim, payload, *, key=None, secret=None, skew_s=0, sign_case=str.lower):
    headers = signed_headers(key or sim.api_key, secret or sim.api_secret, int(time.time()) + skew_s)
    headers["Sign"] = sign_case(headers["Sign"])
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return requests.post(f"{sim.base_url}/sendSms/batch", data=body, headers=headers, timeout=5).json()


def batch(sim, *items, app_id=None):
    return {"appId": app_id or sim.app_id, "array": list(items)}


def item(nums="919800000001", content="hi", order_ids=None):
    entry = {"numbers": nums, "content": content, "senderId": ""}
    if order_ids is not None:
        entry["orderId"] = order_ids
    return entry


def statuses(outcomes):
    return {o.status for o in outcomes.values()}


# -- the provider's checks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"key": "wrong-key"}, "-1"),
        ({"secret": "wrong-secret"}, "-1"),
        ({"skew_s": -31 * 60}, "-16"),
        ({"skew_s": 31 * 60}, "-16"),
        ({"sign_case": str.upper}, "0"),
        ({"skew_s": -29 * 60}, "0"),
    ],
    ids=["bad-key", "bad-sign", "old-timestamp", "future-timestamp", "upper-case-sign", "29-minutes-old"],
)
def test_the_simulator_checks_key_sign_and_timestamp_as_the_provider(simulator, change, status):
    assert post(simulator, batch(simulator, item()), **change)["status"] == status


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        (b"{not json", "-22", "Parameter exception"),
        ({"appId": "test-app"}, "-22", "Parameter exception"),
        ({"appId": "other-app", "array": [item()]}, "-1", "Authentication error"),
        ({"appId": "test-app", "array": [item(content="")]}, "-4", "SMS content is empty"),
        ({"appId": "test-app", "array": [item(content="x" * 1025)]}, "-5", "The SMS content is too long"),
        ({"appId": "test-app", "array": [item(nums="")]}, "-8", "The phone number is empty"),
        (
            {"appId": "test-app", "array": [item(nums=",".join(numbers(600))), item(nums=",".join(numbers(401)))]},
            "-7",
            "Phone number exceeds limit",
        ),
        ({"appId": "test-app", "array": [item(nums="919800000001,919800000002", order_ids="a")]}, "-22", None),
        ({"appId": "test-app", "array": [item(nums="12ab,1234")]}, "-9", "Abnormal phone number"),
    ],
    ids=[
        "malformed-json",
        "missing-array",
        "wrong-app-id",
        "empty-content",
        "content-over-1024",
        "empty-numbers",
        "over-1000-numbers-in-the-call",
        "order-id-count-mismatch",
        "no-valid-number",
    ],
)
def test_each_body_error_gets_the_providers_status(simulator, body, status, reason):
    answer = post(simulator, body)
    assert answer["status"] == status
    assert reason is None or answer["reason"] == reason
    assert simulator.audit().accepted == []


def test_a_body_at_the_limits_is_accepted(simulator):
    answer = post(simulator, batch(simulator, item(nums=",".join(numbers(1000)), content="x" * 1024)))
    assert (answer["status"], answer["success"], answer["fail"]) == ("0", "1000", "0")


def test_an_abnormal_number_goes_to_fail_array_while_the_rest_are_accepted(simulator):
    answer = post(simulator, batch(simulator, item(nums="919800000001,12ab,123456,9198000000", order_ids="a,b,c,d")))
    assert (answer["status"], answer["success"], answer["fail"]) == ("0", "2", "2")
    assert [e["number"] for e in answer["array"]] == ["919800000001", "9198000000"]
    assert answer["failArray"] == [
        {"msgId": "", "number": "12ab", "reason": "-9 abnormal number"},
        {"msgId": "", "number": "123456", "reason": "-9 abnormal number"},
    ]


def test_the_success_answer_has_string_counts_and_a_unique_msg_id_per_number(simulator):
    answer = post(simulator, batch(simulator, item(nums="919800000001,919800000002", order_ids="a,b"), item()))
    assert (answer["status"], answer["reason"], answer["success"], answer["fail"]) == ("0", "success", "3", "0")
    assert [e["orderId"] for e in answer["array"]] == ["a", "b", ""]
    assert len({e["msgId"] for e in answer["array"]}) == 3
    assert all(isinstance(e["msgId"], str) and e["msgId"].isdigit() for e in answer["array"])


# -- the client against the simulator -----------------------------------------------------------------


def test_the_client_submits_every_number_and_the_audit_matches(simulator, gateway_client):
    outcomes = gateway_client.send(call(numbers(5)) + call(numbers(3, 919700000000), "other", start_row=10))
    audit = simulator.audit()
    assert statuses(outcomes) == {Status.SUBMITTED}
    assert {(a.number, a.order_id, a.msg_id) for a in audit.accepted} == {
        (n, f"o{row}", outcomes[row].msg_id)
        for row, n in [
            *zip(range(2, 7), numbers(5), strict=True),
            *zip(range(10, 13), numbers(3, 919700000000), strict=True),
        ]
    }
    assert (audit.calls, audit.duplicate_order_ids, audit.duplicate_numbers) == (1, 0, 0)


def test_the_client_fails_abnormal_numbers_from_fail_array(simulator, gateway_client):
    outcomes = gateway_client.send(call(["919800000001", "91980000000123456", "919800000002"]))
    assert outcomes[3] == Outcome(Status.FAILED, reason="-9 abnormal number", provider_code="-9")
    assert outcomes[2].status == outcomes[4].status == Status.SUBMITTED


def test_a_wrong_secret_stops_the_job(simulator):
    wrong = Credentials("test-key", "wrong", "test-app")
    with (
        GatewayClient(simulator.base_url, lambda: wrong, allow_http=True) as client,
        pytest.raises(JobStop) as stopped,
    ):
        client.send(call(numbers(2)))
    assert stopped.value.code == "-1"


def test_a_clock_30_minutes_off_is_retried_at_once_then_given_up(simulator, gateway_credentials):
    sleeps = []
    with GatewayClient(
        simulator.base_url,
        lambda: gateway_credentials,
        allow_http=True,
        max_attempts=3,
        sleep=sleeps.append,
        clock=lambda: time.time() - 3600,
    ) as client:
        outcomes = client.send(call(numbers(2)))
    assert {(o.status, o.provider_code) for o in outcomes.values()} == {(Status.FAILED, "-16")}
    assert all(o.reason.startswith("gave up after 3 attempts: -16") for o in outcomes.values())
    assert (sleeps, simulator.audit().calls) == ([], 3)


def test_a_stalled_answer_is_unknown_not_retried_and_accepted_once(simulator, gateway_credentials):
    simulator.set_faults(stall_rate=1.0, stall_s=5.0)
    with GatewayClient(simulator.base_url, lambda: gateway_credentials, allow_http=True, read_timeout_s=0.3) as c:
        outcomes = c.send(call(numbers(4)))
        assert (c.stats.attempts, c.stats.retries) == (1, 0)
    assert outcomes == dict.fromkeys(range(2, 6), Outcome(Status.UNKNOWN, reason=UNKNOWN_REASON))
    audit = simulator.audit()
    assert (len(audit.accepted), audit.calls, audit.duplicate_order_ids) == (4, 1, 0)


def test_a_reset_connection_is_unknown_and_nothing_was_accepted(simulator, gateway_client):
    simulator.set_faults(reset_rate=1.0)
    outcomes = gateway_client.send(call(numbers(3)))
    assert statuses(outcomes) == {Status.UNKNOWN}
    assert (gateway_client.stats.attempts, simulator.audit().accepted) == (1, [])


def test_a_500_is_unknown_and_not_resent_though_the_simulator_accepted_nothing(simulator, gateway_client):
    simulator.set_faults(http_500_rate=1.0)
    outcomes = gateway_client.send(call(numbers(3)))
    assert outcomes == dict.fromkeys(range(2, 5), Outcome(Status.UNKNOWN, UNKNOWN_REASON, "HTTP 500"))
    assert (gateway_client.stats.attempts, simulator.audit().calls, simulator.audit().accepted) == (1, 1, [])


def test_a_500_then_success_is_retried_and_accepted_once_when_server_errors_may_be_retried(
    simulator, gateway_credentials
):
    simulator.set_faults(http_500_rate=1.0)
    with GatewayClient(
        simulator.base_url,
        lambda: gateway_credentials,
        allow_http=True,
        retry_server_errors=True,
        sleep=lambda _: simulator.set_faults(http_500_rate=0.0),
    ) as client:
        outcomes = client.send(call(numbers(3)))
        assert (client.stats.attempts, client.stats.retries) == (2, 1)
    assert statuses(outcomes) == {Status.SUBMITTED}
    audit = simulator.audit()
    assert (len(audit.accepted), audit.calls, audit.duplicate_order_ids) == (3, 2, 0)


@pytest.mark.parametrize("http", [500, 502, 504], ids=["http-500", "http-502", "http-504"])
def test_the_simulator_can_accept_a_call_and_then_answer_a_server_error(simulator, http):
    simulator.set_faults(accept_then_5xx_rate=1.0, accept_then_5xx_status=http)
    headers = signed_headers(simulator.api_key, simulator.api_secret, int(time.time()))
    body = json.dumps(batch(simulator, item(nums="919800000001,919800000002", order_ids="a,b"))).encode()
    answer = requests.post(f"{simulator.base_url}/sendSms/batch", data=body, headers=headers, timeout=5)
    assert answer.status_code == http
    assert "msgId" not in answer.text
    assert [(a.number, a.order_id) for a in simulator.audit().accepted] == [
        ("919800000001", "a"),
        ("919800000002", "b"),
    ]


@pytest.mark.parametrize("http", [502, 504], ids=["http-502", "http-504"])
def test_a_server_error_after_the_simulator_accepted_is_unknown_and_accepted_only_once(simulator, gateway_client, http):
    simulator.set_faults(accept_then_5xx_rate=1.0, accept_then_5xx_status=http)
    outcomes = gateway_client.send(call(numbers(4)))
    assert outcomes == dict.fromkeys(range(2, 6), Outcome(Status.UNKNOWN, UNKNOWN_REASON, f"HTTP {http}"))
    audit = simulator.audit()
    assert (len(audit.accepted), audit.calls, audit.duplicate_order_ids, audit.duplicate_numbers) == (4, 1, 0, 0)


def test_retrying_server_errors_resends_a_call_the_simulator_had_accepted_which_is_why_it_is_off_by_default(
    simulator, gateway_credentials
):
    simulator.set_faults(accept_then_5xx_rate=1.0, accept_then_5xx_status=502)
    with GatewayClient(
        simulator.base_url,
        lambda: gateway_credentials,
        allow_http=True,
        retry_server_errors=True,
        sleep=lambda _: simulator.set_faults(accept_then_5xx_rate=0.0),
    ) as client:
        assert statuses(client.send(call(numbers(2)))) == {Status.SUBMITTED}
    audit = simulator.audit()
    assert (len(audit.accepted), audit.calls, audit.duplicate_order_ids, audit.duplicate_numbers) == (4, 2, 2, 2)


def test_a_server_error_status_that_is_not_5xx_is_refused_by_the_fault_control(simulator):
    control = simulator.base_url.removesuffix("/sms")
    answer = requests.post(f"{control}/_faults", json={"accept_then_5xx_status": 200}, timeout=5)
    assert answer.status_code == 400
    assert "5xx" in answer.json()["error"]
    assert simulator.faults.accept_then_5xx_status == 502


@pytest.mark.parametrize(
    ("fault", "code", "backoffs"),
    [("code_18_rate", "-18", 2), ("code_16_rate", "-16", 0)],
    ids=["port-program-unusual", "timestamp-expires"],
)
def test_injected_retry_codes_are_retried_then_given_up(simulator, gateway_credentials, fault, code, backoffs):
    simulator.set_faults(**{fault: 1.0})
    sleeps = []
    with GatewayClient(
        simulator.base_url, lambda: gateway_credentials, allow_http=True, max_attempts=3, sleep=sleeps.append
    ) as client:
        outcomes = client.send(call(numbers(2)))
    assert {o.provider_code for o in outcomes.values()} == {code}
    assert (len(sleeps), simulator.audit().calls, simulator.audit().accepted) == (backoffs, 3, [])


def test_a_refused_connection_is_retried_then_failed(gateway_credentials):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sleeps = []
    with GatewayClient(
        f"http://127.0.0.1:{port}/sms", lambda: gateway_credentials, allow_http=True, sleep=sleeps.append
    ) as client:
        outcomes = client.send(call(numbers(2)))
    assert {o.status for o in outcomes.values()} == {Status.FAILED}
    assert outcomes[2].reason == "gave up after 5 attempts: could not connect to the gateway (ConnectionError)"
    assert len(sleeps) == 4


def test_balance_exhaustion_stops_the_job_and_accepts_nothing_more(simulator, gateway_client):
    simulator.set_faults(balance=5)
    assert statuses(gateway_client.send(call(numbers(3), prefix="a"))) == {Status.SUBMITTED}
    with pytest.raises(JobStop) as stopped:
        gateway_client.send(call(numbers(3, 919700000000), prefix="b"))
    assert stopped.value.code == "-10"
    assert (len(simulator.audit().accepted), simulator.balance) == (3, 2)


def test_a_forced_status_answers_every_call(simulator, gateway_client):
    simulator.set_faults(forced_status="-3")
    outcomes = gateway_client.send(call(numbers(2)))
    assert {(o.status, o.provider_code) for o in outcomes.values()} == {(Status.FAILED, "-3")}
    assert simulator.audit().accepted == []


def test_latency_delays_the_answer(simulator, gateway_client):
    simulator.set_faults(latency_ms=100)
    started = time.monotonic()
    gateway_client.send(call(numbers(1)))
    assert time.monotonic() - started >= 0.1


def test_eight_threads_sharing_one_client_get_every_number_accepted_once(simulator, gateway_client):
    threads, calls, per_call = 8, 25, 40
    results = []

    def worker(t):
        for c in range(calls):
            first_row = (t * calls + c) * per_call
            results.append(gateway_client.send(call(numbers(per_call, 919000000000 + first_row), start_row=first_row)))

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    audit = simulator.audit()
    total = threads * calls * per_call
    assert sum(len(r) for r in results) == total
    assert all(statuses(r) == {Status.SUBMITTED} for r in results)
    assert (len(audit.accepted), audit.calls, audit.duplicate_order_ids, audit.duplicate_numbers) == (
        total,
        threads * calls,
        0,
        0,
    )
    assert (gateway_client.stats.calls, gateway_client.stats.attempts) == (threads * calls, threads * calls)


# -- audit, faults and reports over HTTP --------------------------------------------------------------


def test_the_audit_counts_a_number_sent_twice_with_the_same_content(simulator, gateway_client):
    gateway_client.send(call(["919800000001"], prefix="a"))
    gateway_client.send(call(["919800000001"], prefix="a"))
    gateway_client.send(call(["919800000001"], content="other", prefix="b"))
    audit = simulator.audit()
    assert (len(audit.accepted), audit.duplicate_order_ids, audit.duplicate_numbers) == (3, 1, 1)
    simulator.reset_audit()
    assert simulator.audit() == type(audit)(accepted=[], calls=0, duplicate_order_ids=0, duplicate_numbers=0)


def test_faults_and_audit_are_reachable_over_http(simulator, gateway_client):
    control = simulator.base_url.removesuffix("/sms")
    assert (
        requests.post(f"{control}/_faults", json={"forced_status": "-10"}, timeout=5).json()["forced_status"] == "-10"
    )
    with pytest.raises(JobStop):
        gateway_client.send(call(numbers(1)))
    assert requests.post(f"{control}/_faults", json={"no_such_fault": 1}, timeout=5).status_code == 400
    requests.post(f"{control}/_faults", json={"forced_status": None}, timeout=5)
    gateway_client.send(call(numbers(1)))
    audit = requests.get(f"{control}/_audit", timeout=5).json()
    assert (audit["calls"], audit["duplicate_order_ids"]) == (2, 0)
    assert [a["number"] for a in audit["accepted"]] == numbers(1)


def report(sim, msg_ids, app_id=None, secret=None):
    timestamp = int(time.time())
    headers = {
        "Api-Key": sim.api_key,
        "Timestamp": str(timestamp),
        "Sign": sign(sim.api_key, secret or sim.api_secret, timestamp),
    }
    params = {"appId": app_id or sim.app_id, "msgIds": ",".join(msg_ids)}
    return requests.get(f"{sim.base_url}/getReport", params=params, headers=headers, timeout=5).json()


def test_get_report_tells_delivered_and_failed_per_msg_id(simulator, gateway_client):
    simulator.set_faults(delivered_ratio=0.5)
    outcomes = gateway_client.send(call(numbers(100)))
    msg_ids = [o.msg_id for o in outcomes.values()]
    answer = report(simulator, [*msg_ids, "999"])
    by_id = {e["msgId"]: e for e in answer["array"]}
    assert answer["status"] == "0"
    assert (int(answer["success"]) + int(answer["fail"]), answer["nofound"], answer["sending"]) == (100, "1", "0")
    assert 25 < int(answer["success"]) < 75
    assert {e["status"] for e in answer["array"]} == {"0", "1"}
    assert by_id[msg_ids[0]]["number"] == numbers(1)[0]
    assert report(simulator, msg_ids)["array"] == answer["array"]  # the same answer every time


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ({"msg_ids": [str(i) for i in range(201)]}, "-22"),
        ({"msg_ids": []}, "-22"),
        ({"msg_ids": ["1"], "app_id": "other"}, "-1"),
        ({"msg_ids": ["1"], "secret": "wrong"}, "-1"),
    ],
    ids=["over-200-ids", "no-ids", "wrong-app", "bad-sign"],
)
def test_get_report_checks_its_request(simulator, args, status):
    assert report(simulator, **args)["status"] == status


def test_the_simulator_can_run_outside_a_fixture_on_a_chosen_seed():
    with GatewaySimulator(api_key="k", api_secret="s", app_id="a", seed=7) as sim:
        assert sim.base_url.startswith("http://127.0.0.1:")
        client = GatewayClient(sim.base_url, lambda: Credentials("k", "s", "a"), allow_http=True)
        assert statuses(client.send(call(numbers(2)))) == {Status.SUBMITTED}
    with pytest.raises(RuntimeError, match="not started"):
        _ = sim.base_url
