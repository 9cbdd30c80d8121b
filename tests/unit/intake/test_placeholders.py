"""((placeholders)) in a content, filled from the row's other columns."""

import pytest

from smsdrop.output.sms_parts import sms_parts
from tests.unit.intake.reading import GB, GB2, read

HEADER = "number,content,First Name,order,city\n"


def test_placeholders_are_filled_from_the_row_and_matched_like_headers():
    (row,) = read(HEADER + f'{GB},"Hi ((first_name)), order ((Order)) ships to (( city))((CITY))",Asha,A-17,Pune\n')
    assert row.content == "Hi Asha, order A-17 ships to PunePune"
    assert row.order_id == "A-17"


def test_a_placeholder_finds_a_known_field_under_any_of_its_aliases():
    (row,) = read(HEADER + f"{GB},Your ref ((reference)) - ((orderId)),Asha,A-17,Pune\n")
    assert row.content == "Your ref A-17 - A-17"


@pytest.mark.parametrize(
    ("content", "code", "reason"),
    [
        ("Hi ((surname))", "PLACEHOLDER_NO_COLUMN", "placeholder ((surname)) names no column of the file"),
        ("Hi ((city))", "PLACEHOLDER_EMPTY", "placeholder ((city)) is empty in this row (column 'city')"),
    ],
    ids=["missing-column", "empty-value"],
)
def test_a_placeholder_without_a_value_rejects_its_row_naming_the_column(content, code, reason):
    (row,) = read(HEADER + f'{GB},"{content}",Asha,A-17,  \n')
    assert (row.code, row.reason, row.order_id) == (code, reason, "A-17")


@pytest.mark.parametrize(
    ("content", "sent"),
    [
        (r"Literal \((first name)) stays", "Literal ((first name)) stays"),
        ("Smile :-)) and ((( first name )))", "Smile :-)) and (Asha)"),
        ("(((first name)))", "(Asha)"),
        ("((not a (name)))", "((not a (name)))"),
        ("(())", "(())"),
    ],
    ids=["backslash-escapes", "spaces-around-a-name-are-ignored", "extra-brackets-stay", "brackets-in-a-name", "empty"],
)
def test_only_a_well_formed_placeholder_is_filled_and_a_backslash_keeps_one_literal(content, sent):
    (row,) = read(HEADER + f'{GB},"{content}",Asha,A-17,Pune\n')
    assert row.content == sent


def test_a_value_holding_a_placeholder_is_not_filled_again():
    (row,) = read(HEADER + f'{GB},"Hi ((first name))","((city))",A-17,Pune\n')
    assert row.content == "Hi ((city))"


def test_parts_and_length_are_those_of_the_filled_text():
    long_name = "x" * 170
    (row, too_long) = read(
        HEADER + f"{GB},Hi ((first name)),{long_name},A-1,Pune\n{GB2},((first name)),{'y' * 1025},A-2,Pune\n"
    )
    assert sms_parts(row.content).parts == 1 + 1  # 173 characters: two parts, though the template has 19
    assert (too_long.code, too_long.reason) == ("CONTENT_TOO_LONG", "content is 1025 characters, limit 1024")


def test_the_duplicate_check_compares_the_filled_texts():
    rows = read(
        HEADER
        + f"{GB},Hi ((first name)),Asha,A-1,Pune\n{GB},Hi ((first name)),Ravi,A-2,Pune\n{GB},Hi Asha,x,A-3,Pune\n"
    )
    assert [getattr(r, "code", None) for r in rows] == [None, None, "DUPLICATE"]
    assert rows[2].reason == "duplicate of row 2: same number and content"
