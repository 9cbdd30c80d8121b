import csv
import gzip
import io
import logging

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from smsdrop.intake import reader as recipients
from smsdrop.intake.reader import RecipientReader, RowRules
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.models import Position, Recipient, RowError

HEADER = "number,content,senderId,orderId\n"
GB = "+447911123456"
GB2 = "+447911123457"


class FakeS3:
    """Just enough S3 for powertools' S3Object: ranged GETs of one object held in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.ranges: list[str] = []

    def get_object(self, *, Bucket: str, Key: str, Range: str, VersionId: str | None = None) -> dict:  # noqa: N803
        self.ranges.append(Range)
        return {"Body": io.BytesIO(self.data[int(Range.removeprefix("bytes=").removesuffix("-")) :])}


def reader(data: bytes | str, key: str = "incoming/r.csv", **rules) -> RecipientReader:
    raw = data.encode() if isinstance(data, str) else data
    return RecipientReader(FakeS3(raw), "bucket", key, None, RowRules(**rules))


def read(data: bytes | str, key: str = "incoming/r.csv", start: Position | None = None, **rules) -> list:
    return list(reader(data, key, **rules).rows(start))


def one(line: str, header: str = HEADER, **rules):
    (row,) = read(header + line + "\n", **rules)
    return row


# ---- header ----------------------------------------------------------------------------------------------

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
    with caplog.at_level(logging.INFO, logger="smsdrop.intake.reader"):
        rows = list(source.rows())
    assert [r.number for r in rows] == ["447911123456", "447911123457"]
    assert source.extra_columns == ("name", "notes")
    assert [r.getMessage() for r in caplog.records] == ["Ignoring columns smsdrop does not use: name, notes"]


REFUSED_FILES = [
    (b"", FileProblem.EMPTY),
    (b"\n\n", FileProblem.NO_HEADER),
    (b"number,content\n", FileProblem.HEADER_ONLY),
    (b"number,content\n\n  \n,\n", FileProblem.HEADER_ONLY),
    (b"name,content\nAsha,Hi\n", FileProblem.NO_NUMBER_COLUMN),
    (b"number;content\n1;2\n", FileProblem.NO_NUMBER_COLUMN),
    (b"phone,sender\n1,2\n", FileProblem.NO_CONTENT_COLUMN),
    (b"phone,mobile,content\n1,2,3\n", FileProblem.DUPLICATE_COLUMN),
    (b"number,content,notes,Notes\n1,2,3,4\n", FileProblem.DUPLICATE_COLUMN),
    (b"number,content,\n1,2,3\n", FileProblem.EMPTY_COLUMN_NAME),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00number,content\n", FileProblem.BINARY),
    ("num\u00e9ro,number,content\n1,2,3\n".encode("latin-1"), FileProblem.NOT_UTF8),
]
REFUSED_IDS = [
    "empty", "blank-first-line", "header-only", "header-and-blank-lines", "no-number-column",
    "semicolons", "no-content-column", "two-aliases-of-number", "same-name-twice", "unnamed-column",
    "zip-or-xlsx", "latin-1",
]  # fmt: skip


@pytest.mark.parametrize(("data", "problem"), REFUSED_FILES, ids=REFUSED_IDS)
def test_a_file_that_cannot_be_used_is_refused_before_any_row(data, problem):
    with pytest.raises(FileRefused) as caught:
        next(reader(data).rows())
    assert caught.value.problem is problem


def test_the_refusal_names_the_columns_found():
    with pytest.raises(FileRefused, match=r"no content column .*; columns found: 'phone', 'sender'"):
        read("phone,sender\n1,2\n")


def test_the_refusal_of_a_duplicate_names_both_columns():
    with pytest.raises(FileRefused, match=r"columns 'phone' and 'mobile' both name the number"):
        read("phone,mobile,content\n1,2,3\n")


def test_a_file_named_gz_that_is_not_gzip_is_refused():
    with pytest.raises(FileRefused) as caught:
        read(HEADER + GB + ",Hi,,\n", key="incoming/r.csv.gz")
    assert caught.value.problem is FileProblem.NOT_GZIP


def test_a_truncated_gzip_file_is_refused():
    data = gzip.compress((HEADER + f"{GB},Hi,,\n" * 50).encode())
    with pytest.raises(FileRefused, match="ends before the compressed data does"):
        read(data[:-12], key="incoming/r.csv.gz")


# ---- one row, one verdict -------------------------------------------------------------------------------

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
]
ROW_IDS = [
    "valid", "content-trimmed", "quoted-comma-and-quotes", "content-1024", "emoji-1024", "content-1025",
    "content-blank", "sender-32", "sender-33", "order-64", "order-65", "order-comma", "too-many-fields",
    "too-few-fields", "number-letters", "number-excel", "number-empty", "number-invalid",
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


def test_blank_lines_are_skipped_without_error_and_counted():
    source = reader(HEADER + f"\n{GB},Hi,,\n   \n,,,\n\r\n{GB2},Hi,,\n\n")
    rows = list(source.rows())
    assert [r.row for r in rows] == [3, 7]
    assert source.blank_lines == 5


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


# ---- the bytes of the file ---------------------------------------------------------------------------------

ROWS_TEXT = [f"{GB},Hi,,A1", f'{GB2},"Two\nlines, ""quoted""",,A2', "", "bad,x,,A3", f"{GB},Bye,,A4"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("bom", ["", "\ufeff"], ids=["no-BOM", "BOM"])
def test_line_endings_and_a_bom_do_not_change_the_rows(newline, bom):
    rows = read(bom + "\n".join([HEADER.strip(), *ROWS_TEXT, ""]).replace("\n", newline))
    assert [(r.row, r.order_id, getattr(r, "content", None)) for r in rows] == [
        (2, "A1", "Hi"),
        (3, "A2", 'Two\nlines, "quoted"'.replace("\n", newline)),
        (5, "A3", None),
        (6, "A4", "Bye"),
    ]


