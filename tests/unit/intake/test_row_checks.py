import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smsdrop.intake.bounds import CELL_CHARS, NUMBER_CELL_CHARS, REASON_CHARS
from smsdrop.models import Recipient, RowError
from tests.unit.intake.reading import GB, GB2, HEADER, chunks_of, one, read

# (row after HEADER, code or None for a recipient, reason or None)
ROWS = [
    (f"{GB},Hello,ACME,A1", None, None),
    (f"{GB},  Hello there  ,ACME,A1", None, None),
    (f'{GB},"Hello, ""you""",ACME,A1', None, None),
    (f"{GB},{'x' * 1024},ACME,A1", None, None),
    (f"{GB},{'😀' * 1024},ACME,A1", None, None),
    (f"{GB},{'x' * 1025},ACME,A1", "CONTENT_TOO_LONG", "content is 1025 characters, limit 1024"),
    (f"{GB},   ,ACME,A1", "CONTENT_EMPTY", "content is empty"),
    (f"{GB},Hello,{'S' * 32},A1", None, None),
    (f"{GB},Hello,{'S' * 33},A1", "SENDER_TOO_LONG", "senderId is 33 characters, limit 32"),
    (f"{GB},Hello,ACME,{'o' * 64}", None, None),
    (f"{GB},Hello,ACME,{'o' * 65}", "ORDER_ID_TOO_LONG", "orderId is 65 characters, limit 64"),
    (f'{GB},Hello,ACME,"A1,A2"', "ORDER_ID_COMMA", None),
    (f"{GB},Hello,ACME,A1,extra", "FIELD_COUNT", "row has 5 fields, header has 4"),
    (f"{GB},Hello,ACME", "FIELD_COUNT", "row has 3 fields, header has 4"),
    ("+44 79II 123456,Hello,ACME,A1", "NUMBER_LETTERS", "number contains letters"),
    ("4.47911E+11,Hello,ACME,A1", "NUMBER_SCIENTIFIC", None),
    (",Hello,ACME,A1", "NUMBER_EMPTY", "number is empty"),
    ("+44 7911 12345,Hello,ACME,A1", "NUMBER_INVALID", "not a valid number for +44"),
    (
        f"{'9' * 65},Hello,ACME,A1",
        "NUMBER_CELL_TOO_LONG",
        "number is 65 characters, too long to be a phone number (limit 64)",
    ),
]
ROW_IDS = [
    "valid", "content-trimmed", "quoted-comma-and-quotes", "content-1024", "emoji-1024", "content-1025",
    "content-blank", "sender-32", "sender-33", "order-64", "order-65", "order-comma", "too-many-fields",
    "too-few-fields", "number-letters", "number-excel", "number-empty", "number-invalid", "number-cell-65",
]  # fmt: skip


@pytest.mark.parametrize(("line", "code", "reason"), ROWS, ids=ROW_IDS)
def test_each_row_becomes_a_recipient_or_an_error_with_a_reason(line, code, reason):
    row = one(line)
    if code is None:
        assert isinstance(row, Recipient)
    else:
        assert isinstance(row, RowError)
        assert row.code == code
        assert reason is None or row.reason == reason


def test_a_recipient_keeps_the_content_as_given_minus_surrounding_whitespace():
    assert one(f'{GB}," Hi,\n  there ",ACME,A1').content == "Hi,\n  there"


def test_a_row_error_keeps_the_number_as_written():
    row = one(" +44 79II 123456 ,Hello, ACME ,A1")
    assert (row.number, row.sender_id, row.order_id, row.row) == (" +44 79II 123456 ", "ACME", "A1", 2)


def test_the_default_region_reads_national_numbers():
    assert one("098765 43210,Hi,,", default_region="IN").number == "919876543210"


def test_the_possible_level_lets_through_numbers_the_valid_level_rejects():
    line = "+44 7911 12345,Hello,,"
    assert isinstance(one(line, number_check="possible"), Recipient)
    assert isinstance(one(line, number_check="valid"), RowError)


# ---- duplicates and orderIds ------------------------------------------------------------------------------


def test_the_same_number_and_content_again_is_a_duplicate_of_the_first_row():
    rows = read(HEADER + f"{GB},Hi,,\n{GB2},Hi,,\n+44 (0)7911 123456,Hi,X,\n{GB},Hello,,\n")
    reasons = [getattr(r, "reason", None) for r in rows]
    assert reasons == [None, None, "duplicate of row 2: same number and content", None]


def test_duplicates_may_be_allowed():
    rows = read(HEADER + f"{GB},Hi,,\n{GB},Hi,,\n", reject_duplicates=False)
    assert all(isinstance(r, Recipient) for r in rows)


def test_an_order_id_given_twice_is_rejected_naming_the_first_row():
    rows = read(HEADER + f"{GB},Hi,,A7\n{GB2},Hi,,A8\n{GB2},Bye,,A7\n")
    assert rows[2].reason == "orderId 'A7' repeats row 2"


