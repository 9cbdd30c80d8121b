import pytest

from smsdrop.intake.uploads import Upload
from smsdrop.output.excel_cells import neutralise
from smsdrop.output.results_file import ReportKeys, result_line


@pytest.mark.parametrize(
    ("key", "results", "summary"),
    [
        ("incoming/campaign.csv", "reports/campaign.results.csv", "reports/campaign.summary.json"),
        ("incoming/nov/list.CSV.gz", "reports/nov/list.results.csv", "reports/nov/list.summary.json"),
        ("incoming/dry-run/a.csv", "reports/dry-run/a.results.csv", "reports/dry-run/a.summary.json"),
        ("incoming/campaign.xlsx", "reports/campaign.xlsx.results.csv", "reports/campaign.xlsx.summary.json"),
    ],
    ids=["csv", "gzip-in-folder", "dry-run", "workbook-keeps-its-suffix-apart-from-a-csv-of-the-same-name"],
)
def test_reports_are_named_after_the_upload(key, results, summary):
    assert ReportKeys.of(Upload("b", key)) == ReportKeys(results, summary)


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+44", "'+44"),
        ("-10 insufficient balance", "'-10 insufficient balance"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("919876543210", "919876543210"),
        ("", ""),
    ],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return", "plain", "empty"],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(cell, safe):
    assert neutralise(cell) == safe


def test_a_result_line_has_every_column_in_order():
    item = {
        "row": {"N": "7"},
        "number": {"S": "919876543210"},
        "order_id": {"S": "=1+1"},
        "status": {"S": "SUBMITTED"},
        "reason": {"S": ""},
        "msg_id": {"S": "m1"},
        "parts": {"N": "2"},
        "encoding": {"S": "UCS-2"},
    }
    assert result_line(item) == ["7", "'919876543210", "'=1+1", "SUBMITTED", "", "m1", "2", "UCS-2"]
