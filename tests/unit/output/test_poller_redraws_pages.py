"""The delivery poller asks for a redraw of each page whose job's counts it moved: once a run, never fatally."""

from smsdrop.delivery.poller import DeliveryPoller
from smsdrop.delivery.receipts import Report
from smsdrop.delivery.settings import DeliverySettings
from tests.unit.test_delivery_poller import NOW, PLENTY, FakeClient, FakeStore


class FakePages:
    """Records each redraw asked for; fails for the jobs it is told to."""

    def __init__(self, failing=()) -> None:
        self.asked: list[tuple[str, int]] = []
        self.failing = set(failing)

    def refresh(self, job_id, now):
        self.asked.append((job_id, now))
        if job_id in self.failing:
            raise RuntimeError("page data gone")
        return True


def poll(store, client, pages, **kwargs):
    poller = DeliveryPoller(store, client, DeliverySettings(), lambda: NOW, pages=pages, **kwargs)
    return poller.run(lambda: PLENTY)


def test_each_job_whose_counts_moved_is_redrawn_once_even_over_several_calls():
    store = FakeStore()
    for row, msg in enumerate(["m1", "m2", "m3"], start=2):
        store.add("job-a", row, msg, NOW - 600)
    store.add("job-b", 2, "m4", NOW - 600)
    store.add("job-c", 2, "m5", NOW - 600)  # still sending: its counts do not move
    client = FakeClient({m: Report(m, "0") for m in ("m1", "m2", "m3", "m4")})
    pages = FakePages()
    summary = poll(store, client, pages, ids_per_call=2)
    assert summary.calls == 3
    assert pages.asked == [("job-a", NOW), ("job-b", NOW)]
    assert summary.pages_refreshed == 2


def test_a_page_that_cannot_be_redrawn_is_logged_and_the_others_still_are():
    store = FakeStore()
    store.add("job-a", 2, "m1", NOW - 600)
    store.add("job-b", 2, "m2", NOW - 600)
    pages = FakePages(failing={"job-a"})
    summary = poll(store, FakeClient({"m1": Report("m1", "0"), "m2": Report("m2", "1")}), pages)
    assert [job for job, _ in pages.asked] == ["job-a", "job-b"]
    assert (summary.delivered, summary.undelivered, summary.pages_refreshed) == (1, 1, 1)


def test_a_poll_that_moves_nothing_redraws_nothing():
    store = FakeStore()
    store.add("job-a", 2, "m1", NOW - 600)
    pages = FakePages()
    summary = poll(store, FakeClient({}), pages)
    assert (summary.pending, pages.asked, summary.pages_refreshed) == (1, [], 0)
