"""A job's report page: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched).

It renders offline, from a presigned URL or from a local file alike; its Content-Security-Policy forbids any
request, so nothing added later can make it call out either. Every chart has a table of the same numbers.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from urllib.parse import quote

from phonenumbers import region_code_for_country_code

from smsdrop.models import SEND_STATUSES, Status
from smsdrop.output.page_data import RECOVERED, PageData, ReasonGroup, Span
from smsdrop.output.svg_charts import Bar, bar_chart, column_chart

TOP_REASONS = 10
MAX_COLUMNS = 120
BUCKET_MINUTES = (1, 5, 15, 60, 360, 1440)
COLOURS: dict[Status, str] = {
    Status.SUBMITTED: "#2b6cb0",
    Status.DELIVERED: "#2f855a",
    Status.UNDELIVERED: "#c05621",
    Status.REJECTED: "#718096",
    Status.FAILED: "#c53030",
    Status.UNKNOWN: "#6b46c1",
    Status.VALIDATED: "#2c7a7b",
    Status.CANCELLED: "#a0aec0",
}
MEANINGS: dict[Status, str] = {
    Status.SUBMITTED: "accepted by the provider; no delivery report yet",
    Status.DELIVERED: "delivered to the phone",
    Status.UNDELIVERED: "the provider could not deliver it",
    Status.REJECTED: "refused by our checks; never sent",
    Status.FAILED: "refused by the provider, or not sent after the job stopped",
    Status.UNKNOWN: "the answer was lost; maybe sent, never resent",
    Status.VALIDATED: "checked in a dry run; nothing sent",
    Status.CANCELLED: "never sent: the job was cancelled first",
}
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a202c;margin:0;background:#f7fafc}
header,main,footer{max-width:980px;margin:0 auto;padding:0 20px}
header{padding-top:18px}h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:0 0 .6em}
section{background:#fff;border:1px solid #e2e8f0;border-radius:6px;padding:14px 18px;margin:14px 0}
.state{display:inline-block;padding:1px 10px;border-radius:12px;color:#fff;font-size:.7em;vertical-align:middle}
.COMPLETED{background:#2f855a}.STOPPED{background:#c05621}.FAILED{background:#c53030}.RUNNING{background:#2b6cb0}
.meta{color:#4a5568;margin:.2em 0}.alert{background:#fff5f5;border-left:4px solid #c53030;padding:6px 10px}
table{border-collapse:collapse;margin:8px 0;font-size:.93em}th,td{border-bottom:1px solid #e2e8f0;padding:4px 10px;
text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:0}svg{max-width:100%;height:auto}figcaption{color:#4a5568;font-size:.9em}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
ol.timeline{padding-left:1.2em}ul.examples{margin:0;padding-left:1em;color:#4a5568}.nw{white-space:nowrap}footer{color:#4a5568;
font-size:.85em;padding-bottom:24px}code{font-size:.95em}
"""


def render(data: PageData) -> str:
    """The whole page for `data`."""
    s = data.summary
    name = posixpath.basename(str(s.get("source", {}).get("key", ""))) or s["job_id"]
    sections = [_counts(data), _timeline(data), _reasons(data), _cost(data), _throughput(data), _files(data)]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{escape(name)}: {escape(s['state'])} - smsdrop</title><style>{CSS}</style></head><body>"
        f"{_header(data, name)}<main>{''.join(sections)}</main>{_footer(data)}</body></html>\n"
    )


def _header(data: PageData, name: str) -> str:
    s = data.summary
    dry = "dry run (nothing was sent) · " if s.get("dry_run") else ""
    alerts = [
        f'<p class="alert" id="stop-reason">Stopped: {escape(s["stop_reason"])}</p>' if s.get("stop_reason") else "",
        f'<p class="alert" id="error">Error: {escape(s["error"])}</p>' if s.get("error") else "",
    ]
    return (
        f'<header><h1>{escape(name)} <span class="state {escape(s["state"])}">{escape(s["state"])}</span></h1>'
        f'<p class="meta">{dry}job <code>{escape(s["job_id"])}</code> · {int(s.get("rows") or 0):,} rows · '
        f"finished {_time(data.finished_at)}{_took(data)}</p>{''.join(alerts)}</header>"
    )


def _took(data: PageData) -> str:
    """How long from the first row recorded to the end, and the rows per second over that time."""
    if not data.spans:
        return ""
    seconds = max(1, data.finished_at - min(span.first for span in data.spans))
    rows = sum(span.rows for span in data.spans)
    return f" · took {_duration(seconds)} ({rows / seconds:,.1f} rows/s)"


