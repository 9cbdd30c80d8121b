"""XLSX uploads: a sheet read as a stream, cells as a person reads them, the same columns and rules as a CSV."""

import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from smsdrop.intake.rejections import FileProblem, FileRefused
from smsdrop.intake.sheet_records import _text
from smsdrop.models import Position, Recipient
from tests.unit.intake.reading import read, reader

KEY = "incoming/list.xlsx"


def workbook(*sheets: tuple[str, list[list]]) -> bytes:
    """An .xlsx with these sheets (name, rows); a row [] is an empty row."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets:
        sheet = book.create_sheet(name)
        for number, row in enumerate(rows, start=1):
            for column, value in enumerate(row, start=1):
                sheet.cell(row=number, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROWS = [
    ["Phone", "Message", "Name", "Reference"],
    [919876543210, "Hi ((name))", "Asha", 10001],
    [],
    ["+447911123456", "Hello", "Ravi", "R-2"],
    [919876543210.5, "Half a number", "X", "R-4"],
    [447911123457.0, "Float that is whole", "Y", "R-5"],
]


def test_a_sheet_gives_rows_with_every_digit_of_numbers_stored_as_numbers_and_skips_empty_rows():
    source = reader(workbook(("Recipients", ROWS)), KEY)
    rows = list(source.rows())
    assert [(r.row, r.number, r.content if isinstance(r, Recipient) else r.code, r.order_id) for r in rows] == [
        (2, "919876543210", "Hi Asha", "10001"),
        (4, "447911123456", "Hello", "R-2"),
        (5, "919876543210.5", "NUMBER_NOT_WHOLE", "R-4"),
        (6, "447911123457", "Float that is whole", "R-5"),
    ]
    assert rows[2].reason.startswith("number is the decimal number 919876543210.5 in the spreadsheet")
    assert (source.blank_lines, source.position) == (1, Position(offset=6, row=6))
    assert source.report()["format"] == "XLSX"
    assert source.report()["sheet"] == "Recipients"


def test_a_number_shown_in_scientific_format_is_read_as_its_value():
    data = workbook(("S", [["number", "content"], [919876543210, "Hi"]]))
    book = openpyxl.load_workbook(io.BytesIO(data))
    book["S"]["A2"].number_format = "0.00E+00"  # what Excel shows as 9.20E+11
    out = io.BytesIO()
    book.save(out)
    (row,) = read(out.getvalue(), KEY)
    assert row.number == "919876543210"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (919876543210, "919876543210"),
        (919876543210.0, "919876543210"),
        (1e20, "100000000000000000000"),
        (2.5, "2.5"),
        ("+44 7911", "+44 7911"),
        (None, ""),
        (True, "TRUE"),
    ],
    ids=["int", "whole-float", "big-whole-float-no-exponent", "fraction", "text", "empty", "boolean"],
)
def test_a_cell_becomes_the_text_a_person_reads_in_it(value, text):
    assert _text(value) == text


def test_the_sheet_named_in_the_metadata_is_read_else_the_first():
    data = workbook(("Notes", [["just", "notes"]]), ("Recipients", [["number", "content"], ["+447911123456", "Hi"]]))
    (row,) = read(data, KEY, metadata={"sheet": "Recipients"})
    assert isinstance(row, Recipient)
    with pytest.raises(FileRefused) as caught:
        read(data, KEY)
    assert caught.value.problem is FileProblem.NO_NUMBER_COLUMN


def test_a_sheet_that_is_not_in_the_workbook_refuses_the_file_naming_the_sheets():
    data = workbook(("Notes", [["x"]]), ("Recipients", [["number", "content"]]))
    with pytest.raises(FileRefused, match=r"no sheet named 'Sheet9' \(its sheets: 'Notes', 'Recipients'\)"):
        read(data, KEY, metadata={"sheet": "Sheet9"})


@pytest.mark.parametrize(
    "data",
    [b"number,content\n+447911123456,Hi\n", b"PK\x03\x04 not really a zip", b""],
    ids=["a-csv-named-xlsx", "broken-zip", "empty"],
)
def test_a_file_named_xlsx_that_is_no_workbook_is_refused(data):
    with pytest.raises(FileRefused) as caught:
        read(data, KEY)
    assert caught.value.problem is FileProblem.NOT_XLSX


def test_cells_past_the_header_are_ignored_when_empty_and_a_field_too_many_when_not():
    rows = [["number", "content"], ["+447911123456", "Hi", None, None], ["+447911123457", "Hi", None, "stray"]]
    first, second = read(workbook(("S", rows)), KEY)
    assert first.content == "Hi"
    assert (second.code, second.reason) == ("FIELD_COUNT", "row has 4 fields, header has 2")


def test_a_resume_reads_the_sheet_again_and_skips_the_rows_up_to_its_checkpoint_still_seeing_duplicates():
    body = [[f"+4479111234{i:02d}", "Hi"] for i in range(30)]
    data = workbook(("S", [["number", "content"], *body, ["+447911123400", "Hi"]]))
    everything = read(data, KEY)
    rest = read(data, KEY, start=Position(offset=20, row=20))
    assert rest == everything[19:]
    assert (rest[-1].code, rest[-1].reason) == ("DUPLICATE", "duplicate of row 2: same number and content")


def test_the_workbook_is_read_through_ranged_gets_not_one_download():
    source = reader(workbook(("S", [["number", "content"], ["+447911123456", "Hi"]])), KEY)
    list(source.rows())
    assert source._object[0].gets > 1  # a ZIP's directory is at its end: the reader seeks there, then back


def test_a_csv_job_never_imports_openpyxl():
    code = (
        "import sys\n"
        "from tests.unit.intake.reading import read\n"
        "read('number,content\\n+447911123456,Hi\\n')\n"
        "assert 'openpyxl' not in sys.modules, 'openpyxl imported'\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "layers" / "smsdrop"), str(root)])}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
