import gzip

import pytest

from smsdrop.intake import line_feed
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.models import Position
from tests.unit.intake.reading import GB, GB2, HEADER, read, reader

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
    monkeypatch.setattr(line_feed, "READ_BYTES", read_bytes)
    assert read(data, reject_duplicates=False) == expected
    assert read(gzip.compress(data), key="r.csv.gz", reject_duplicates=False) == expected


# ---- gzip ----------------------------------------------------------------------------------------------------


def test_gzip_is_recognised_by_its_magic_bytes_too():
    data = (HEADER + f"{GB},Hi,,A1\n").encode()
    assert read(gzip.compress(data), key="incoming/r.csv") == read(data)


def test_gzip_made_of_several_members_is_read_whole():
    data = gzip.compress((HEADER + f"{GB},Hi,,A1\n").encode()) + gzip.compress(f"{GB2},Hi,,A2\n".encode())
    assert [r.order_id for r in read(data, key="r.csv.gz")] == ["A1", "A2"]


def test_a_file_named_gz_that_is_not_gzip_is_refused():
    with pytest.raises(FileRefused) as caught:
        read(HEADER + GB + ",Hi,,\n", key="incoming/r.csv.gz")
    assert caught.value.problem is FileProblem.NOT_GZIP


def test_a_truncated_gzip_file_is_refused():
    data = gzip.compress((HEADER + f"{GB},Hi,,\n" * 50).encode())
    with pytest.raises(FileRefused, match="ends before the compressed data does"):
        read(data[:-12], key="incoming/r.csv.gz")


# ---- bytes that are not text ------------------------------------------------------------------------------------


def test_bytes_that_are_not_utf8_after_the_first_block_reject_only_their_rows(monkeypatch):
    monkeypatch.setattr(line_feed, "READ_BYTES", 64)
    monkeypatch.setattr(line_feed, "ENCODING_WINDOW", 64)
    data = "".join([HEADER, *(f"{GB},Hi {i},,A{i}\n" for i in range(4))]).encode()
    data += f"{GB2},caf\u00e9,,A5\n".encode("latin-1") + f"{GB2},nul\0,,A6\n{GB2},fine,,A7\n".encode()
    rows = read(data)
    assert [getattr(r, "code", None) for r in rows] == [None] * 4 + ["NOT_TEXT", "NOT_TEXT", None]
    assert [r.reason for r in rows[4:6]] == [
        r"row is not UTF-8 text (byte \xe9 in column 'content'): save the file as CSV UTF-8",
        r"row is not UTF-8 text (byte \x00 in column 'content'): save the file as CSV UTF-8",
    ]
    assert rows[4].order_id == "A5"


def test_a_line_longer_than_any_csv_row_refuses_the_file_before_filling_memory(monkeypatch):
    monkeypatch.setattr(line_feed, "READ_BYTES", 32)
    monkeypatch.setattr(line_feed, "MAX_LINE_BYTES", 100)
    with pytest.raises(FileRefused) as caught:
        read(HEADER + f"{GB},{'x' * 200},,A1\n")
    assert caught.value.problem is FileProblem.LINE_TOO_LONG
