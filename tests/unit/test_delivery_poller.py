"""The delivery poller's rules, with an in-memory store and a scripted getReport."""

from collections import Counter

import pytest

from smsdrop.delivery.poller import DeliveryPoller
from smsdrop.delivery.receipts import Report, Source
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.models import Status
from smsdrop.provider.report_client import ReportRefused, ReportUnavailable
from smsdrop.store.delivery import Awaiting, ItemKey, moved, shard_of

NOW = 1_800_000_000
HOUR = 3600
PLENTY: int = 900_000


class FakeStore:
    """Items as {key: dict}; the same conditional rules as DeliveryStore."""

    def __init__(self) -> None:
        self.items: dict[ItemKey, dict] = {}
        self.counts: dict[str, Counter] = {}
        self.count_calls = 0
        self.fail_on: set[str] = set()

    def add(self, job_id: str, row: int, msg_id: str, submitted_at: int, due: int | None = None) -> ItemKey:
        key = ItemKey(job_id, f"N#{row:010d}")
        self.items[key] = {
            "status": "SUBMITTED",
            "msg_id": msg_id,
            "submitted_at": submitted_at,
            "awaiting": shard_of(msg_id),
            "due": submitted_at + 60 if due is None else due,
        }
        return key

    def due(self, shard: str, now: int, page_size: int = 200):
        awaiting = [(i["due"], k, i) for k, i in self.items.items() if i.get("awaiting") == shard and i["due"] <= now]
        for _, key, item in sorted(awaiting, key=lambda x: (x[0], x[1].rec)):
            yield Awaiting(key, item["msg_id"], item["submitted_at"])

    def settle(self, key, msg_id, verdict, report, source, now):
        if msg_id in self.fail_on:
            raise RuntimeError("store down")
        item = self.items[key]
        if item["status"] != "SUBMITTED" or item["msg_id"] != msg_id:
            return False
        item.update(status=str(verdict), reason=report.reason, source=str(source), receive_time=report.receive_time)
        item.pop("awaiting", None)
        item.pop("due", None)
        return True

    def postpone(self, key, msg_id, due):
        item = self.items[key]
        if item["status"] != "SUBMITTED" or "awaiting" not in item:
            return False
        item["due"] = due
        return True

    def add_counts(self, job_id, changes):
        self.count_calls += 1
        self.counts.setdefault(job_id, Counter()).update(changes)


class FakeClient:
    """getReport answers from a {msgId: Report} table, or raises what it is told to."""

    def __init__(self, reports: dict[str, Report] | None = None, errors: list[Exception | None] | None = None) -> None:
        self.known = reports or {}
        self.errors = list(errors or [])
        self.calls: list[list[str]] = []

    def reports(self, msg_ids):
        self.calls.append(list(msg_ids))
        error = self.errors.pop(0) if self.errors else None
        if error is not None:
            raise error
        return {m: self.known[m] for m in msg_ids if m in self.known}


def poller(store, client, **settings):
    return DeliveryPoller(store, client, DeliverySettings(**settings), clock=lambda: NOW)


def run(store, client, remaining=PLENTY, **settings):
    return poller(store, client, **settings).run(lambda: remaining)


def test_final_reports_move_items_and_one_count_change_per_job():
    store = FakeStore()
    a = store.add("job-a", 2, "m1", NOW - 600)
    b = store.add("job-a", 3, "m2", NOW - 600)
    c = store.add("job-b", 2, "m3", NOW - 600)
    client = FakeClient(
        {"m1": Report("m1", "0", "DELIVRD", "t1"), "m2": Report("m2", "1", "UNDELIV"), "m3": Report("m3", "0")}
    )
    summary = run(store, client)
    assert [store.items[k]["status"] for k in (a, b, c)] == ["DELIVERED", "UNDELIVERED", "DELIVERED"]
    assert store.items[a]["receive_time"] == "t1"
    assert store.items[b]["reason"] == "UNDELIV"
    assert all("awaiting" not in store.items[k] for k in (a, b, c))
    assert store.counts == {
        "job-a": Counter({"SUBMITTED": -2, "DELIVERED": 1, "UNDELIVERED": 1}),
        "job-b": Counter({"SUBMITTED": -1, "DELIVERED": 1}),
    }
    assert store.count_calls == 2
    assert (summary.asked, summary.calls, summary.delivered, summary.undelivered) == (3, 1, 2, 1)


@pytest.mark.parametrize(
    ("report", "age_s", "next_in_s"),
    [
        (Report("m1", "-1"), 60, 300),
        (None, 60, 300),
        (Report("m1", "-1"), 2 * HOUR, HOUR),
        (Report("m1", "7"), 2 * HOUR, HOUR),
        (None, 30 * HOUR, 6 * HOUR),
        (None, 71 * HOUR, HOUR),
    ],
    ids=["sending-young", "unknown-young", "sending-2h", "undocumented-2h", "unknown-30h-capped", "due-at-max-age"],
)
def test_a_number_without_a_verdict_is_asked_again_later_the_older_the_later(report, age_s, next_in_s):
    store = FakeStore()
    key = store.add("job", 2, "m1", NOW - age_s, due=NOW)
    summary = run(store, FakeClient({"m1": report} if report else {}))
    assert store.items[key]["status"] == "SUBMITTED"
    assert store.items[key]["due"] == NOW + next_in_s
    assert summary.pending == 1
    assert store.counts == {}


