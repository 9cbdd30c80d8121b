import re
import string

import pytest

from smsdrop.intake.bounds import COLUMNS_LISTED, REASON_CHARS, REFUSAL_CHARS
from smsdrop.intake.rejections import _FILE_MESSAGES, _ROW_MESSAGES, FileProblem, FileRefused, Rejected, Rejection

ROW_REASONS = [
    (
        Rejection.NOT_TEXT,
        {"byte": r"\xe9", "where": "column 'number'"},
        r"row is not UTF-8 text (byte \xe9 in column 'number'): save the file as CSV UTF-8",
    ),
    (Rejection.FIELD_COUNT, {"found": 5, "expected": 4}, "row has 5 fields, header has 4"),
    (Rejection.NUMBER_EMPTY, {}, "number is empty"),
    (
        Rejection.NUMBER_CELL_TOO_LONG,
        {"length": 65, "limit": 64},
        "number is 65 characters, too long to be a phone number (limit 64)",
    ),
    (Rejection.NUMBER_LETTERS, {}, "number contains letters"),
    (Rejection.NUMBER_TOO_SHORT_ANY, {}, "number is too short for any country"),
    (Rejection.NUMBER_TOO_SHORT, {"country_code": "44"}, "too short for +44"),
    (Rejection.NUMBER_INVALID, {"country_code": "91"}, "not a valid number for +91"),
    (Rejection.CONTENT_TOO_LONG, {"length": 1030, "limit": 1024}, "content is 1030 characters, limit 1024"),
    (Rejection.ORDER_ID_REPEATED, {"order_id": "A7", "row": 12}, "orderId 'A7' repeats row 12"),
    (Rejection.DUPLICATE, {"row": 7}, "duplicate of row 7: same number and content"),
]


@pytest.mark.parametrize(("rejection", "details", "reason"), ROW_REASONS, ids=[r[0].value for r in ROW_REASONS])
def test_a_row_rejection_reads_as_a_sentence_with_its_details(rejection, details, reason):
    assert rejection.reason(**details) == reason


def _fields(template: str) -> dict[str, str]:
    return {name: "X" for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("rejection", list(Rejection), ids=str)
def test_every_row_rejection_has_a_message_that_names_no_unknown_detail(rejection):
    assert rejection.reason(**_fields(_ROW_MESSAGES[rejection]))


@pytest.mark.parametrize("problem", list(FileProblem), ids=str)
def test_every_file_problem_has_a_message(problem):
    assert problem.reason(**_fields(_FILE_MESSAGES[problem]))


def test_a_rejected_row_carries_its_code_and_reason():
    rejected = Rejected(Rejection.SENDER_TOO_LONG, length=40, limit=32)
    assert (rejected.rejection, rejected.reason) == (Rejection.SENDER_TOO_LONG, "senderId is 40 characters, limit 32")
    assert str(rejected) == rejected.reason


def test_a_refused_file_names_the_problem_and_the_columns_found():
    refused = FileRefused(FileProblem.NO_NUMBER_COLUMN, ("name", "message"))
    assert str(refused) == (
        "no number column (named number, phone, mobile, msisdn or numbers); columns found: 'name', 'message'"
    )
    assert refused.problem is FileProblem.NO_NUMBER_COLUMN


def test_a_refused_file_without_columns_names_only_the_problem():
    assert str(FileRefused(FileProblem.EMPTY)) == "the file is empty"


def test_codes_are_their_own_names_so_records_stay_readable():
    assert all(r.value == r.name for r in Rejection)
    assert all(p.value == p.name for p in FileProblem)


def test_a_reason_is_bounded_whatever_its_details_hold():
    reason = Rejected(Rejection.ORDER_ID_REPEATED, order_id="o" * 10_000, row=2).reason
    kept, cut = re.fullmatch(r"(orderId 'o+)…\[cut (\d+) chars\]", reason).groups()
    assert len(kept) + int(cut) == len(f"orderId '{'o' * 10_000}' repeats row 2")
    assert len(reason) <= REASON_CHARS


def test_a_refusal_is_bounded_whatever_its_details_hold():
    refused = FileRefused(FileProblem.NOT_GZIP, [f"c{i}" for i in range(5)], detail="z" * 5_000)
    assert len(str(refused)) == REFUSAL_CHARS


def test_a_refusal_lists_the_first_columns_and_counts_the_others():
    refused = FileRefused(FileProblem.NO_NUMBER_COLUMN, [f"c{i}" for i in range(COLUMNS_LISTED + 7)])
    assert str(refused).endswith(f"'c{COLUMNS_LISTED - 2}', 'c{COLUMNS_LISTED - 1}' and 7 more")


def test_a_reason_never_holds_a_byte_that_was_not_utf8():
    reason = Rejected(Rejection.NUMBER_CHARACTERS, characters="\udce9").reason
    assert reason.startswith(r"number contains \xe9: only digits")
