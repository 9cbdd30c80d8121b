"""`python -m local.run ... --report [--open]`: the options, opening the page, and where the summary shows it."""

import webbrowser
from pathlib import Path

from local.run import open_page, parse
from local.summary import Summary

PAGE = {"key": "reports/c.html", "path": "/tmp/r/c.html", "url": "http://127.0.0.1:5000/b/reports/c.html?X=1"}


def summary(page=None):
    return Summary("j", "COMPLETED", 1, {"SUBMITTED": 1}, "", "", 1, 0.5, page=page)


def test_open_asks_for_the_report_too():
    assert parse(["x.csv", "--open"]).report
    assert not parse(["x.csv"]).report
    assert parse(["x.csv", "--report", "--report-dir", "out"]).report_dir == Path("out")


def test_the_page_is_opened_by_its_file_uri(tmp_path):
    opened = []
    assert open_page(tmp_path / "c.html", lambda uri: opened.append(uri) or True)
    assert opened == [(tmp_path / "c.html").as_uri()]


def test_no_browser_is_no_failure(tmp_path):
    def no_browser(uri):
        raise webbrowser.Error("could not locate runnable browser")

    assert not open_page(tmp_path / "c.html", no_browser)
    assert not open_page(tmp_path / "c.html", lambda uri: False)


def test_the_text_summary_ends_with_the_pages_path_and_the_json_holds_it_all():
    assert summary(PAGE).as_text().splitlines()[-2:] == [
        f"presigned URL (served while this run lasts): {PAGE['url']}",
        f"report page: {PAGE['path']}",
    ]
    assert summary(PAGE).as_json()["page"] == PAGE
    assert summary().as_json()["page"] is None
    assert "report page" not in summary().as_text()
