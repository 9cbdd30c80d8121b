"""The report page: self-contained, every chart with its table, counts as the job has them, nothing unmasked."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from smsdrop.models import Status
from smsdrop.output.page_data import PageCollector
from smsdrop.output.report_page import _buckets, render
from smsdrop.output.results_file import BILLABLE
from smsdrop.output.sms_parts import PriceTable
from tests.unit.output.items import T0, item

FILES = {
    "page": "reports/nov/list.html",
    "results": "reports/nov/list.results.csv",
    "summary": "reports/nov/list.summary.json",
}
COUNTS = {"SUBMITTED": 1, "REJECTED": 2, "FAILED": 1, "DELIVERED": 1234}
SUMMARY = {
    "job_id": "0123abcd",
    "source": {"bucket": "b", "key": "incoming/nov/list.csv", "version_id": "v"},
    "state": "STOPPED",
    "dry_run": False,
    "rows": 1238,
    "counts": COUNTS,
    "stop_reason": "-10 balance <low> at row 3",
    "error": None,
    "cost": {"parts": 1235, "estimated": "2.7170"},
}
ITEMS = [
    item(2, "SUBMITTED", number="919876543210", at=T0),
    item(3, "FAILED", "-10 balance", number="919812345678", at=T0 + 70, provider_code="-10"),
    item(4, "REJECTED", "<script>alert(1)</script>", number="12ab", reject_code="NUMBER_LETTERS", parts=None),
    item(5, "REJECTED", "duplicate of row 2", number="919876543210", reject_code="DUPLICATE", parts=None),
    *(item(r, "DELIVERED", at=T0 + 130 + r // 100) for r in range(6, 1240)),
]


def page(summary=SUMMARY, items=ITEMS, counts_at=None):
    collector = PageCollector(PriceTable({"91": Decimal("0.0022")}, Decimal(0)), BILLABLE)
    for one in items:
        collector.add(one)
    data = collector.data(summary, FILES, T0 + 300)
    return render(data.with_counts(summary["counts"], counts_at) if counts_at else data)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parsed(html):
    tags = Tags()
    tags.feed(html)
    return tags


def test_the_page_loads_nothing_from_anywhere_and_forbids_it():
    html = page()
    tags = parsed(html).tags
    assert not [t for t, a in tags if t in ("script", "link", "img", "iframe", "object", "embed")]
    assert not [a for _, a in tags if "src" in a]
    assert [a["href"] for t, a in tags if t == "a"] == ["list.results.csv", "list.summary.json"]
    assert "url(" not in html
    assert "@import" not in html
    csp = [a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp == ["default-src 'none'; style-src 'unsafe-inline'"]


def test_every_chart_is_valid_svg_inside_a_figure_with_a_table_of_its_numbers():
    html = page()
    figures = re.findall(r'<figure class="chart">(.*?)</figure>', html, re.S)
    assert len(figures) == 3  # counts, cost, throughput
    for figure in figures:
        svg = re.search(r"<svg .*?</svg>", figure, re.S).group()
        root = ET.fromstring(svg)
        assert root.get("role") == "img"
        assert "<table" in figure
        assert "<tbody><tr" in figure


def test_the_counts_table_shows_every_count_of_the_job():
    rows = re.findall(r'<tr data-status="(\w+)">.*?<td class="n">([\d,]+)</td>', page(counts_at=T0 + 900), re.S)
    assert {status: int(n.replace(",", "")) for status, n in rows} == {
        "SUBMITTED": 1,
        "REJECTED": 2,
        "FAILED": 1,
        "UNKNOWN": 0,
        "DELIVERED": 1234,
    }


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_a_job_with_numbers_of_any_status_gets_a_row_with_its_colour_and_meaning(status):
    summary = {**SUMMARY, "counts": {status.value: 7}}
    html = page(summary, [item(2, status.value, at=T0)], counts_at=T0 + 900)
    row = re.search(rf'<tr data-status="{status.value}">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "7" in row[1]
    assert "background:#" in row[1]


def test_no_phone_number_appears_unmasked_and_hostile_text_is_only_text():
    html = page()
    assert "9876543210" not in html
    assert "9812345678" not in html
    assert "••••3210" in html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "-10 balance &lt;low&gt; at row 3" in html


def test_the_timeline_tells_the_start_the_stop_the_end_and_the_count_update_in_order():
    text = "".join(parsed(page(counts_at=T0 + 900)).text)
    events = ["started: invocation 1", "stopped by the provider", "finished STOPPED", "counts updated from delivery"]
    positions = [text.index(event) for event in events]
    assert positions == sorted(positions)
    assert "2027-01-15 08:01:10: stopped by the provider" in text


def test_numbers_undelivered_after_the_end_are_pointed_at_since_their_reasons_are_not_in_the_table():
    summary = {**SUMMARY, "counts": {**COUNTS, "DELIVERED": 1230, "UNDELIVERED": 4}}
    assert "4 numbers were reported UNDELIVERED after the job ended" in page(summary, counts_at=T0 + 900)
    assert "reported UNDELIVERED after" not in page()


def test_a_refused_file_gets_a_page_with_its_error_and_no_empty_charts():
    summary = {**SUMMARY, "state": "FAILED", "rows": 0, "counts": {}, "stop_reason": None, "error": "the file is empty"}
    html = page(summary, items=[])
    assert 'id="error">Error: the file is empty' in html
    assert "No row was recorded." in html
    assert "Nothing was (or would be) paid for." in html
    assert html.count("<svg") == 1  # the counts, all zero


@pytest.mark.parametrize(
    ("per_minute", "expected", "minutes"),
    [
        ([], [], 1),
        ([(T0, 5)], [(T0, 5)], 1),
        ([(T0, 5), (T0 + 180, 2)], [(T0, 5), (T0 + 60, 0), (T0 + 120, 0), (T0 + 180, 2)], 1),
        ([(T0, 5), (T0 + 3 * 3600, 2)], [(T0 - T0 % 300 + i * 300, 0) for i in range(37)], 5),
    ],
    ids=["nothing", "one-minute", "gaps-filled", "long-job-in-5-minute-buckets"],
)
def test_throughput_buckets_fill_gaps_and_grow_for_long_jobs(per_minute, expected, minutes):
    points, size = _buckets(per_minute)
    assert size == minutes
    if minutes == 5:
        assert len(points) <= 120
        assert sum(n for _, n in points) == 7
        assert [t for t, _ in points] == [t for t, _ in expected]
    else:
        assert points == expected
