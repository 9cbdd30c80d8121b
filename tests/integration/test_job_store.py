import pytest

from smsdrop.intake.uploads import Upload
from smsdrop.models import Position, Status
from smsdrop.store.file_parts import PartsRecord
from smsdrop.store.jobs import Busy, JobState, JobStore, LeaseLost
from smsdrop.store.lease import Completions, Lease
from smsdrop.store.schema import job_key

UPLOAD = Upload(bucket="b", key="incoming/a.csv", version_id="v1")
NOW = 1_800_000_000.0


@pytest.fixture
def store(aws):
    return JobStore(aws.client("dynamodb"), aws.names.table)


def claim(store, owner, now=NOW, lease=60):
    return store.claim(UPLOAD, owner, now, lease, ttl=int(now) + 86_400)


def held(store, owner, now=NOW) -> Lease:
    lease = claim(store, owner, now)
    assert isinstance(lease, Lease), lease
    return lease


def test_the_first_claim_creates_a_running_job_held_by_its_owner(store):
    lease = held(store, "a")
    assert (lease.job_id, lease.owner) == (UPLOAD.job_id, "a")
    assert lease.record.state is JobState.RUNNING
    assert store.get(UPLOAD.job_id).counts == {s.value: 0 for s in Status}


def test_a_live_lease_keeps_a_second_claim_out(store):
    claim(store, "a")
    assert isinstance(claim(store, "b", now=NOW + 30), Busy)


def test_an_expired_lease_is_taken_over_and_flags_a_recount(store):
    claim(store, "a")
    lease = held(store, "b", now=NOW + 61)
    assert lease.record.needs_recount
    assert lease.record.generation == 2


def test_a_released_job_is_resumed_from_its_checkpoint_without_a_recount(store):
    held(store, "a").release(NOW + 5, Position(offset=120, row=9))
    lease = held(store, "b", now=NOW + 6)
    assert lease.record.checkpoint == Position(offset=120, row=9)
    assert not lease.record.needs_recount


def test_an_unclean_release_flags_a_recount_for_the_next_holder(store):
    held(store, "a").release(NOW + 5, Position(offset=120, row=9), clean=False)
    lease = held(store, "b", now=NOW + 6)
    assert lease.record.needs_recount
    assert lease.record.checkpoint == Position(offset=120, row=9)


def done(batch: str, counts: dict[Status, int], checkpoint: Position | None = None) -> Completions:
    completions = Completions()
    completions.add(batch, counts, checkpoint)
    return completions


def test_the_old_holder_loses_every_write_once_the_lease_is_taken(store):
    old = held(store, "a")
    held(store, "b", now=NOW + 61)
    with pytest.raises(LeaseLost):
        old.mark_in_flight("1.0", (2, 3), NOW + 200)
    with pytest.raises(LeaseLost):
        old.complete(done("1.0", {Status.SUBMITTED: 2}), NOW + 200)
    with pytest.raises(LeaseLost):
        old.renew(NOW + 200)
    with pytest.raises(LeaseLost):
        old.finish(JobState.COMPLETED, NOW + 200, rows=2)


def test_completing_a_batch_adds_its_counts_moves_the_checkpoint_and_drops_its_mark(store):
    lease = held(store, "a")
    lease.mark_in_flight("1.0", (2, 3, 5), NOW + 60)
    assert store.get(UPLOAD.job_id).in_flight == {"1.0": (2, 3, 5)}
    lease.complete(done("1.0", {Status.SUBMITTED: 2, Status.REJECTED: 1}, Position(99, 5)), NOW + 60)
    record = store.get(UPLOAD.job_id)
    assert record.in_flight == {}
    assert record.counts["SUBMITTED"] == 2
    assert record.counts["REJECTED"] == 1
    assert record.checkpoint == Position(99, 5)


def test_the_next_mark_carries_the_completions_of_earlier_batches_in_the_same_write(store):
    lease = held(store, "a")
    lease.mark_in_flight("1.0", (2, 3), NOW + 60)
    lease.mark_in_flight("1.1", (4, 5), NOW + 60)
    completions = done("1.0", {Status.SUBMITTED: 2}, Position(50, 3))
    completions.add("1.1", {Status.SUBMITTED: 1, Status.FAILED: 1}, None)

    lease.mark_in_flight("1.2", (6,), NOW + 60, completions)

    record = store.get(UPLOAD.job_id)
    assert record.in_flight == {"1.2": (6,)}
    assert (record.counts["SUBMITTED"], record.counts["FAILED"]) == (3, 1)
    assert record.checkpoint == Position(50, 3)