def test_every_row_knows_the_byte_offset_where_it_starts():
    data = (HEADER + f'{GB},"Hi, \u00e9\u00e8\n😀",,A1\r\n\r\n{GB2},"x""y",,A2\n{GB},z,,A3').encode()
    source = reader(data)
    rows = list(source.rows())
    assert [data[r.offset :].split(b",")[0] for r in rows] == [GB.encode(), GB2.encode(), GB.encode()]
    assert source.position == Position(offset=len(data), row=5)


def test_the_position_moves_past_each_row_as_it_is_yielded():
    data = HEADER + f"{GB},Hi,,A1\n{GB2},Hi,,A2\n"
    source = reader(data)
    rows = source.rows()
    next(rows)
    assert source.position == Position(offset=len(HEADER) + len(f"{GB},Hi,,A1\n"), row=2)


@pytest.mark.parametrize("read_bytes", [1, 3, 7, 64])
def test_tiny_chunks_give_the_same_rows_and_offsets(monkeypatch, read_bytes):
    data = (HEADER + f'{GB},"Hi \u00e9\r\n😀",,A1\r\n{GB2},"x""y",,A2\r{GB},z\u0939\u093f,,A3\r\n' * 3).encode()
    expected = read(data, reject_duplicates=False)
    monkeypatch.setattr(recipients, "READ_BYTES", read_bytes)
    assert read(data, reject_duplicates=False) == expected
    assert read(gzip.compress(data), key="r.csv.gz", reject_duplicates=False) == expected


def test_gzip_is_recognised_by_its_magic_bytes_too():
    data = (HEADER + f"{GB},Hi,,A1\n").encode()
    assert read(gzip.compress(data), key="incoming/r.csv") == read(data)


def test_gzip_made_of_several_members_is_read_whole():
    data = gzip.compress((HEADER + f"{GB},Hi,,A1\n").encode()) + gzip.compress(f"{GB2},Hi,,A2\n".encode())
    assert [r.order_id for r in read(data, key="r.csv.gz")] == ["A1", "A2"]


def test_bytes_that_are_not_utf8_after_the_first_block_reject_only_their_rows(monkeypatch):
    monkeypatch.setattr(recipients, "READ_BYTES", 64)
    data = "".join([HEADER, *(f"{GB},Hi {i},,A{i}\n" for i in range(4))]).encode()
    data += f"{GB2},caf\u00e9,,A5\n".encode("latin-1") + f"{GB2},nul\0,,A6\n{GB2},fine,,A7\n".encode()
    rows = read(data)
    assert [getattr(r, "code", None) for r in rows] == [None] * 4 + ["NOT_TEXT", "NOT_TEXT", None]
    assert (rows[4].order_id, rows[4].reason) == ("A5", "row is not UTF-8 text: save the file as CSV UTF-8")


