"""A job's rows over S partition keys: where each row goes, and every reader merging the shards back in row order."""

import random
from collections import Counter

import pytest

from smsdrop.models import Status
from smsdrop.store.row_reader import RowReader, RowsNotRead
from smsdrop.store.schema import LAST_ROW, JobRows, job_of, row_key, row_of


class PagedTable:
    """A DynamoDB client's Query (through its paginator), BatchGetItem and nothing else, over items kept by
    partition: pages of `page_size` items, so a shard is read over several pages."""

    def __init__(self, items, page_size=3, unprocessed_once=frozenset()):
        self.partitions = {}
        for item in items:
            self.partitions.setdefault(item["job_id"]["S"], []).append(item)
        for stored in self.partitions.values():
            stored.sort(key=lambda i: i["rec"]["S"])
        self.page_size = page_size
        self.queries = Counter()
        self.unprocessed_once = set(unprocessed_once)
        self.get_requests = []

    def get_paginator(self, name):
        assert name == "query"
        return self

    def paginate(self, **request):
        values = request["ExpressionAttributeValues"]
        partition = values[":j"]["S"]
        low, high = (values[":lo"]["S"], values[":hi"]["S"]) if ":lo" in values else ("N#", "N#~")
        matching = [i for i in self.partitions.get(partition, []) if low <= i["rec"]["S"] <= high]
        for start in range(0, max(len(matching), 1), self.page_size):
            self.queries[partition] += 1
            yield {"Items": matching[start : start + self.page_size]}

    def batch_get_item(self, RequestItems):  # noqa: N803 - boto3's name
        ((table, request),) = RequestItems.items()
        self.get_requests.append(len(request["Keys"]))
        found, unprocessed = [], []
        for key in request["Keys"]:
            rec = key["rec"]["S"]
            if rec in self.unprocessed_once:
                self.unprocessed_once.discard(rec)
                unprocessed.append(key)
                continue
            found += [i for i in self.partitions.get(key["job_id"]["S"], []) if i["rec"]["S"] == rec]
        answer = {"Responses": {table: found}}
        if unprocessed:
            answer["UnprocessedKeys"] = {table: {"Keys": unprocessed, "ConsistentRead": True}}
        return answer


def item(rows, row, status="SUBMITTED"):
    return {**rows.key(row), "row": {"N": str(row)}, "status": {"S": status}}


def reader(table):
    return RowReader(table, "SendResults", sleep=lambda s: None)


@pytest.mark.parametrize(
    ("shards", "row", "partition"),
    [(1, 7, "job"), (16, 7, "job#7"), (16, 16, "job#0"), (16, 33, "job#1"), (256, 1000, "job#232")],
    ids=["one-shard-keeps-the-job-id", "row-7-of-16", "row-16-wraps-to-0", "row-33-of-16", "256-shards"],
)
def test_a_row_goes_to_the_shard_of_its_number_modulo_the_shards(shards, row, partition):
    rows = JobRows("job", shards)
    assert rows.partition(row) == partition
    assert rows.key(row) == {"job_id": {"S": partition}, "rec": {"S": f"N#{row:010d}"}}
    assert job_of(partition) == "job"
    assert row_key("job", row, shards) == rows.key(row)


def test_a_job_names_each_of_its_partitions_once():
    assert JobRows("job").partitions() == ["job"]
    assert JobRows("job", 4).partitions() == ["job#0", "job#1", "job#2", "job#3"]


@pytest.mark.parametrize("shards", [0, 257], ids=["none", "over-256"])
def test_a_job_takes_1_to_256_shards(shards):
    with pytest.raises(ValueError, match="1 to 256"):
        JobRows("job", shards)


@pytest.mark.parametrize("shards", [1, 3, 16], ids=["one", "three", "sixteen"])
def test_the_shards_are_merged_back_in_row_order_page_by_page(shards):
    rows = JobRows("job", shards)
    numbers = random.Random(shards).sample(range(2, 400), 150)  # gaps, as blank lines and rejected rows leave
    table = PagedTable([item(rows, n) for n in numbers])
    read = [row_of(i["rec"]["S"]) for i in reader(table).items(rows)]
    assert read == sorted(numbers)
    assert set(table.queries) == set(rows.partitions())
    assert max(table.queries.values()) > 1  # every shard took several pages


def test_a_range_read_merges_only_the_rows_after_and_up_to_its_bounds():
    rows = JobRows("job", 4)
    table = PagedTable([item(rows, n) for n in range(2, 60)])
    read = [row_of(i["rec"]["S"]) for i in reader(table).items(rows, after_row=20, through_row=31)]
    assert read == list(range(21, 32))
    assert [row_of(i["rec"]["S"]) for i in reader(table).items(rows, after_row=55, through_row=LAST_ROW)] == [
        56,
        57,
        58,
        59,
    ]


def test_rows_are_read_by_key_a_hundred_at_a_time_and_unprocessed_keys_are_asked_again():
    rows = JobRows("job", 8)
    table = PagedTable([item(rows, n) for n in range(2, 300)], unprocessed_once={"N#0000000005"})
    found = reader(table).by_row(rows, [*range(250, 400), 5, 5])
    assert sorted(found) == [5, *range(250, 300)]
    assert found[5]["job_id"] == {"S": "job#5"}
    assert table.get_requests == [100, 1, 51]  # the unprocessed key at once, then the rest


def test_the_recount_counts_each_shard_and_sums():
    rows = JobRows("job", 5)
    statuses = ["SUBMITTED", "FAILED", "REJECTED"]
    table = PagedTable([item(rows, n, statuses[n % 3]) for n in range(2, 92)])
    assert reader(table).count(rows) == Counter({Status.SUBMITTED: 30, Status.FAILED: 30, Status.REJECTED: 30})


def test_keys_that_stay_unprocessed_fail_the_read_loudly():
    rows = JobRows("job", 2)
    table = PagedTable([item(rows, 2)], unprocessed_once={"N#0000000002"})
    table.unprocessed_once = AlwaysIn()
    with pytest.raises(RowsNotRead, match="1 row items unread after 8 tries"):
        reader(table).by_row(rows, [2])


class AlwaysIn:
    """A set every key is in, and stays in."""

    def __contains__(self, key):
        return True

    def discard(self, key):
        pass