def test_a_mark_with_nothing_completed_leaves_counts_and_checkpoint_alone(store):
    lease = held(store, "a")
    lease.mark_in_flight("1.0", (2, 3), NOW + 60, Completions())
    record = store.get(UPLOAD.job_id)
    assert record.in_flight == {"1.0": (2, 3)}
    assert sum(record.counts.values()) == 0
    assert record.checkpoint is None


def test_marks_of_a_dead_holder_survive_until_the_next_holder_tells_them_done(store):
    held(store, "a").mark_in_flight("1.0", (2, 3), NOW + 60)
    lease = held(store, "b", now=NOW + 61)
    assert lease.record.in_flight == {"1.0": (2, 3)}
    lease.complete(Completions(batches=["1.0"], recorded=(2, 3)), NOW + 120)
    assert store.get(UPLOAD.job_id).in_flight == {}


def test_the_first_stop_reason_is_kept(store):
    lease = held(store, "a")
    lease.record_stop("-10 balance at row 7")
    lease.record_stop("-1 auth at row 9")
    assert store.get(UPLOAD.job_id).stop_reason == "-10 balance at row 7"


def test_a_finished_job_cannot_be_claimed_again(store):
    held(store, "a").finish(JobState.COMPLETED, NOW + 1, rows=3, counts={Status.SUBMITTED: 3}, error="late")
    busy = claim(store, "b", now=NOW + 999)
    assert isinstance(busy, Busy)
    assert busy.record.is_finished
    assert busy.record.rows == 3
    assert busy.record.counts == {"SUBMITTED": 3}
    assert busy.record.error == "late"


def test_a_job_keeps_the_shard_count_it_was_created_with(store):
    lease = store.claim(UPLOAD, "a", NOW, 60, ttl=int(NOW) + 86_400, row_shards=16)
    assert lease.record.row_shards == 16
    lease.release(NOW + 1, Position(120, 9))
    again = store.claim(UPLOAD, "b", NOW + 2, 60, ttl=int(NOW) + 86_400, row_shards=4)  # the setting changed since
    assert again.record.row_shards == 16


def test_rows_recorded_past_the_checkpoint_are_told_with_a_completion_and_read_back_by_the_next_holder(store):
    lease = held(store, "a")
    lease.mark_in_flight("1.0", tuple(range(2, 1002, 2)), NOW + 60)
    completions = done("1.0", {Status.SUBMITTED: 500}, Position(10, 2))
    completions.recorded = tuple(range(4, 1002, 2))
    lease.complete(completions, NOW + 60)
    lease.release(NOW + 1, Position(10, 2))
    record = held(store, "b", now=NOW + 2).record
    assert record.recorded == tuple(range(4, 1002, 2))
    lease = held(store, "c", now=NOW + 200)  # b died; c takes over and passes every one of them
    lease.complete(Completions(checkpoint=Position(9000, 1001), recorded=()), NOW + 260)
    assert store.get(UPLOAD.job_id).recorded == ()


def test_marks_and_recorded_rows_cost_the_job_item_bytes_not_kilobytes(store, aws):
    lease = held(store, "a")
    for n in range(4):
        lease.mark_in_flight(f"1.{n}", tuple(range(2 + 1000 * n, 1002 + 1000 * n)), NOW + 60)
    item = aws.client("dynamodb").get_item(TableName=aws.names.table, Key=job_key(UPLOAD.job_id))["Item"]
    assert sum(len(value["B"]) for value in item["in_flight"]["M"].values()) < 100  # 4,000 rows in flight
    assert store.get(UPLOAD.job_id).in_flight["1.3"] == tuple(range(3002, 4002))


def test_the_results_file_s_parts_are_noted_on_the_job_item(store):
    lease = held(store, "a")
    parts = PartsRecord("upload-1").with_part('"0123456789abcdef0123456789abcdef"', 70_000)
    lease.record_parts(parts)
    assert store.get(UPLOAD.job_id).parts == parts
