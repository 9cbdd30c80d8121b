"""The page's collector: reasons with masked examples, cost per country, rows per minute, invocations, stop time."""

import json
from decimal import Decimal

import pytest

from smsdrop.output import page_data
from smsdrop.output.page_data import OTHER_REASONS, PageCollector, PageData
from smsdrop.output.results_file import BILLABLE, Cost
from smsdrop.output.sms_parts import PriceTable
from tests.unit.output.items import T0, item

PRICES = PriceTable({"91": Decimal("0.0022"), "44": Decimal("0.035")}, Decimal("0.01"))
FILES = {"page": "reports/a.html", "results": "reports/a.results.csv", "summary": "reports/a.summary.json"}


def collect(items, summary=None, now=T0 + 600):
    collector = PageCollector(PRICES, BILLABLE)
    for one in items:
        collector.add(one)
    return collector.data(summary or {"job_id": "j", "state": "COMPLETED", "counts": {}}, FILES, now)


def test_reasons_are_grouped_by_code_most_frequent_first_with_three_masked_examples():
    items = [item(r, "REJECTED", "number contains letters", reject_code="NUMBER_LETTERS") for r in range(2, 7)]
    items.append(item(7, "FAILED", "-9 Abnormal phone number", provider_code="-9"))
    data = collect(items)
    letters, abnormal = data.reasons
    assert (letters.status, letters.code, letters.label, letters.count) == (
        "REJECTED",
        "NUMBER_LETTERS",
        "number contains letters",
        5,
    )
    assert letters.examples == [
        {"row": 2, "number": "••••0002", "reason": "number contains letters"},
        {"row": 3, "number": "••••0003", "reason": "number contains letters"},
        {"row": 4, "number": "••••0004", "reason": "number contains letters"},
    ]
    assert (abnormal.status, abnormal.code, abnormal.count) == ("FAILED", "-9", 1)


def test_a_group_whose_reasons_differ_in_their_figures_shows_them_blanked_and_keeps_each_examples_own():
    data = collect([item(r, "REJECTED", f"duplicate of row {r - 1}", reject_code="DUPLICATE") for r in (5, 9)])
    (group,) = data.reasons
    assert group.varied
    assert group.label == "duplicate of row …"
    assert [e["reason"] for e in group.examples] == ["duplicate of row 4", "duplicate of row 8"]


def test_reasons_without_a_code_are_grouped_by_their_text():
    stopped = "not sent: job stopped (-10 balance at row 6)"
    data = collect([item(r, "FAILED", stopped) for r in range(2, 5)] + [item(5, "UNKNOWN", "maybe sent")])
    assert [(g.status, g.code, g.label, g.count) for g in data.reasons] == [
        ("FAILED", "", stopped, 3),
        ("UNKNOWN", "", "maybe sent", 1),
    ]


def test_undelivered_numbers_are_grouped_by_the_reports_code():
    data = collect([item(r, "UNDELIVERED", "UNDELIV", report_code="2") for r in (2, 3)])
    assert [(g.status, g.code, g.count) for g in data.reasons] == [("UNDELIVERED", "2", 2)]


def test_phone_numbers_in_reasons_are_masked_too():
    data = collect([item(2, "REJECTED", "orderId '919876543210' repeats row 1", reject_code="ORDER_ID_REPEATED")])
    assert data.reasons[0].label == "orderId '••••3210' repeats row 1"


def test_reasons_past_the_limit_are_counted_together_so_memory_stays_bounded(monkeypatch):
    monkeypatch.setattr(page_data, "MAX_REASONS", 2)
    data = collect([item(r, "FAILED", f"odd {r}", provider_code=f"-{r}") for r in range(2, 8)])
    assert len(data.reasons) == 3
    other = next(g for g in data.reasons if g.reason == OTHER_REASONS)
    assert (other.count, len(other.examples)) == (4, 3)


def test_parts_and_cost_per_country_add_up_to_the_summarys_cost():
    items = [
        item(2, "SUBMITTED", parts=2),
        item(3, "DELIVERED", number="447700900123", country="44"),
        item(4, "UNKNOWN", number="33612345678", country="33", parts=3),
        item(5, "FAILED", "-9", provider_code="-9"),
        item(6, "REJECTED", "number contains letters", parts=None, country=None),
    ]
    cost = Cost(PRICES)
    for one in items:
        cost.add(one)
    data = collect(items)
    assert [(c.code, c.numbers, c.parts, c.estimate) for c in data.countries] == [
        ("33", 1, 3, Decimal("0.03")),
        ("91", 1, 2, Decimal("0.0044")),
        ("44", 1, 1, Decimal("0.035")),
    ]
    assert sum(c.parts for c in data.countries) == cost.parts
    assert sum(c.estimate for c in data.countries) == cost.estimate


def test_a_dry_runs_validated_rows_are_priced_as_they_would_be_sent():
    data = collect([item(2, "VALIDATED", parts=2)])
    assert [(c.code, c.parts) for c in data.countries] == [("91", 2)]


def test_rows_are_counted_per_minute_by_when_they_were_sent_not_when_a_report_came():
    delivered = item(4, "DELIVERED", at=T0 + 3600)
    delivered["submitted_at"] = {"N": str(T0 + 61)}
    data = collect([item(2, "SUBMITTED", at=T0 + 5), item(3, "SUBMITTED", at=T0 + 59), delivered])
    assert data.per_minute == [(T0, 2), (T0 + 60, 1)]


