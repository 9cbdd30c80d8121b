"""Delivery reports: lenient reading of getReport entries and pushes, and which statuses are verdicts."""

import pytest

from smsdrop.delivery.receipts import Report, iso_time, push_reports, report_entries, status_code
from smsdrop.models import Status


@pytest.mark.parametrize(
    ("value", "code"),
    [(0, "0"), (1, "1"), (-1, "-1"), ("0", "0"), (" 1 ", "1"), ("-1", "-1"), (1.0, "1"), (None, ""), (True, "")],
    ids=["int-0", "int-1", "int-minus-1", "str-0", "padded", "str-minus-1", "float", "none", "bool"],
)
def test_a_status_reads_the_same_as_int_or_string(value, code):
    assert status_code(value) == code


@pytest.mark.parametrize(
    ("code", "verdict"),
    [("0", Status.DELIVERED), ("1", Status.UNDELIVERED), ("-1", None), ("2", None), ("", None)],
    ids=["delivered", "failed", "still-sending", "undocumented", "missing"],
)
def test_only_delivered_and_failed_are_verdicts(code, verdict):
    assert Report("m1", code).verdict is verdict


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        (1_764_000_000_000, "2025-11-24T16:00:00+00:00"),
        ("1764000000000", "2025-11-24T16:00:00+00:00"),
        (1_764_000_000, "2025-11-24T16:00:00+00:00"),
        ("2025-11-24T16:00:00+00:00", "2025-11-24T16:00:00+00:00"),
        ("2025-11-24 16:00:00", "2025-11-24 16:00:00"),
        (None, ""),
        (10**20, ""),
    ],
    ids=["ms", "ms-string", "seconds", "iso-kept", "provider-format-kept", "missing", "absurd"],
)
def test_a_receive_time_becomes_iso_8601_utc_or_is_kept_as_given(value, iso):
    assert iso_time(value) == iso


def test_get_report_entries_are_read_and_entries_without_msgid_skipped():
    answer = {
        "status": "0",
        "array": [
            {"msgId": "m1", "number": "919876543210", "receiveTime": "2025-11-24T16:00:00+00:00", "status": "0"},
            {"msgId": "m2", "status": "1", "reason": "UNDELIV from 919876543210"},
            {"number": "919876543210", "status": "0"},
            "junk",
        ],
    }
    assert list(report_entries(answer)) == [
        Report("m1", "0", "", "2025-11-24T16:00:00+00:00"),
        Report("m2", "1", "UNDELIV from ••••3210"),
    ]


@pytest.mark.parametrize("answer", [{}, {"array": None}, {"array": "x"}], ids=["missing", "null", "not-a-list"])
def test_a_get_report_answer_without_an_array_has_no_reports(answer):
    assert list(report_entries(answer)) == []


PUSH = {
    "appId": "app",
    "msgid": "m1",
    "mobile": "919876543210",
    "status": 0,
    "reason": "DELIVRD",
    "timestamp": 1_764_000_000_000,
    "mcc": "404",
    "mnc": "10",
    "pricedetail": {"pay": "0.0022", "currency": "USD", "chargeCnt": 1, "price": 0.0022},
}


def test_a_push_is_read_with_its_time_and_price_detail_as_strings():
    (report,), unreadable = push_reports(PUSH)
    assert unreadable == 0
    assert report == Report(
        "m1",
        "0",
        "DELIVRD",
        "2025-11-24T16:00:00+00:00",
        {"pay": "0.0022", "currency": "USD", "chargeCnt": "1", "price": "0.0022"},
    )


@pytest.mark.parametrize(
    ("payload", "msg_ids", "unreadable"),
    [
        ([PUSH, PUSH | {"msgid": "m2", "status": "1"}], ["m1", "m2"], 0),
        ({"msgId": "m3", "status": "0"}, ["m3"], 0),
        ({"msgid": 12345, "status": 0}, ["12345"], 0),
        ({"status": 0}, [], 1),
        ([PUSH, 7, {"msgid": ""}], ["m1"], 2),
        ("text", [], 1),
        ([], [], 0),
    ],
    ids=["list", "camel-case-msgid", "numeric-msgid", "no-msgid", "mixed-junk", "json-string", "empty-list"],
)
def test_a_push_body_is_read_leniently(payload, msg_ids, unreadable):
    reports, bad = push_reports(payload)
    assert ([r.msg_id for r in reports], bad) == (msg_ids, unreadable)


def test_a_push_without_price_detail_keeps_an_empty_one():
    (report,), _ = push_reports({"msgid": "m1", "status": 1, "pricedetail": "n/a"})
    assert report.price_detail == {}
    assert report.verdict is Status.UNDELIVERED
