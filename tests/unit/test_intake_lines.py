from local.intake_lines import intake_lines

CSV = {"format": "CSV", "encoding": "Windows-1252", "delimiter": ";", "allowed_countries": [44, 91]}
CULPRIT = {
    "around": "…Ravi, don\u2019t miss ou…",
    "first_row": 3,
    "rows": 2,
    "character": "\u2019",
    "code": "U+2019",
    "position": 13,
    "parts": 2,
    "gsm7_parts": 1,
}


def test_a_csv_is_described_with_its_encoding_delimiter_and_the_destinations_allowed():
    lines = intake_lines(CSV | {"gsm_safe": {"on": False}, "ucs2": {"rows": 0, "contents": []}})
    assert lines == ["file: CSV, Windows-1252, delimiter ';'   allowed destinations: +44, +91 only"]


def test_a_workbook_names_its_sheet_and_every_country_when_none_is_listed():
    (line,) = intake_lines({"format": "XLSX", "sheet": "List", "allowed_countries": "all"})
    assert line == "file: XLSX, sheet 'List'   allowed destinations: every country"


def test_gsm_safe_and_each_ucs2_culprit_get_a_line():
    intake = CSV | {"gsm_safe": {"on": True, "characters": 3, "rows": 1}, "ucs2": {"rows": 2, "contents": [CULPRIT]}}
    assert intake_lines(intake)[1:] == [
        "GSM_SAFE: replaced 3 characters in 1 rows",
        "UCS-2: 2 row(s); what forced it, in the first 1 distinct text(s):",
        "  row      3 (x2): '\u2019' (U+2019) at position 13: 2 part(s), 1 in GSM-7   '…Ravi, don\u2019t miss ou…'",
    ]


def test_a_job_refused_before_its_summary_has_no_lines():
    assert intake_lines({}) == []
