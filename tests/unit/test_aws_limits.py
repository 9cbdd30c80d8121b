"""The local stack's DynamoDB limits (local.aws_limits): sizes, units, buckets and the answers DynamoDB would give.

The clock is a plain number the tests move: no test sleeps, none depends on the machine's speed.
"""

import pytest

from local.aws_limits import (
    INVALID,
    PARTITION_THROTTLED,
    TABLE_THROTTLED,
    AwsLimits,
    item_size,
    read_units,
    value_size,
    write_units,
)

TABLE = "SendResults"


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeStore:
    """A table keyed on job_id (index ByMsgId on msg_id) and the items stored, as the upstream would answer."""

    def __init__(self) -> None:
        self.items: dict[str, dict] = {}

    def hash_keys(self, table: str) -> dict[str, str]:
        return {"": "job_id", "ByMsgId": "msg_id"} if table == TABLE else {}

    def stored_item(self, table: str, key: dict) -> dict | None:
        return self.items.get(key["rec"]["S"])


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def limits(clock):
    return AwsLimits(clock=clock)


@pytest.fixture
def store():
    return FakeStore()


def item(job="job-1", rec="N#1", pad=0):
    """A row item of about 40 bytes plus `pad`: one write unit while under 1 KB."""
    return {"job_id": {"S": job}, "rec": {"S": rec}, "status": {"S": "SUBMITTED"}, "pad": {"S": "x" * pad}}


PAD_4KB = 4096 - 35  # item(pad=PAD_4KB) is 4096 bytes: one consistent read unit


def put(limits, store, **fields):
    return limits.check("PutItem", {"TableName": TABLE, "Item": item(**fields)}, store)


def puts(limits, store, count, **fields):
    """The verdicts of `count` PutItems of the same size."""
    return [put(limits, store, rec=f"N#{i}", **fields) for i in range(count)]


def kind(verdict):
    return verdict.refusal["__type"] if verdict.refusal else None


def query(job="job-1", **extra):
    return {
        "TableName": TABLE,
        "KeyConditionExpression": "#p = :job AND begins_with(rec, :rows)",
        "ExpressionAttributeNames": {"#p": "job_id"},
        "ExpressionAttributeValues": {":job": {"S": job}, ":rows": {"S": "N#"}},
        **extra,
    }


# ---------------------------------------------------------------- sizes

SIZES = [
    ("string-in-utf8-bytes", {"S": "héllo"}, 6),
    ("number-of-three-digits", {"N": "123"}, 3),
    ("number-with-zeros-trimmed", {"N": "1000.000"}, 2),
    ("negative-number", {"N": "-12.5"}, 4),
    ("binary-in-raw-bytes", {"B": "AAECAw=="}, 4),
    ("boolean", {"BOOL": True}, 1),
    ("null", {"NULL": True}, 1),
    ("string-set", {"SS": ["ab", "c"]}, 3),
    ("list-with-overheads", {"L": [{"S": "ab"}, {"N": "1"}]}, 3 + (1 + 2) + (1 + 2)),
    ("map-with-overheads", {"M": {"k": {"S": "ab"}}}, 3 + 1 + 1 + 2),
    ("empty-map", {"M": {}}, 3),
]


@pytest.mark.parametrize(("value", "size"), [(v, s) for _, v, s in SIZES], ids=[i for i, _, _ in SIZES])
def test_a_value_has_the_size_dynamodb_gives_it(value, size):
    assert value_size(value) == size


def test_an_item_counts_its_attribute_names_and_values():
    assert item_size({"job_id": {"S": "abc"}, "n": {"N": "7"}}) == (6 + 3) + (1 + 2)


@pytest.mark.parametrize(
    ("size", "units"), [(0, 1), (1024, 1), (1025, 2), (400 * 1024, 400)], ids=["empty", "1KB", "1KB+1", "400KB"]
)
def test_a_write_costs_a_unit_per_started_kilobyte(size, units):
    assert write_units(size) == units


@pytest.mark.parametrize(
    ("size", "consistent", "units"),
    [(10, True, 1), (4097, True, 2), (4097, False, 1), (0, False, 0.5)],
    ids=["small-consistent", "over-4KB-consistent", "over-4KB-eventual", "missing-eventual"],
)
def test_a_read_costs_a_unit_per_started_4_kilobytes_half_when_eventually_consistent(size, consistent, units):
    assert read_units(size, consistent) == units


# ---------------------------------------------------------------- one partition


def test_a_partition_takes_1000_write_units_then_answers_provisioned_throughput_exceeded(limits, store):
    verdicts = puts(limits, store, 1001)
    assert [kind(v) for v in verdicts[:1000]] == [None] * 1000
    refused = verdicts[1000].refusal
    assert refused["__type"] == PARTITION_THROTTLED
    assert refused["ThrottlingReasons"] == [{"reason": "TableWriteKeyRangeThroughputExceeded"}]


def test_a_partition_refills_at_1000_units_a_second(limits, store, clock):
    puts(limits, store, 1000)
    clock.now += 0.25
    assert [kind(v) for v in puts(limits, store, 251)] == [None] * 250 + [PARTITION_THROTTLED]


