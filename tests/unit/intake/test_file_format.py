"""The delimiter, sniffed from the header line only, and how the file is described in the summary."""

import pytest

from smsdrop.intake.file_format import FileFormat, sniffed_delimiter
from tests.unit.intake.reading import GB, GB2, read, reader


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("number,content,senderId", ","),
        ("Phone;Message;Sender", ";"),
        ("Phone\tMessage\tSender", "\t"),
        ('"Phone, mobile";Message;Sender', ";"),
        ('"a;b;c;d",content,x', ","),
        ("number;content,text", ","),
        ("number;content\ttext", ";"),
        ("number", ","),
        ("", ","),
        (None, ","),
    ],
    ids=[
        "commas",
        "semicolons",
        "tabs",
        "comma-inside-quotes-does-not-count",
        "semicolons-inside-quotes-do-not-count",
        "tie-goes-to-the-comma",
        "tie-between-semicolon-and-tab-goes-to-the-semicolon",
        "one-column",
        "empty-line",
        "no-line",
    ],
)
def test_the_delimiter_is_the_most_frequent_outside_quotes_ties_going_to_the_comma(header, delimiter):
    assert sniffed_delimiter(header) == delimiter


def test_a_semicolon_file_with_quoted_semicolons_is_read_as_excel_wrote_it():
    data = f'Phone;Message;Reference\r\n{GB};"Hi; your order; ""A;1"" shipped";R1\r\n{GB2};plain, with comma;R2\r\n'
    first, second = read(data)
    assert (first.content, first.order_id) == ('Hi; your order; "A;1" shipped', "R1")
    assert (second.content, second.order_id) == ("plain, with comma", "R2")


def test_a_tab_separated_unicode_text_export_is_read():
    (row,) = read(f"Phone\tMessage\n{GB}\tHi, there; you\n")
    assert row.content == "Hi, there; you"


def test_commas_in_a_semicolon_file_are_text_and_an_unquoted_semicolon_makes_a_field_too_many():
    first, second = read(f"number;content\n{GB};ok, fine\n{GB2};not;quoted\n")
    assert first.content == "ok, fine"
    assert (second.code, second.reason) == ("FIELD_COUNT", "row has 3 fields, header has 2")


@pytest.mark.parametrize(
    ("data", "described", "summary"),
    [
        (f"number;content\n{GB};hi\n".encode(), "CSV, UTF-8, delimiter ';'", {"delimiter": ";", "encoding": "UTF-8"}),
        (
            f"number\tcontent\n{GB}\tcaf\u00e9\n".encode("cp1252"),
            "CSV, Windows-1252, delimiter 'tab'",
            {"delimiter": "tab", "encoding": "Windows-1252"},
        ),
    ],
    ids=["semicolon-utf-8", "tab-windows-1252"],
)
def test_the_reader_reports_the_encoding_and_delimiter_it_read_the_file_with(data, described, summary, caplog):
    source = reader(data)
    with caplog.at_level("INFO"):
        list(source.rows())
    assert source.report() | summary == source.report()
    assert source.report()["format"] == "CSV"
    assert [r.getMessage() for r in caplog.records if "Reading" in r.getMessage()] == [
        f"Reading the file as {described}"
    ]


def test_a_workbook_is_described_by_its_sheet():
    assert FileFormat("XLSX", sheet="Recipients").as_json() == {"format": "XLSX", "sheet": "Recipients"}
    assert FileFormat("XLSX", sheet="Recipients").described() == "XLSX, sheet 'Recipients'"