def _duration(seconds: int) -> str:
    """`42 s`, `3 min 5 s`, `2 h 7 min`."""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _counts(data: PageData) -> str:
    counts = {k: int(v) for k, v in data.summary.get("counts", {}).items()}
    shown = [*SEND_STATUSES, *(s for s in Status if s not in SEND_STATUSES and counts.get(s.value))]
    total = sum(counts.values())
    bars = [Bar(s.value, counts.get(s.value, 0), _share(counts.get(s.value, 0), total), COLOURS[s]) for s in shown]
    rows = "".join(
        f'<tr data-status="{s.value}"><th scope="row"><span class="key" style="background:{COLOURS[s]}"></span>'
        f'{s.value}</th><td class="n">{counts.get(s.value, 0):,}</td>'
        f'<td class="n">{_pct(counts.get(s.value, 0), total)}</td><td>{MEANINGS[s]}</td></tr>'
        for s in shown
    )
    updated = f" (updated {_stamp(data.counts_updated_at)} from delivery reports)" if data.counts_updated_at else ""
    return _section(
        "counts",
        "Numbers by status",
        _figure(
            bar_chart("counts-chart", "Numbers by status", bars),
            f"Every row of the file has exactly one status{updated}.",
            '<table id="counts-table"><thead><tr><th>Status</th><th class="n">Numbers</th><th class="n">Share</th>'
            f'<th>Meaning</th></tr></thead><tbody>{rows}</tbody><tfoot><tr><th scope="row">Total</th>'
            f'<td class="n">{total:,}</td><td></td><td></td></tr></tfoot></table>',
        ),
    )


def _timeline(data: PageData) -> str:
    events = [(span.first, _span_text(span, i)) for i, span in enumerate(data.spans)]
    if data.stopped_at is not None:
        events.append((data.stopped_at, f"stopped by the provider: {data.summary.get('stop_reason', '')}"))
    ended = f"finished {data.summary['state']}: results file and summary written"
    events.append((data.finished_at, ended + (f" ({data.summary['error']})" if data.summary.get("error") else "")))
    if data.counts_updated_at:
        events.append((data.counts_updated_at, "counts updated from delivery reports"))
    items = "".join(f"<li>{_time(at)}: {escape(text)}</li>" for at, text in sorted(events, key=lambda e: e[0]))
    return _section("timeline", "Timeline", f'<ol class="timeline">{items}</ol>')


def _span_text(span: Span, index: int) -> str:
    until = f"{span.rows:,} rows recorded until {_stamp(span.last)}"
    if span.name == RECOVERED:
        return f"rows an invocation died sending were recorded UNKNOWN ({span.rows:,}, never resent)"
    if index == 0:
        return f"started: invocation {span.name} recorded its first row; {until}"
    return f"resumed: invocation {span.name} (a continuation or the sweep) took over; {until}"


def _reasons(data: PageData) -> str:
    rejected = [g for g in data.reasons if g.status == Status.REJECTED][:TOP_REASONS]
    failed = [g for g in data.reasons if g.status != Status.REJECTED][:TOP_REASONS]
    listed = sum(g.count for g in data.reasons if g.status == Status.UNDELIVERED)
    later = int(data.summary.get("counts", {}).get(Status.UNDELIVERED.value, 0)) - listed
    note = (
        f'<p id="reasons-later">{later:,} numbers were reported UNDELIVERED after the job ended: their reasons are on '
        "their items in the table (status UNDELIVERED), not here.</p>"
        if later > 0
        else ""
    )
    return _section(
        "reasons",
        "Why numbers were rejected or failed",
        _reason_table("rejections", "Top rejection reasons", rejected)
        + _reason_table("failures", "Top failure reasons (failed, unknown, undelivered)", failed)
        + note,
    )


def _reason_table(table_id: str, caption: str, groups: Sequence[ReasonGroup]) -> str:
    if not groups:
        return f'<p id="{table_id}-none">{escape(caption)}: none.</p>'
    rows = "".join(
        f"<tr><td>{g.status}</td><td><code>{escape(g.code)}</code></td><td>{escape(g.label)}</td>"
        f'<td class="n">{g.count:,}</td><td><ul class="examples">{_examples(g)}</ul></td></tr>'
        for g in groups
    )
    return (
        f'<table id="{table_id}"><caption>{escape(caption)}</caption><thead><tr><th>Status</th><th>Code</th>'
        f'<th>Reason</th><th class="n">Numbers</th><th>Example rows</th></tr></thead><tbody>{rows}</tbody></table>'
    )


def _examples(group: ReasonGroup) -> str:
    return "".join(
        f'<li><span class="nw">row {int(e["row"])} {escape(e["number"])}</span>'
        + (f": {escape(e['reason'])}" if group.varied and e["reason"] != group.reason else "")
        + "</li>"
        for e in group.examples
    )


