"""The one reading of HTTP answers both provider clients share."""

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from smsdrop.provider.http_answers import HttpAnswer, classify_error, classify_status, json_object

STATUSES = [
    (200, HttpAnswer.READ),
    (204, HttpAnswer.READ),
    (408, HttpAnswer.RETRY),
    (429, HttpAnswer.RETRY),
    (503, HttpAnswer.RETRY),
    (500, HttpAnswer.AMBIGUOUS),
    (502, HttpAnswer.AMBIGUOUS),
    (504, HttpAnswer.AMBIGUOUS),
    (501, HttpAnswer.AMBIGUOUS),
    (599, HttpAnswer.AMBIGUOUS),
    (400, HttpAnswer.REJECT),
    (413, HttpAnswer.REJECT),
    (301, HttpAnswer.STOP),
    (401, HttpAnswer.STOP),
    (403, HttpAnswer.STOP),
    (404, HttpAnswer.STOP),
    (405, HttpAnswer.STOP),
]


@pytest.mark.parametrize(("http", "answer"), STATUSES, ids=[f"http-{http}" for http, _ in STATUSES])
def test_each_http_status_has_one_class(http, answer):
    assert classify_status(http) is answer


def _refused():
    return requests.ConnectionError(MaxRetryError(None, "https://x", NewConnectionError(None, "refused")))


ERRORS = [
    ("connect-refused", _refused(), HttpAnswer.RETRY),
    ("connect-timeout", requests.ConnectTimeout("slow"), HttpAnswer.RETRY),
    ("read-timeout", requests.ReadTimeout("slow"), HttpAnswer.AMBIGUOUS),
    (
        "reset-while-reading",
        requests.ConnectionError(ProtocolError("aborted", ConnectionResetError(104, "reset"))),
        HttpAnswer.AMBIGUOUS,
    ),
    ("connection-error-without-cause", requests.ConnectionError(), HttpAnswer.AMBIGUOUS),
    ("broken-body", requests.exceptions.ChunkedEncodingError("cut"), HttpAnswer.AMBIGUOUS),
]


@pytest.mark.parametrize(("error", "answer"), [row[1:] for row in ERRORS], ids=[row[0] for row in ERRORS])
def test_only_an_error_while_connecting_says_the_request_never_left(error, answer):
    assert classify_error(error) is answer


@pytest.mark.parametrize(
    ("body", "read"),
    [(b'{"status": "0"}', {"status": "0"}), (b"[1]", None), (b"<html>", None), (b"", None)],
    ids=["object", "array", "html", "empty"],
)
def test_only_a_json_object_is_a_readable_answer(body, read):
    assert json_object(body) == read
