"""The encoding rule: UTF-16 by its byte order mark; else UTF-8 if the first block is; else Windows-1252."""

import codecs
from dataclasses import replace

import pytest

from smsdrop.intake import line_feed
from smsdrop.intake.line_feed import LineFeed
from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.intake.text_encoding import TextEncoding
from smsdrop.models import Position
from tests.unit.intake.reading import GB, GB2, HEADER, chunks_of, read, reader

BODY = f'{GB},"Café à 5 €, \u2018quoted\u2019",,A1\r\n{GB2},"two\nlines",,A2\n{GB},Ünïcödé 😀,,A3\n'
TEXT = HEADER + BODY


def encoded(text: str, encoding: str) -> bytes:
    """`text` as a file in `encoding`, with the byte order mark Excel writes for UTF-16."""
    marks = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE, "utf-8-sig": b""}
    return marks.get(encoding, b"") + text.encode(encoding)


def feed_encoding(data: bytes) -> TextEncoding | None:
    feed = LineFeed([data])
    list(feed.lines())
    return feed.encoding


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"number,content\n1,caf\xc3\xa9\n", TextEncoding.UTF8),
        (codecs.BOM_UTF8 + b"number,content\n1,caf\xc3\xa9\n", TextEncoding.UTF8),
        (b"number,content\n1,caf\xe9 \x80\n", TextEncoding.WINDOWS_1252),
        (codecs.BOM_UTF16_LE + "number,content\n".encode("utf-16-le"), TextEncoding.UTF16LE),
        (codecs.BOM_UTF16_BE + "number,content\n".encode("utf-16-be"), TextEncoding.UTF16BE),
        (b"number,content\n", TextEncoding.UTF8),
    ],
    ids=["utf-8", "utf-8-with-bom", "not-utf-8-is-windows-1252", "utf-16le-bom", "utf-16be-bom", "ascii"],
)
def test_the_encoding_is_decided_by_one_rule(data, encoding):
    assert feed_encoding(data) is encoding


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_a_file_in_any_accepted_encoding_gives_the_rows_of_the_same_text_in_utf8(encoding):
    text = TEXT.replace("😀", "").replace("\u2018", "'").replace("\u2019", "'") if encoding == "cp1252" else TEXT
    assert without_offsets(read(encoded(text, encoding))) == without_offsets(read(text.encode()))


def without_offsets(rows: list) -> list:
    return [replace(row, offset=0) for row in rows]


def test_a_windows_1252_export_with_an_e_acute_is_read_as_written_not_rejected():
    (row,) = read(b"number,content,senderId,orderId\n" + f"{GB},Caf\xe9 ouvert \x80 5,,A1\n".encode("latin-1"))
    assert (row.content, row.order_id) == ("Café ouvert € 5", "A1")


def test_a_file_that_is_utf8_in_its_first_256_kib_stays_utf8_and_a_later_bad_byte_rejects_only_its_row(monkeypatch):
    monkeypatch.setattr(line_feed, "READ_BYTES", 64)
    monkeypatch.setattr(line_feed, "ENCODING_WINDOW", 64)
    good = "".join(f"{GB},Hé {i},,A{i}\n" for i in range(4))
    data = (HEADER + good).encode() + f"{GB2},caf\xe9,,A9\n".encode("latin-1")
    rows = read(data)
    assert [r.content for r in rows[:4]] == [f"Hé {i}" for i in range(4)]
    assert (rows[4].code, rows[4].order_id) == ("NOT_TEXT", "A9")


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("read_bytes", [1, 3, 64], ids=["1-byte", "3-bytes", "64-bytes"])
def test_offsets_are_those_of_the_bytes_in_the_file_so_a_resume_finds_the_same_rows(encoding, read_bytes):
    body = BODY.replace("😀", "").replace("\u2018", "'").replace("\u2019", "'") if encoding == "cp1252" else BODY
    data = encoded(HEADER + body * 3, encoding)
    with chunks_of(read_bytes):
        everything = read(data, reject_duplicates=False)
        third = everything[2]
        rest = read(data, start=Position(third.offset, third.row - 1), reject_duplicates=False)
        source = reader(data, reject_duplicates=False)
        list(source.rows())
    assert all(data[row.offset :].decode(encoding, "replace").startswith("+44") for row in everything)
    assert rest == everything[2:]
    assert source.position.offset == len(data)


def test_a_utf16_file_cut_in_the_middle_of_a_character_is_refused_at_its_end():
    data = encoded(HEADER + f"{GB},Hi,,A1\n", "utf-16-le") + b"\x41"
    source = reader(data)
    rows = source.rows()
    assert next(rows).order_id == "A1"
    with pytest.raises(FileRefused) as caught:
        next(rows)
    assert caught.value.problem is FileProblem.UTF16_TRUNCATED


def test_an_unpaired_surrogate_in_a_utf16_file_rejects_only_its_row_and_is_recorded_as_text():
    data = encoded(HEADER + f"{GB},Hi,,A1\n{GB2},bad ", "utf-16-le") + b"\x00\xd8" + ",,A2\n".encode("utf-16-le")
    first, second = read(data)
    assert first.content == "Hi"
    assert (second.code, second.order_id) == ("NOT_TEXT", "A2")
    assert "\\ud800" in second.reason
    second.reason.encode()  # recorded as strict UTF-8


def test_nul_bytes_in_the_first_block_refuse_the_file_whatever_the_encoding_turns_out_to_be():
    for data in [b"number,content\n1,a\0b\n", b"number,content\n1,\xe9\0\n"]:
        with pytest.raises(FileRefused) as caught:
            read(data)
        assert caught.value.problem is FileProblem.BINARY
