"""The results file written as the job runs: lines in row order whatever order rows are recorded in, 5 MiB parts
(smaller here), carried from invocation to invocation, and nothing lost or written twice when one dies."""

import csv
import io
import json
import random
from decimal import Decimal

import pytest

from smsdrop.intake.uploads import Upload
from smsdrop.output import results_stream
from smsdrop.output.results_file import COLUMNS, ReportKeys, result_line
from smsdrop.output.results_stream import ResultsFiles
from smsdrop.output.sms_parts import PriceTable
from smsdrop.output.stream_state import STATE_PREFIX
from tests.unit.output.fake_s3 import FakeS3

PART = 2_000
UPLOAD = Upload("bucket", "incoming/list.csv", "v1")
KEYS = ReportKeys.of(UPLOAD)
PRICES = PriceTable({"91": Decimal("0.002")}, Decimal("0.01"))
SUMMARY = {"job_id": "j", "state": "COMPLETED", "counts": {}}


class Crash(Exception):  # noqa: N818 - what happens, said plainly
    """The invocation dies here."""


class Ledger:
    """The job item's record of the parts; `fail_next` makes the next record die (a crash before it is told)."""

    def __init__(self):
        self.parts = None
        self.fail_next = False

    def record_parts(self, parts):
        if self.fail_next:
            self.fail_next = False
            raise Crash
        self.parts = parts


@pytest.fixture(autouse=True)
def small_parts(monkeypatch):
    monkeypatch.setattr(results_stream, "PART_BYTES", PART)


def item(row, status="SUBMITTED"):
    return {
        "row": {"N": str(row)},
        "number": {"S": f"9198765{row:05d}"},
        "status": {"S": status},
        "reason": {"S": "" if status == "SUBMITTED" else "number contains letters"},
        "batch": {"S": "1.0"},
        "updated_at": {"N": "1800000000"},
        "parts": {"N": "1"},
        "country_code": {"N": "91"},
    }


def rows_of(s3):
    lines = list(csv.reader(io.StringIO(s3.objects[KEYS.results].decode(), newline="")))
    assert lines[0] == list(COLUMNS)
    return [int(line[0]) for line in lines[1:]]


def opened(s3, ledger):
    return ResultsFiles(s3, PRICES, clock=lambda: 1_800_000_600).open(UPLOAD, ledger, ledger.parts)


def summary_of(s3):
    return json.loads(s3.objects[KEYS.summary])


def test_lines_follow_the_checkpoint_in_row_order_whatever_order_rows_are_recorded_in():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    rows = list(range(2, 800))
    random.Random(1).shuffle(rows)
    for start in range(0, len(rows), 50):
        stream.add(item(r) for r in rows[start : start + 50])
        stream.advance(min([*rows[start + 50 :], 800]) - 1)  # up to the first row not recorded yet
    stream.close(SUMMARY)
    assert rows_of(s3) == list(range(2, 800))
    assert len(ledger.parts.etags) > 3  # a line file this long went up in parts, each told to the job item
    assert summary_of(s3)["cost"] == {"parts": 798, "estimated": "1.596"}
    assert not [key for key in s3.objects if key.startswith(STATE_PREFIX)]  # state objects go with the job


def test_a_line_is_written_once_even_if_its_item_comes_twice():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    stream.add([item(2), item(3)])
    stream.advance(3)
    stream.add([item(3), item(4), item(4)])
    stream.close(SUMMARY)
    assert rows_of(s3) == [2, 3, 4]


def test_a_small_file_is_one_put_and_no_multipart_upload():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    stream.add([item(3, "REJECTED"), item(2)])
    stream.close(SUMMARY)
    assert rows_of(s3) == [2, 3]
    assert (s3.uploads, ledger.parts) == ({}, None)
    assert s3.objects[KEYS.results].startswith(b"row,number,orderId,status,reason,msgId,parts,encoding\r\n2,")


def one_go(rows):
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    stream.add(item(r, "REJECTED" if r % 9 == 0 else "SUBMITTED") for r in rows)
    stream.close(SUMMARY)
    return s3


