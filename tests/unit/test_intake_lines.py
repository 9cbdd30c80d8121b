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


def test_the_guards_line_names_the_caps_the_check_the_opt_outs_the_window_and_a_dry_run_s_wait():
    guards = {
        "max_rows_per_job": 12000,
        "max_cost_per_job": "50",
        "checked_first": {"rows": 400, "estimated_cost": "0.88"},
        "opted_out": 3,
        "send_window": "09:00-21:00 Asia/Kolkata",
        "would_wait": {"until": "2026-12-02T03:30:00+00:00", "why": "send window 09:00-21:00 Asia/Kolkata"},
    }
    line = intake_lines(CSV | {"guards": guards})[1]
    assert line.split("   ") == [
        "guards: MAX_ROWS_PER_JOB 12,000",
        "MAX_COST_PER_JOB 50",
        "checked first: 400 rows, estimated cost 0.88",
        "opted out: 3 row(s)",
        "SEND_WINDOW 09:00-21:00 Asia/Kolkata",
        "the send would wait until 2026-12-02T03:30:00+00:00 (send window 09:00-21:00 Asia/Kolkata)",
    ]


def test_no_guard_set_says_no_caps():
    assert intake_lines(CSV | {"guards": {"send_window": None, "would_wait": None}})[1] == "guards: no caps"
