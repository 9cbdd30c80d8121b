"""The report page of a local run, in a real browser (headless Chromium): what a person would check.

The run has rejections (the example campaign's bad rows), failures (the balance runs out, so the job stops)
and deliveries (the poller's reports redraw the page). The page must show the job's counts, have a table behind
every chart, make no request at all and log no error.
"""

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from local import ROOT
from tests.fixtures.browser import Chromium

CAMPAIGN = ROOT / "examples" / "campaign.csv"
FACTS = """(() => {
  const cells = [...document.querySelectorAll('#counts-table tbody tr')].map(r => r.innerText.split('\\t'));
  const charts = [...document.querySelectorAll('svg')].map(svg => {
    const table = svg.closest('figure')?.querySelector('table');
    return {id: svg.id, rows: table ? table.querySelectorAll('tbody tr').length : 0};
  });
  return {
    counts: Object.fromEntries(cells.map(c => [c[0].trim(), Number(c[1].replace(/,/g, ''))])),
    total: document.querySelector('#counts-table tfoot td').innerText,
    charts,
    text: document.body.innerText,
  };
})()"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("page")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "local.run",
            str(CAMPAIGN),
            "--json",
            *("--numbers-per-call", "50", "--in-flight", "1", "--balance", "150"),
            *("--delivery", "--delivered-ratio", "0.7", "--latency-ms", "5"),
            *("--report", "--report-dir", str(folder)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def browsed(run, tmp_path_factory):
    shot = tmp_path_factory.mktemp("shot") / "page.png"
    with Chromium() as browser:
        visit = browser.load(Path(run["page"]["path"]).as_uri())
        facts = browser.evaluate(FACTS)
        browser.screenshot(shot)
    return visit, facts, shot


def test_the_run_has_rejections_failures_and_deliveries_and_says_where_its_page_is(run):
    counts = run["counts"]
    assert run["state"] == "STOPPED"
    assert counts["REJECTED"] > 0
    assert counts["FAILED"] > 0
    assert counts["DELIVERED"] > 0
    assert counts["UNDELIVERED"] > 0
    assert run["page"]["key"] == "reports/campaign.html"
    assert Path(run["page"]["path"]).is_file()
    assert run["page"]["url"].startswith("http://127.0.0.1:")


def test_the_counts_a_person_reads_are_the_jobs_counts(run, browsed):
    _, facts, _ = browsed
    assert facts["counts"] == run["counts"]
    assert int(facts["total"].replace(",", "")) == run["rows"] == 329


def test_every_chart_has_a_table_behind_it(browsed):
    _, facts, _ = browsed
    assert [chart["id"] for chart in facts["charts"]] == ["counts-chart", "cost-chart", "throughput-chart"]
    assert all(chart["rows"] > 0 for chart in facts["charts"])


def test_the_page_makes_no_request_but_for_itself(run, browsed):
    visit, _, _ = browsed
    assert visit.requests == [Path(run["page"]["path"]).as_uri()]


def test_the_page_logs_no_error(browsed):
    visit, _, _ = browsed
    assert visit.errors == []


def test_the_stop_reason_the_reasons_and_the_files_are_on_screen(run, browsed):
    _, facts, _ = browsed
    text = facts["text"]
    assert f"Stopped: {run['stop_reason']}" in text
    assert "number contains letters" in text
    assert "not sent: job stopped" in text
    assert "Results file (one line per row)" in text


def test_the_screenshot_holds_the_whole_page(browsed):
    _, _, shot = browsed
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 1000
    assert height > 1500  # header, counts, timeline, reasons, cost, throughput and files: far past one screen


def test_the_browser_check_would_see_a_request_and_an_error_if_a_page_made_them(tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text(
        '<!doctype html><html><body><img src="http://127.0.0.1:9/pixel.png">'
        '<script>console.error("boom")</script></body></html>'
    )
    with Chromium() as browser:
        visit = browser.load(page.as_uri())
    assert "http://127.0.0.1:9/pixel.png" in visit.requests
    assert "boom" in visit.errors