def test_a_line_longer_than_any_csv_row_refuses_the_file_before_filling_memory(monkeypatch):
    monkeypatch.setattr(recipients, "READ_BYTES", 32)
    monkeypatch.setattr(recipients, "MAX_LINE_BYTES", 100)
    with pytest.raises(FileRefused) as caught:
        read(HEADER + f"{GB},{'x' * 200},,A1\n")
    assert caught.value.problem is FileProblem.LINE_TOO_LONG


def test_a_quote_that_never_closes_refuses_the_file_naming_its_row():
    data = HEADER + f'{GB},Hi,,A1\n{GB2},"open,,A2\n' + f"{GB},{'x' * 1000},,A\n" * 140
    with pytest.raises(FileRefused, match="row 3"):
        read(data)


# ---- resuming ------------------------------------------------------------------------------------------------


def _file(count: int) -> bytes:
    lines = [HEADER.strip()]
    for i in range(count):
        number = f"+4479111234{i % 7:02d}"
        lines.append(f'{number},"Hi\n{i % 3}",,O{i}' if i % 5 else "")
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.mark.parametrize("key", ["r.csv", "r.csv.gz"], ids=["plain", "gzip"])
@pytest.mark.parametrize("dedup", [True, False], ids=["duplicates-rejected", "duplicates-allowed"])
def test_resuming_at_any_row_gives_exactly_the_rows_from_there(monkeypatch, key, dedup):
    monkeypatch.setattr(recipients, "READ_BYTES", 50)
    data = _file(40)
    raw = gzip.compress(data) if key.endswith(".gz") else data
    everything = read(raw, key=key, reject_duplicates=dedup)
    assert any(r.code == "DUPLICATE" for r in everything if isinstance(r, RowError)) is dedup
    for i, row in enumerate(everything):
        start = Position(offset=row.offset, row=row.row - 1)
        assert read(raw, key=key, start=start, reject_duplicates=dedup) == everything[i:]
    end = reader(raw, key=key, reject_duplicates=dedup)
    list(end.rows())
    assert read(raw, key=key, start=end.position, reject_duplicates=dedup) == []


def test_blank_lines_are_counted_over_the_whole_file_across_a_resume():
    data = HEADER + f"\n{GB},Hi,,A1\n\n{GB2},Hi,,A2\n\n"
    everything = read(data)
    source = reader(data)
    rest = list(source.rows(Position(offset=everything[1].offset, row=everything[1].row - 1)))
    assert rest == everything[1:]
    assert (source.blank_lines, source.position.row) == (3, 6)


def test_resuming_where_no_row_starts_is_an_error():
    data = HEADER + f"{GB},Hi,,A1\n{GB2},Hi,,A2\n"
    with pytest.raises(ValueError, match="not a record boundary"):
        read(data, start=Position(offset=len(HEADER) + 3, row=2))


# ---- every line accounted for ---------------------------------------------------------------------------

CELL = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from([GB, GB2, "12", ""]), CELL, CELL), max_size=12),
    newline=st.sampled_from(["\n", "\r\n"]),
    read_bytes=st.sampled_from([5, 64, 1 << 18]),
)
def test_every_record_is_a_recipient_an_error_or_a_blank_line_and_starts_where_csv_says(rows, newline, read_bytes):
    assume(newline == "\r\n" or not any("\r" in cell for row in rows for cell in row))  # csv.writer leaves CR bare
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(["number", "content", "notes"])
    starts = []
    for row in rows:
        starts.append(len(buffer.getvalue().encode()))
        writer.writerow(row)
    data = buffer.getvalue().encode()
    blank = [i for i, row in enumerate(rows) if not "".join(row).strip()]
    recipients.READ_BYTES, saved = read_bytes, recipients.READ_BYTES
    try:
        source = reader(data)
        if len(blank) == len(rows):
            with pytest.raises(FileRefused, match="header but no rows"):
                list(source.rows())
            return
        got = list(source.rows())
    finally:
        recipients.READ_BYTES = saved
    assert [r.offset for r in got] == [s for i, s in enumerate(starts) if i not in blank]
    assert [r.row for r in got] == [i + 2 for i in range(len(rows)) if i not in blank]
    assert len(got) + source.blank_lines == len(rows)
    assert source.position == Position(offset=len(data), row=len(rows) + 1)