def test_unused_capacity_is_kept_for_at_most_one_second(limits, store, clock):
    clock.now += 300  # DynamoDB would keep up to 300 s of it; the local stack keeps 1 s, never kinder
    assert kind(puts(limits, store, 1001)[-1]) == PARTITION_THROTTLED


def test_an_item_of_2_5_kb_costs_3_units(limits, store):
    verdicts = puts(limits, store, 334, pad=2500)
    assert kind(verdicts[332]) is None
    assert kind(verdicts[333]) == PARTITION_THROTTLED


def test_another_partition_key_has_capacity_of_its_own(limits, store):
    puts(limits, store, 1000, job="job-1")
    assert kind(put(limits, store, job="job-2")) is None


def test_reads_and_writes_share_a_partition_as_a_linear_combination(limits, store):
    puts(limits, store, 500)
    verdict = limits.check("Query", query(ConsistentRead=True), store)
    verdict.charge({"Items": [], "ScannedCount": 0, "Count": 0})  # nothing read: still 1 read unit
    remaining = 500 - 1 / 3
    assert kind(puts(limits, store, int(remaining))[-1]) is None
    assert kind(put(limits, store)) == PARTITION_THROTTLED


# ---------------------------------------------------------------- the table


def test_a_new_on_demand_table_takes_4000_write_units_then_answers_throttling(limits, store):
    for n in range(4):
        puts(limits, store, 1000, job=f"job-{n}")
    assert kind(put(limits, store, job="job-4")) == TABLE_THROTTLED


def test_a_pre_warmed_table_takes_what_it_was_warmed_to(clock, store):
    limits = AwsLimits(table_write_units=8000, clock=clock)
    for n in range(8):
        assert kind(puts(limits, store, 1000, job=f"job-{n}")[-1]) is None
    assert kind(put(limits, store, job="job-8")) == TABLE_THROTTLED


# ---------------------------------------------------------------- BatchWriteItem


def batch(count, job="job-1", first=0):
    return {"RequestItems": {TABLE: [{"PutRequest": {"Item": item(job, f"N#{first + i}")}} for i in range(count)]}}


def test_a_batch_writes_the_items_that_fit_and_returns_the_rest_unprocessed(limits, store):
    puts(limits, store, 990)
    verdict = limits.check("BatchWriteItem", batch(25), store)
    assert verdict.refusal is None
    assert len(verdict.request["RequestItems"][TABLE]) == 10
    assert len(verdict.unprocessed[TABLE]) == 15
    forwarded = [w["PutRequest"]["Item"]["rec"]["S"] for w in verdict.request["RequestItems"][TABLE]]
    assert forwarded == [f"N#{i}" for i in range(10)]


def test_a_batch_that_fits_whole_is_forwarded_as_it_came(limits, store):
    verdict = limits.check("BatchWriteItem", batch(25), store)
    assert verdict.request is None
    assert verdict.unprocessed == {}


def test_a_batch_none_of_whose_items_fits_is_throttled_whole(limits, store):
    puts(limits, store, 1000)
    assert kind(limits.check("BatchWriteItem", batch(25), store)) == PARTITION_THROTTLED


def test_a_batch_over_two_partitions_keeps_back_only_the_hot_one(limits, store):
    puts(limits, store, 1000, job="job-1")
    request = batch(5, job="job-1")
    request["RequestItems"][TABLE] += batch(5, job="job-2")["RequestItems"][TABLE]
    verdict = limits.check("BatchWriteItem", request, store)
    assert {w["PutRequest"]["Item"]["job_id"]["S"] for w in verdict.unprocessed[TABLE]} == {"job-1"}
    assert {w["PutRequest"]["Item"]["job_id"]["S"] for w in verdict.request["RequestItems"][TABLE]} == {"job-2"}


# ---------------------------------------------------------------- item size


def test_an_item_over_400_kb_is_refused_as_dynamodb_refuses_it(limits, store):
    verdict = put(limits, store, pad=400 * 1024)
    assert verdict.refusal == {"__type": INVALID, "message": "Item size has exceeded the maximum allowed size"}


def test_a_batch_with_one_item_over_400_kb_is_refused_whole(limits, store):
    request = batch(2)
    request["RequestItems"][TABLE][1]["PutRequest"]["Item"]["pad"] = {"S": "x" * (400 * 1024)}
    assert kind(limits.check("BatchWriteItem", request, store)) == INVALID


def test_an_update_that_could_take_the_item_over_400_kb_is_refused(limits, store):
    store.items["N#1"] = item(pad=300 * 1024)
    update = {
        "TableName": TABLE,
        "Key": {"job_id": {"S": "job-1"}, "rec": {"S": "N#1"}},
        "UpdateExpression": "SET more = :more",
        "ExpressionAttributeValues": {":more": {"S": "y" * (110 * 1024)}},
    }
    verdict = limits.check("UpdateItem", update, store)
    assert verdict.refusal["message"] == "Item size to update has exceeded the maximum allowed size"