def test_each_invocation_and_the_recovery_of_a_dead_ones_rows_is_a_span():
    items = [
        item(2, "SUBMITTED", at=T0, batch="1.0"),
        item(3, "SUBMITTED", at=T0 + 30, batch="1.1"),
        item(4, "UNKNOWN", "maybe sent", at=T0 + 400, batch="recovered"),
        item(5, "SUBMITTED", at=T0 + 410, batch="2.0"),
        item(6, "SUBMITTED", at=T0 + 420, batch="2.3"),
    ]
    data = collect(items)
    assert [(s.name, s.first, s.last, s.rows) for s in data.spans] == [
        ("1", T0, T0 + 30, 2),
        ("recovered", T0 + 400, T0 + 400, 1),
        ("2", T0 + 410, T0 + 420, 2),
    ]


def test_the_stop_time_is_when_the_first_number_got_the_stop_code():
    items = [
        item(2, "FAILED", "-10 balance", at=T0 + 20, provider_code="-10"),
        item(3, "FAILED", "-10 balance", at=T0 + 10, provider_code="-10"),
        item(4, "FAILED", "-9 abnormal", at=T0 + 5, provider_code="-9"),
    ]
    data = collect(items, {"job_id": "j", "state": "STOPPED", "counts": {}, "stop_reason": "-10 balance at row 3"})
    assert data.stopped_at == T0 + 10
    assert collect(items).stopped_at is None


def test_the_page_data_survives_a_round_trip_through_json():
    items = [
        item(2, "SUBMITTED", parts=2),
        item(3, "REJECTED", "duplicate of row 2", reject_code="DUPLICATE", parts=None, country=None),
        item(4, "REJECTED", "duplicate of row 3", reject_code="DUPLICATE", parts=None, country=None),
    ]
    data = collect(items, {"job_id": "j", "state": "COMPLETED", "counts": {"SUBMITTED": 1, "REJECTED": 2}})
    assert PageData.from_json(json.loads(json.dumps(data.as_json()))) == data


def test_new_counts_replace_the_old_ones_and_say_when():
    data = collect([item(2, "SUBMITTED")], {"job_id": "j", "state": "COMPLETED", "counts": {"SUBMITTED": 1}})
    later = data.with_counts({"SUBMITTED": 0, "DELIVERED": 1}, T0 + 900)
    assert later.summary["counts"] == {"SUBMITTED": 0, "DELIVERED": 1}
    assert later.counts_updated_at == T0 + 900
    assert (later.reasons, later.per_minute, later.summary["job_id"]) == (data.reasons, data.per_minute, "j")


@pytest.mark.parametrize(
    ("first_batch", "name"), [("1.0", "1"), ("12.7", "12"), ("recovered", "recovered")], ids=["one", "two", "recovered"]
)
def test_a_span_is_named_after_the_generation_of_its_batch_key(first_batch, name):
    assert [s.name for s in collect([item(2, "SUBMITTED", batch=first_batch)]).spans] == [name]


def test_a_collector_carried_over_in_json_between_invocations_draws_the_same_page_as_one_that_saw_every_item():
    items = [item(r, "REJECTED", "number contains letters", reject_code="NUMBER_LETTERS") for r in range(2, 6)]
    items += [item(r, "SUBMITTED", at=T0 + 60 * r, batch=f"{r % 3}.1", number=f"4477009{r:05d}") for r in range(6, 30)]
    items += [item(30, "FAILED", "-9 Abnormal phone number", provider_code="-9", country=None)]
    summary = {"job_id": "j", "state": "COMPLETED", "counts": {}}
    first = PageCollector(PRICES, BILLABLE)
    for one in items[:11]:
        first.add(one)
    carried = PageCollector(PRICES, BILLABLE).resume(json.loads(json.dumps(first.state())))
    for one in items[11:]:
        carried.add(one)
    assert carried.data(summary, FILES, T0) == collect(items, summary, T0)


KINDS = [
    ("SUBMITTED", "", "91", {}),
    ("SUBMITTED", "", "44", {}),
    ("REJECTED", "duplicate of row {}", None, {"reject_code": "DUPLICATE"}),
    ("FAILED", "-9 Abnormal phone number", "91", {"provider_code": "-9"}),
    ("UNKNOWN", "no answer", "91", {}),
]


def mixed(row):
    """Row `row` of a job with every kind of item, over several minutes and invocations."""
    status, reason, country, codes = KINDS[row % len(KINDS)]
    return item(
        row, status, reason.format(row - 1), at=T0 + 37 * row, batch=f"{1 + row // 40}.0", country=country, **codes
    )


MIXED = [mixed(row) for row in range(1, 121)]


@pytest.mark.parametrize("cut", [1, 37, 60, 119], ids=lambda cut: f"parts cut at row {cut}")
def test_a_job_drawn_from_its_parts_pages_tallies_what_one_collector_of_all_its_items_does(cut):
    whole = collect(MIXED)
    parts = [("chunk 0", collect(MIXED[:cut])), ("chunk 1", collect(MIXED[cut:]))]

    joined = PageCollector.of_parts(parts).data(whole.summary, FILES, T0 + 600)

    assert [(g.status, g.code, g.count, g.varied) for g in joined.reasons] == [
        (g.status, g.code, g.count, g.varied) for g in whole.reasons
    ]
    assert all(len(group.examples) == min(3, group.count) for group in joined.reasons)
    assert joined.countries == whole.countries
    assert joined.per_minute == whole.per_minute
    assert sum(span.rows for span in joined.spans) == len(MIXED)
    assert {span.name.split(" of ")[1] for span in joined.spans} == {"chunk 0", "chunk 1"}