def test_missing_order_ids_are_generated_from_the_job_and_row():
    rows = read(HEADER + f"{GB},Hi,,\n{GB2},Hi,,B2\n{GB2},Hey,,\n", job_id="job-42")
    assert [r.order_id for r in rows] == ["job-42-2", "B2", "job-42-4"]


def test_generated_order_ids_fit_the_api_even_from_an_awkward_job_id():
    row = one(f"{GB},Hi,,", job_id="a,b" * 40)
    assert len(row.order_id) <= 64
    assert "," not in row.order_id
    assert row.order_id == one(f"{GB},Hi,,", job_id="a,b" * 40).order_id


# ---- poison: what a rejected row records is bounded and is text -------------------------------------------

BIG = "\U00020000" * 60_000  # 60 000 characters, 240 KB of UTF-8: within csv's field limit of 131 072 characters
BIG_CELLS = [
    (f"{BIG},Hi,S,o1", "NUMBER_CELL_TOO_LONG", "number is 60000 characters, too long to be a phone number (limit 64)"),
    (f"{GB},Hi,{BIG},o1", "SENDER_TOO_LONG", "senderId is 60000 characters, limit 32"),
    (f"{GB},Hi,S,{BIG}", "ORDER_ID_TOO_LONG", "orderId is 60000 characters, limit 64"),
    (f"{BIG},Hi,{BIG},{BIG},extra", "FIELD_COUNT", "row has 5 fields, header has 4"),
]


@pytest.mark.parametrize(("line", "code", "reason"), BIG_CELLS, ids=["number", "sender", "order", "field-count"])
def test_a_huge_cell_of_a_rejected_row_is_recorded_cut_to_its_bound_with_a_marker(line, code, reason):
    row = one(line)
    assert (row.code, row.reason) == (code, reason)
    cut = "\U00020000" * CELL_CHARS + f"…[cut {60_000 - CELL_CHARS} chars]"
    assert cut in (row.number, row.sender_id, row.order_id)
    assert all(len(cell) <= CELL_CHARS + 20 for cell in (row.number, row.sender_id, row.order_id))


def test_a_number_of_many_odd_characters_names_a_few_of_them():
    row = one("".join(map(chr, range(0x2190, 0x2190 + NUMBER_CELL_CHARS))) + ",Hi,S,o1")
    assert row.code == "NUMBER_CHARACTERS"
    assert row.reason.startswith("number contains '←', '↑', '→', '↓', '↔' and 59 more: only digits")
    assert len(row.reason) <= REASON_CHARS


def test_a_number_cell_as_long_as_csv_allows_is_rejected_before_any_pattern_reads_it():
    row = one("(" * 131_071 + "!,Hi,S,o1")  # the worst case of the old pattern: about a minute, then NUMBER_CHARACTERS
    assert (row.code, row.reason) == (
        "NUMBER_CELL_TOO_LONG",
        "number is 131072 characters, too long to be a phone number (limit 64)",
    )


UNDECODED = [
    (b"4479111234\xe9,Hi,S,o1", "column 'number'", r"4479111234\xe9", "o1"),
    (b"447911123456,caf\xe9,S,o1", "column 'content'", "447911123456", "o1"),
    (b"447911123456,Hi,S\x00,o1", "column 'senderId'", "447911123456", "o1"),
    (b"447911123456,Hi,S,o\x811", "column 'orderId'", "447911123456", r"o\x811"),
    (b"447911123456,Hi,S,o1,\xff", "an extra cell", "447911123456", "o1"),
]


@pytest.mark.parametrize(
    ("line", "where", "number", "order_id"), UNDECODED, ids=["number", "content", "sender-nul", "order", "extra-cell"]
)
def test_a_byte_that_is_not_utf8_rejects_its_row_naming_the_cell_and_is_recorded_as_an_escape(
    line, where, number, order_id
):
    data = (HEADER + f"{GB},Hi,S,o0\n").encode() + line + b"\n"
    with chunks_of(48, encoding_window=48):  # the first block (the header and a row) is UTF-8; the bad byte after it
        _, row = read(data)
    byte = "\\x" + next(f"{b:02x}" for b in line if b > 0x7F or b == 0)
    assert (row.code, row.reason) == (
        "NOT_TEXT",
        f"row is not UTF-8 text (byte {byte} in {where}): save the file as CSV UTF-8",
    )
    assert (row.number, row.order_id) == (number, order_id)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=200).filter(lambda b: b'"' not in b), min_size=1, max_size=8))
def test_whatever_bytes_follow_the_first_block_every_row_is_recorded_as_bounded_text(lines):
    data = (HEADER + f"{GB},Hi,S,o0\n").encode() + b"\n".join(lines) + b"\n"
    with chunks_of(48, encoding_window=48):
        rows = read(data)
    for row in rows:
        cells = (row.number, row.sender_id, row.order_id, getattr(row, "reason", ""), getattr(row, "content", ""))
        for cell in cells:
            cell.encode("utf-8")  # strict: raises on a lone surrogate
        assert isinstance(row, Recipient) or len(row.reason) <= REASON_CHARS
        assert isinstance(row, Recipient) or all(len(c) <= CELL_CHARS + 20 for c in cells[:3])