def update_status(limits, store, stored_pad, pad_after):
    """An UpdateItem of row N#1, stored with `stored_pad`, which leaves it with `pad_after`."""
    store.items["N#1"] = item(pad=stored_pad)
    update = {
        "TableName": TABLE,
        "Key": {"job_id": {"S": "job-1"}, "rec": {"S": "N#1"}},
        "UpdateExpression": "SET #s = :s",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": {":s": {"S": "DELIVERED"}},
    }
    verdict = limits.check("UpdateItem", update, store)
    store.items["N#1"] = item(pad=pad_after)  # what the upstream did
    verdict.charge({})


@pytest.mark.parametrize(
    ("stored_pad", "pad_after", "units"),
    [(2900, 2900, 3), (2900, 3500, 4), (2900, 100, 3), (0, 0, 1)],
    ids=["same-size", "grown-past-3KB", "shrunk", "small"],
)
def test_an_update_costs_the_larger_of_the_item_before_and_after(limits, store, stored_pad, pad_after, units):
    update_status(limits, store, stored_pad, pad_after)
    verdicts = puts(limits, store, 1001 - units)
    assert kind(verdicts[-2]) is None
    assert kind(verdicts[-1]) == PARTITION_THROTTLED


# ---------------------------------------------------------------- reads


def test_a_partition_in_read_debt_refuses_the_next_read_until_it_has_refilled(limits, store, clock):
    answer = {"Items": [item(pad=PAD_4KB)] * 3000, "Count": 3000, "ScannedCount": 3000}  # 3000 read units
    limits.check("Query", query(ConsistentRead=True), store).charge(answer)  # the partition's whole second
    assert kind(limits.check("Query", query(), store)) == PARTITION_THROTTLED
    clock.now += 0.5
    limits.check("Query", query(ConsistentRead=True), store).charge(answer)  # admitted, then 500 units in debt
    assert kind(limits.check("Query", query(), store)) == PARTITION_THROTTLED
    clock.now += 0.5  # the debt paid back: still nothing to read with
    assert kind(limits.check("Query", query(), store)) == PARTITION_THROTTLED
    clock.now += 0.01
    assert kind(limits.check("Query", query(), store)) is None


def test_a_query_finds_its_partition_through_legacy_key_conditions_too(limits, store):
    condition = {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "job-7"}]}
    legacy = {"TableName": TABLE, "KeyConditions": {"job_id": condition}}
    answer = {"Items": [item(pad=PAD_4KB)] * 6000, "ScannedCount": 6000}  # 3000 eventually consistent read units
    limits.check("Query", legacy, store).charge(answer)
    assert kind(limits.check("Query", query(job="job-7"), store)) == PARTITION_THROTTLED
    assert kind(limits.check("Query", query(job="job-8"), store)) is None


def test_a_projected_query_is_charged_at_the_mean_size_of_the_items_written(limits, store, clock):
    puts(limits, store, 10, job="job-9", pad=PAD_4KB)  # 4 KB each
    clock.now += 1.0
    projected = {"Items": [{"rec": {"S": f"N#{i}"}} for i in range(3000)], "ScannedCount": 3000, "Count": 3000}
    limits.check("Query", query(ConsistentRead=True, ProjectionExpression="rec"), store).charge(projected)
    # charged as 3000 items of 4 KB (3000 read units: the whole partition), not as 3000 keys (~7 units)
    assert kind(limits.check("Query", query(), store)) == PARTITION_THROTTLED


def test_a_get_item_of_a_missing_item_still_costs_a_read(limits, store):
    get = {"TableName": TABLE, "Key": {"job_id": {"S": "job-1"}, "rec": {"S": "JOB"}}, "ConsistentRead": True}
    for _ in range(3000):
        limits.check("GetItem", get, store).charge({})
    assert kind(limits.check("GetItem", get, store)) == PARTITION_THROTTLED


def test_a_query_on_an_index_spends_the_index_partition_not_the_table_one(limits, store):
    on_index = {
        "TableName": TABLE,
        "IndexName": "ByMsgId",
        "KeyConditionExpression": "msg_id = :m",
        "ExpressionAttributeValues": {":m": {"S": "m-1"}},
    }
    answer = {"Items": [item(pad=PAD_4KB)] * 6000, "ScannedCount": 6000}
    limits.check("Query", on_index, store).charge(answer)
    assert kind(limits.check("Query", on_index, store)) == PARTITION_THROTTLED
    assert kind(put(limits, store)) is None


@pytest.mark.parametrize(
    "op",
    ["CreateTable", "DescribeTable", "TransactWriteItems", "ListTables"],
    ids=["CreateTable", "DescribeTable", "TransactWriteItems", "ListTables"],
)
def test_requests_the_limits_do_not_model_pass_untouched(limits, store, op):
    verdict = limits.check(op, {"TableName": TABLE}, store)
    assert (verdict.refusal, verdict.request, verdict.unprocessed, verdict.charge) == (None, None, {}, None)


def test_a_write_to_a_table_that_does_not_exist_is_left_for_the_upstream_to_refuse(limits, store):
    verdict = limits.check("PutItem", {"TableName": "Nope", "Item": item()}, store)
    assert verdict.refusal is None
