"""Opt-out files: which keys are, where the number column is, and what a number on the list is written as."""

import pytest

from smsdrop.intake.optout_file import BAD_ROWS_KEPT, OptOutNumbers, is_opt_out_file, removes


@pytest.mark.parametrize(
    ("key", "opt_out", "remove"),
    [
        ("optouts/stop-2026-11.csv", True, False),
        ("optouts/remove/wrongly-added.CSV", True, True),
        ("optouts/stop.xlsx", False, False),
        ("incoming/optouts/stop.csv", False, False),
    ],
    ids=["add", "remove", "not-csv", "a-job-file"],
)
def test_a_csv_under_optouts_adds_and_one_under_optouts_remove_removes(key, opt_out, remove):
    assert is_opt_out_file(key) is opt_out
    assert removes(key) is remove


def lines(text):
    return [line.encode() for line in text.splitlines(keepends=True)]


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Mobile,Replied\n+91 98765 43210,STOP\n+447700900123,stop\n", ["919876543210", "447700900123"]),
        ("\ufeffname;Phone\nAsha;0044 7700 900123\n", ["447700900123"]),
        ("+919876543210\n+447700900123\n", ["919876543210", "447700900123"]),
        ("98765 43210\n", ["919876543210"]),
    ],
    ids=["header", "semicolon-bom-second-column", "bare-list", "national-in-the-default-region"],
)
def test_numbers_are_read_from_the_number_column_or_the_first_as_e164_digits(text, numbers):
    reader = OptOutNumbers.for_region("IN")
    assert list(reader.numbers(lines(text))) == numbers
    assert reader.bad == 0


def test_a_cell_that_is_no_number_is_counted_by_row_and_skipped_and_blank_cells_are_no_problem():
    reader = OptOutNumbers.for_region("")
    text = "number\n+919876543210\nSTOP\n\n" + "x\n" * (BAD_ROWS_KEPT + 5)
    assert list(reader.numbers(lines(text))) == ["919876543210"]
    assert reader.bad == BAD_ROWS_KEPT + 6
    assert reader.bad_rows[:2] == [3, 5]
    assert len(reader.bad_rows) == BAD_ROWS_KEPT


def test_an_empty_file_has_no_numbers():
    assert list(OptOutNumbers.for_region("").numbers([])) == []
