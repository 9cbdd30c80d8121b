import csv
import io

import pytest

from smsdrop.output.excel_cells import RESULT_COLUMNS, as_text, result_cells

MSG_ID = "1754389123456789012"  # 19 digits: Excel keeps 15 of them when it reads it as a number


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("919876543210", "'919876543210"),
        (MSG_ID, f"'{MSG_ID}"),
        ("0044123", "'0044123"),
        ("9.18563E+11", "'9.18563E+11"),
        ("+919876543210", "'+919876543210"),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("'quoted", "''quoted"),
        ("3f0c2a-17", "'3f0c2a-17"),
        ("job-17", "job-17"),
        ("", ""),
    ],
    ids=[
        "e164-digits",
        "19-digit-msg-id",
        "leading-zeros",
        "scientific-as-written",
        "plus",
        "formula",
        "apostrophe-kept-reversible",
        "starts-with-a-digit",
        "letters-first",
        "empty",
    ],
)
def test_an_identifier_cell_a_spreadsheet_would_run_or_turn_into_a_number_is_written_as_text(cell, written):
    assert as_text(cell) == written


def test_taking_one_leading_apostrophe_off_gives_every_identifier_back_as_it_was():
    for cell in ["919876543210", MSG_ID, "'quoted", "''", "job-17", "=1+1", ""]:
        written = as_text(cell)
        assert (written[1:] if written.startswith("'") else written) == cell


def test_a_line_has_the_encoding_column_last_and_keeps_numbers_and_msg_ids_as_text():
    value = {"row": 2, "number": "919876543210", "order_id": "A1", "status": "SUBMITTED", "msg_id": MSG_ID}
    line = result_cells(value | {"parts": 2, "encoding": "UCS-2"})
    assert dict(zip(RESULT_COLUMNS, line, strict=True)) == {
        "row": "2",
        "number": "'919876543210",
        "orderId": "A1",
        "status": "SUBMITTED",
        "reason": "",
        "msgId": f"'{MSG_ID}",
        "parts": "2",
        "encoding": "UCS-2",
    }


def test_a_rejected_row_has_no_encoding_and_its_reason_cannot_run():
    value = {"row": 3, "number": "12ab", "order_id": "j-3", "status": "REJECTED", "reason": "-1 is no number"}
    assert result_cells(value)[4:] == ["'-1 is no number", "", "", ""]


def test_the_csv_module_writes_the_marker_as_a_plain_character_a_spreadsheet_opens_as_text():
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(result_cells({"row": 2, "number": "919876543210", "status": "S"}))
    assert out.getvalue() == "2,'919876543210,,S,,,,\n"