def test_an_invocation_carries_on_where_the_last_one_handed_over_and_the_file_is_the_same():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    status = {r: "REJECTED" if r % 9 == 0 else "SUBMITTED" for r in range(2, 400)}
    for through in (90, 170, 171, 330):  # four invocations, each handing over with rows recorded past its checkpoint
        stream = opened(s3, ledger)
        stream.add(item(r, status[r]) for r in range(max(2, stream.through_row + 1), through + 1))
        stream.add(item(r, status[r]) for r in range(through + 5, through + 9) if r not in stream.held_rows)
        stream.advance(through)
        stream.hand_over()
    last = opened(s3, ledger)
    assert last.through_row == 330
    assert last.held_rows == frozenset(range(335, 339))
    last.add(item(r, status[r]) for r in range(331, 400) if r not in last.held_rows)
    last.close(SUMMARY)
    whole = one_go(range(2, 400))
    assert s3.objects[KEYS.results] == whole.objects[KEYS.results]
    assert summary_of(s3)["cost"] == summary_of(whole)["cost"]
    page = json.loads(s3.objects["reports/list.page.json"])
    assert page["reasons"] == json.loads(whole.objects["reports/list.page.json"])["reasons"]


def test_after_a_crash_the_next_invocation_starts_from_the_last_part_and_needs_only_the_lines_after_it():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    stream.add(item(r) for r in range(2, 200))
    stream.advance(199)  # parts go up; the lines after the last one are only in this invocation's memory
    parts_through = ledger.parts.through_row
    assert 0 < parts_through < 199
    # it dies here: no hand-over
    after = opened(s3, ledger)
    assert after.through_row == parts_through
    after.add(item(r) for r in range(parts_through + 1, 250))  # what the runner reads back: a part's worth at most
    after.close(SUMMARY)
    assert rows_of(s3) == list(range(2, 250))


def test_a_crash_between_a_part_and_the_job_item_hearing_of_it_uploads_that_part_again():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    stream.add(item(r) for r in range(2, 60))
    stream.advance(59)
    told = ledger.parts
    ledger.fail_next = True
    stream.add(item(r) for r in range(60, 200))
    with pytest.raises(Crash):
        stream.advance(199)  # the next part is in S3, its state saved, the job item not told
    after = opened(s3, ledger)
    assert ledger.parts == told
    assert after.through_row == told.through_row
    after.add(item(r) for r in range(told.through_row + 1, 230))
    after.close(SUMMARY)
    assert rows_of(s3) == list(range(2, 230))


def test_closing_again_after_the_upload_was_completed_is_harmless():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    stream.add(item(r) for r in range(2, 200))
    stream.advance(150)
    stream.hand_over()
    first = opened(s3, ledger)
    first.close(SUMMARY)  # ... and the invocation dies before the job item is closed
    written = s3.objects[KEYS.results]
    again = opened(s3, ledger)  # the retry finds the upload completed (NoSuchUpload) and keeps the file
    again.close(SUMMARY)
    assert s3.objects[KEYS.results] == written
    assert rows_of(s3) == list(range(2, 200))


def test_a_lost_state_object_costs_the_page_its_earlier_tallies_but_never_the_file():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    stream.add(item(r) for r in range(2, 200))
    stream.advance(199)
    for key in [key for key in s3.objects if key.startswith(STATE_PREFIX)]:
        del s3.objects[key]
    after = opened(s3, ledger)
    assert after.through_row == ledger.parts.through_row
    after.add(item(r) for r in range(after.through_row + 1, 200))
    after.close(SUMMARY)
    assert rows_of(s3) == list(range(2, 200))
    assert summary_of(s3)["cost"]["parts"] < 198


def test_an_empty_job_still_gets_a_results_file_with_its_header():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    opened(s3, ledger).close(SUMMARY)
    assert s3.objects[KEYS.results] == b"row,number,orderId,status,reason,msgId,parts,encoding\r\n"


def test_a_line_with_quotes_commas_and_any_script_reads_back_as_its_cells():
    s3, ledger = FakeS3(min_part=PART), Ledger()
    stream = opened(s3, ledger)
    odd = {**item(2, "REJECTED"), "reason": {"S": 'naïve, "quoted" é ही'}}
    stream.add([odd, item(3)])
    stream.close(SUMMARY)
    lines = list(csv.reader(io.StringIO(s3.objects[KEYS.results].decode(), newline="")))
    assert lines[1:] == [result_line(odd), result_line(item(3))]
