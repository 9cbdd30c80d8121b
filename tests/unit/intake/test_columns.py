import logging

import pytest

from smsdrop.intake.bounds import COLUMN_NAME_CHARS, COLUMNS_LISTED, REFUSAL_CHARS
from smsdrop.intake.rejections import FileProblem, FileRefused
from tests.unit.intake.reading import GB, GB2, one, read, reader

ALIASES = [
    ("number,content", "number", "content"),
    ("Phone,Message,Sender,Order", "phone", "message"),
    ("MOBILE,TEXT,From,Reference", "mobile", "text"),
    ("msisdn,body,sender_id,ref", "msisdn", "body"),
    ("Numbers, Content ,Sender-ID,order id", "numbers", "content"),
    ("\ufeffNumber,Content,SENDERID,ORDER_ID", "number", "content"),
]


@pytest.mark.parametrize(("header", "_number", "_content"), ALIASES, ids=[a[1] + "/" + a[2] for a in ALIASES])
def test_header_names_match_any_alias_whatever_the_case_spaces_underscores_or_dashes(header, _number, _content):
    fields = header.count(",") + 1
    line = ",".join([GB, "Hello", "ACME", "A1"][:fields])
    row = one(line, header + "\n")
    assert (row.number, row.content) == ("447911123456", "Hello")
    if fields == 4:
        assert (row.sender_id, row.order_id) == ("ACME", "A1")


def test_columns_can_come_in_any_order():
    row = one("A1,Hello,ACME," + GB, "orderId,message,sender,phone\n")
    assert (row.number, row.content, row.sender_id, row.order_id) == ("447911123456", "Hello", "ACME", "A1")


def test_unknown_columns_are_ignored_and_listed_once_in_the_log(caplog):
    source = reader("name,number,notes,content\nAsha," + GB + ",vip,Hi\nRavi," + GB2 + ",,Hi\n")
    with caplog.at_level(logging.INFO, logger="smsdrop.intake.columns"):
        rows = list(source.rows())
    assert [(r.number, r.content, r.sender_id) for r in rows] == [
        ("447911123456", "Hi", ""),
        ("447911123457", "Hi", ""),
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "smsdrop.intake.columns"]
    assert logged == ["Ignoring columns smsdrop does not use: 'name', 'notes'"]


def test_the_refusal_names_the_columns_found():
    with pytest.raises(FileRefused, match=r"no content column .*; columns found: 'phone', 'sender'"):
        read("phone,sender\n1,2\n")


def test_the_refusal_of_a_duplicate_names_both_columns():
    with pytest.raises(FileRefused, match=r"columns 'phone' and 'mobile' both name the number"):
        read("phone,mobile,content\n1,2,3\n")


# ---- a header of any size gives messages of a bounded size ------------------------------------------------

WIDE = ",".join(f"column{i:06d}{'x' * 30}" for i in range(20_000))  # 20 000 columns of 42 characters: 860 KB


def test_the_refusal_of_a_huge_header_lists_the_first_columns_cut_and_counts_the_others():
    with pytest.raises(FileRefused) as caught:
        read(f"number,{WIDE}\n{GB},x\n")
    message = str(caught.value)
    assert caught.value.problem is FileProblem.NO_CONTENT_COLUMN
    assert len(message) <= REFUSAL_CHARS
    assert message.endswith(f" and {20_001 - COLUMNS_LISTED} more")
    assert f"'number', 'column000000{'x' * (COLUMN_NAME_CHARS - 12)}…[cut 18 chars]', " in message


def test_the_refusal_of_two_huge_names_for_one_field_is_bounded():
    name = "n" * 100_000
    with pytest.raises(FileRefused, match=r"columns 'n{24}…\[cut 99976 chars\]' and 'n{24}…") as caught:
        read(f"number,content,{name},{name}\n1,2,3,4\n")
    assert len(str(caught.value)) <= REFUSAL_CHARS


def test_the_log_of_ignored_columns_is_bounded_however_many_there_are(caplog):
    with caplog.at_level(logging.INFO, logger="smsdrop.intake.columns"):
        read(f"number,content,{WIDE}\n{GB},Hi{',' * 20_000}\n")
    (logged,) = [r.getMessage() for r in caplog.records if r.name == "smsdrop.intake.columns"]
    assert len(logged) < 1024
    assert logged.endswith(f" and {20_000 - COLUMNS_LISTED} more")


def test_a_phone_number_read_as_a_column_name_is_masked_in_the_refusal():
    with pytest.raises(FileRefused, match=r"columns found: '••••3456', 'Hello'") as caught:
        read(f"{GB},Hello\n{GB2},Bye\n")
    assert "7911123456" not in str(caught.value)