def _cost(data: PageData) -> str:
    cost = data.summary.get("cost", {})
    if not data.countries:
        return _section("cost", "SMS parts and estimated cost", "<p>Nothing was (or would be) paid for.</p>")
    bars = [Bar(_country(c.code), c.parts, f"{c.parts:,} parts") for c in data.countries[:TOP_REASONS]]
    rows = "".join(
        f'<tr><th scope="row">{escape(_country(c.code))}</th><td class="n">{c.numbers:,}</td>'
        f'<td class="n">{c.parts:,}</td><td class="n">{c.estimate}</td></tr>'
        for c in data.countries
    )
    table = (
        '<table id="cost-table"><thead><tr><th>Country</th><th class="n">Numbers</th><th class="n">Parts</th>'
        f'<th class="n">Estimated cost</th></tr></thead><tbody>{rows}</tbody><tfoot><tr><th scope="row">Total</th>'
        f'<td class="n">{sum(c.numbers for c in data.countries):,}</td><td class="n">{int(cost.get("parts", 0)):,}'
        f'</td><td class="n">{escape(str(cost.get("estimated", "0")))}</td></tr></tfoot></table>'
    )
    note = "Parts of the numbers that were (in a dry run: would be) paid for, priced by PRICES_PER_PART."
    chart = bar_chart("cost-chart", "SMS parts by country", bars)
    return _section("cost", "SMS parts and estimated cost", _figure(chart, note, table))


def _throughput(data: PageData) -> str:
    points, minutes = _buckets(data.per_minute)
    if not points:
        return _section("throughput", "Throughput", "<p>No row was recorded.</p>")
    unit = "minute" if minutes == 1 else f"{minutes} minutes"
    labels = [(_clock(at, points[0][0], points[-1][0]), n) for at, n in points]
    rows = "".join(f'<tr><th scope="row">{_time(at)}</th><td class="n">{n:,}</td></tr>' for at, n in points)
    table = (
        f'<details><summary>Table: rows recorded per {unit}</summary><table id="throughput-table"><thead><tr>'
        f'<th>From</th><th class="n">Rows</th></tr></thead><tbody>{rows}</tbody></table></details>'
    )
    title = f"Rows recorded per {unit}"
    caption = f"{title} (UTC); delivered numbers count when they were sent."
    chart = column_chart("throughput-chart", title, labels)
    return _section("throughput", "Throughput", _figure(chart, caption, table))


def _buckets(per_minute: Sequence[tuple[int, int]]) -> tuple[list[tuple[int, int]], int]:
    """Rows per bucket from the first to the last minute (empty ones included), with at most MAX_COLUMNS buckets."""
    if not per_minute:
        return [], 1
    first, last = per_minute[0][0], per_minute[-1][0]
    minutes = next((m for m in BUCKET_MINUTES if (last - first) // (m * 60) < MAX_COLUMNS), BUCKET_MINUTES[-1])
    size = minutes * 60
    start = first - first % size
    counts = [0] * ((last - start) // size + 1)
    for at, n in per_minute:
        counts[(at - start) // size] += n
    return [(start + i * size, n) for i, n in enumerate(counts)], minutes


def _files(data: PageData) -> str:
    here = posixpath.dirname(data.files["page"])
    links = "".join(
        f'<li><a href="{quote(posixpath.relpath(data.files[kind], here))}">{label}</a> <code>{escape(data.files[kind])}'
        "</code></li>"
        for kind, label in (("results", "Results file (one line per row)"), ("summary", "Summary (JSON)"))
    )
    return _section("files", "Files", f"<ul>{links}</ul>")


def _footer(data: PageData) -> str:
    return (
        f"<footer>Written by smsdrop at {_time(data.finished_at)}"
        + (f", counts updated {_time(data.counts_updated_at)}" if data.counts_updated_at else "")
        + ". Times are UTC. Phone numbers are masked to their last 4 digits.</footer>"
    )


def _section(section_id: str, title: str, body: str) -> str:
    heading = f'<h2 id="{section_id}-h">{title}</h2>'
    return f'<section id="{section_id}" aria-labelledby="{section_id}-h">{heading}{body}</section>'


def _figure(svg: str, caption: str, table: str) -> str:
    return f'<figure class="chart">{svg}<figcaption>{escape(caption)}</figcaption>{table}</figure>'


def _country(code: str) -> str:
    region = region_code_for_country_code(int(code)) if code.isdigit() else "ZZ"
    return f"+{code}" + (f" {region}" if region not in ("ZZ", "001") else "")


def _share(n: int, total: int) -> str:
    return f"{n:,} ({_pct(n, total)})"


def _pct(n: int, total: int) -> str:
    return f"{n / total:.1%}" if total else "-"


def _time(at: int) -> str:
    """A `<time>` element for an epoch second."""
    return f'<time datetime="{datetime.fromtimestamp(at, UTC).isoformat()}">{_stamp(at)}</time>'


def _stamp(at: int) -> str:
    return f"{datetime.fromtimestamp(at, UTC):%Y-%m-%d %H:%M:%S}"


def _clock(at: int, first: int, last: int) -> str:
    """A short x label: the time of day, with the date when the chart spans more than one day."""
    moment = datetime.fromtimestamp(at, UTC)
    return f"{moment:%m-%d %H:%M}" if last - first >= 86_400 else f"{moment:%H:%M}"