@pytest.mark.parametrize(
    ("report", "max_age_hours"),
    [(None, 72), (Report("m1", "-1"), 72), (None, 1)],
    ids=["unknown-72h", "sending-72h", "unknown-configured-1h"],
)
def test_a_number_without_a_verdict_at_the_maximum_age_becomes_undelivered_no_report(report, max_age_hours):
    store = FakeStore()
    key = store.add("job", 2, "m1", NOW - int(max_age_hours * HOUR), due=NOW)
    summary = run(store, FakeClient({"m1": report} if report else {}), max_age_hours=max_age_hours)
    item = store.items[key]
    assert (item["status"], item["source"]) == ("UNDELIVERED", "timeout")
    assert item["reason"] == f"no delivery report within {max_age_hours:g} h"
    assert (summary.undelivered, summary.expired) == (1, 1)
    assert store.counts == {"job": moved(Status.UNDELIVERED)}


def test_a_final_report_wins_over_the_maximum_age():
    store = FakeStore()
    key = store.add("job", 2, "m1", NOW - 100 * HOUR, due=NOW)
    run(store, FakeClient({"m1": Report("m1", "0")}))
    assert (store.items[key]["status"], store.items[key]["source"]) == ("DELIVERED", "poll")


def test_an_item_already_final_is_not_moved_back_nor_counted_again():
    store = FakeStore()
    key = store.add("job", 2, "m1", NOW - 600)
    store.items[key]["status"] = "DELIVERED"  # a push got there first; the index has not caught up
    summary = run(store, FakeClient({"m1": Report("m1", "1")}))
    assert store.items[key]["status"] == "DELIVERED"
    assert (summary.already_final, summary.undelivered) == (1, 0)
    assert store.counts == {}


def test_msg_ids_are_asked_200_to_a_call_across_partitions():
    store = FakeStore()
    for n in range(450):
        store.add("job", n + 2, f"m{n}", NOW - 600)
    client = FakeClient({f"m{n}": Report(f"m{n}", "0") for n in range(450)})
    summary = run(store, client)
    assert [len(c) for c in client.calls] == [200, 200, 50]
    assert sorted(m for c in client.calls for m in c) == sorted(f"m{n}" for n in range(450))
    assert summary.delivered == 450
    assert store.counts == {"job": Counter({"SUBMITTED": -450, "DELIVERED": 450})}


def test_numbers_not_yet_due_are_not_asked():
    store = FakeStore()
    store.add("job", 2, "m1", NOW - 10)  # first ask due 60 s after submission
    client = FakeClient()
    assert run(store, client).asked == 0
    assert client.calls == []


def test_a_refused_call_postpones_its_numbers_and_the_next_call_goes_on():
    store = FakeStore()
    keys = [store.add("job", n + 2, f"m{n}", NOW - 600) for n in range(3)]
    client = FakeClient({f"m{n}": Report(f"m{n}", "0") for n in range(3)}, errors=[ReportRefused("-22", "bad")])
    summary = DeliveryPoller(store, client, DeliverySettings(), lambda: NOW, ids_per_call=2).run(lambda: PLENTY)
    statuses = sorted(store.items[k]["status"] for k in keys)
    assert statuses == ["DELIVERED", "SUBMITTED", "SUBMITTED"]
    assert (summary.calls, summary.pending, summary.delivered) == (2, 2, 1)


def test_an_unavailable_provider_ends_the_run_with_the_error_after_counting_what_was_done():
    store = FakeStore()
    for n in range(3):
        store.add("job", n + 2, f"m{n}", NOW - 600)
    client = FakeClient({f"m{n}": Report(f"m{n}", "0") for n in range(3)}, errors=[None, ReportUnavailable("down")])
    summary = DeliveryPoller(store, client, DeliverySettings(), lambda: NOW, ids_per_call=2).run(lambda: PLENTY)
    assert summary.error == "down"
    assert (summary.calls, summary.delivered) == (2, 2)
    assert store.counts == {"job": Counter({"SUBMITTED": -2, "DELIVERED": 2})}


def test_a_run_stops_asking_when_the_time_margin_is_reached():
    store = FakeStore()
    store.add("job", 2, "m1", NOW - 600)
    client = FakeClient({"m1": Report("m1", "0")})
    summary = run(store, client, remaining=19_999, time_margin_ms=20_000)
    assert summary.out_of_time
    assert client.calls == []


def test_a_store_failure_on_one_item_still_counts_the_others_then_raises():
    store = FakeStore()
    store.add("job", 2, "m1", NOW - 600)
    store.add("job", 3, "m2", NOW - 600)
    store.fail_on = {"m2"}
    with pytest.raises(RuntimeError, match="store down"):
        run(store, FakeClient({"m1": Report("m1", "0"), "m2": Report("m2", "0")}))
    assert store.counts == {"job": moved(Status.DELIVERED)}


def test_the_verdicts_source_is_the_poll():
    store = FakeStore()
    key = store.add("job", 2, "m1", NOW - 600)
    run(store, FakeClient({"m1": Report("m1", "0")}))
    assert store.items[key]["source"] == str(Source.POLL)
