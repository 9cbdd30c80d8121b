"""Files as operators have them, through the real runner against moto and the simulator, and through local.run:
Excel's CSV (Windows-1252, semicolons), XLSX sheets (resumed too), placeholders, ALLOWED_COUNTRIES, GSM_SAFE, the
summary that says how the file was read and the results file a spreadsheet cannot mangle."""

import csv
import io
import json
import subprocess
import sys
from hashlib import sha256

import openpyxl

from local import ROOT
from smsdrop.send.runner import RunEnd

EXCEL_CSV = ROOT / "tests" / "data" / "excel_cp1252_semicolon.csv"


def read(harness, key):
    return harness.aws.client("s3").get_object(Bucket=harness.aws.names.bucket, Key=key)["Body"].read().decode()


def xlsx(rows, title="Recipients") -> bytes:
    book = openpyxl.Workbook()
    book.active.title = title
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def countdown(checks: int):
    """An invocation's time left: plenty for `checks` asks, then none (a hand-over after so many batches)."""
    left = [checks]

    def remaining_ms() -> int:
        left[0] -= 1
        return 900_000 if left[0] >= 0 else 0

    return remaining_ms


def test_an_excel_csv_is_read_as_written_and_the_summary_says_how(harness):
    upload = harness.upload(EXCEL_CSV.read_bytes(), key="incoming/excel.csv")
    result = harness.run(upload, harness.runner(allowed_countries="91,44"))
    assert result.end is RunEnd.COMPLETED
    items = {int(i["row"]): i for i in harness.items(upload)}
    sent = {o.order_id: o for o in harness.simulator.audit().accepted}
    assert sent.keys() == {"A-1001", "A-1002", "A-1003"}
    assert (items[5]["reject_code"], items[6]["reject_code"]) == ("COUNTRY_NOT_ALLOWED", "PLACEHOLDER_EMPTY")
    summary = json.loads(read(harness, result.reports.summary))
    intake = summary["intake"]
    assert (intake["format"], intake["encoding"], intake["delimiter"]) == ("CSV", "Windows-1252", ";")
    assert intake["allowed_countries"] == [44, 91]
    (culprit,) = intake["ucs2"]["contents"]
    assert (culprit["first_row"], culprit["character"], culprit["position"]) == (3, "\u2019", 13)
    assert (culprit["parts"], culprit["gsm7_parts"]) == (2, 1)
    lines = list(csv.DictReader(io.StringIO(read(harness, result.reports.results))))
    assert [line["number"] for line in lines[:2]] == ["'919876543210", "'919876543211"]
    assert [line["encoding"] for line in lines] == ["GSM-7", "UCS-2", "GSM-7", "", ""]
    assert all(line["msgId"].startswith("'") or not line["msgId"][:1].isdigit() for line in lines)


def test_gsm_safe_sends_the_twins_and_counts_them(harness):
    upload = harness.upload(EXCEL_CSV.read_bytes(), key="incoming/excel.csv")
    result = harness.run(upload, harness.runner(gsm_safe=True))
    summary = json.loads(read(harness, result.reports.summary))
    assert summary["intake"]["gsm_safe"] == {"on": True, "characters": 3, "rows": 1}
    assert summary["intake"]["ucs2"] == {"rows": 0, "contents": []}
    items = {int(i["row"]): i for i in harness.items(upload)}
    assert items[3]["encoding"] == "GSM-7"


def test_an_xlsx_sheet_named_in_the_metadata_is_sent_across_hand_overs_each_row_once(harness):
    rows = [["Phone", "Message", "Name"]]
    rows += [[919876500000 + i, "Hi ((name))", f"N{i}"] if i % 50 else [] for i in range(1, 251)]
    data = xlsx(rows, title="List")
    book_with_notes = openpyxl.load_workbook(io.BytesIO(data))
    book_with_notes.create_sheet("Notes", 0).append(["not", "recipients"])
    out = io.BytesIO()
    book_with_notes.save(out)
    upload = harness.upload(out.getvalue(), key="incoming/list.xlsx", metadata={"sheet": "List"})
    results = harness.run_to_end(upload, lambda: countdown(1))
    assert [r.end for r in results][-1] is RunEnd.COMPLETED
    assert len(results) > 2
    accepted = harness.simulator.audit().accepted
    filled = {str(919876500000 + i): sha256(f"Hi N{i}".encode()).hexdigest() for i in range(1, 251) if i % 50}
    assert {a.number: a.content_sha256 for a in accepted} == filled
    assert len(accepted) == len(filled)
    assert harness.simulator.audit().duplicate_numbers == 0
    summary = json.loads(read(harness, results[-1].reports.summary))
    assert summary["intake"]["sheet"] == "List"
    assert summary["rows"] == 245


def test_a_dry_run_through_local_run_shows_the_file_the_destinations_and_the_ucs2_culprits():
    done = subprocess.run(
        [sys.executable, "-m", "local.run", str(EXCEL_CSV), "--dry-run", "--allowed-countries", "91,44"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "file: CSV, Windows-1252, delimiter ';'   allowed destinations: +44, +91 only" in done.stdout
    assert "'\u2019' (U+2019) at position 13: 2 part(s), 1 in GSM-7" in done.stdout
    assert "country +1 not allowed (ALLOWED_COUNTRIES: 44, 91)" in done.stdout
    assert "placeholder ((name)) is empty in this row (column 'Name')" in done.stdout
