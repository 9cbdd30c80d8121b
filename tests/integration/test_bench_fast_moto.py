"""bench.fast_moto answers the report's DynamoDB Query exactly as moto does, page for page, and sees every write.

Each query runs twice on the session's in-process moto server: with moto's own Table.query, then with the patch.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models.table import Table

from bench import fast_moto
from local.aws import LocalAws, Names, create_results_table

pytestmark = pytest.mark.slow

_tables = itertools.count()
JOBS = ("job-a", "job-b", "job-c")
OTHER_RECS = [
    "JOB",
    "M",
    "N",
    "N!x",
    "N$x",
    "N#",
    *(f"J#{i:04d}" for i in range(40)),
    *(f"O#{i:03d}" for i in range(30)),
]
J_COUNT = 41  # "JOB" and the J# items
# 1 MB is reached one item after the last L# item, so moto's size check ends the page past the prefix
FIXED_SIZE_RECS = [*(f"L#{i:02d}" for i in range(33)), "L$"]


@contextmanager
def _patch() -> Iterator[None]:
    fast_moto.install()
    try:
        yield
    finally:
        fast_moto.uninstall()


@pytest.fixture
def dynamodb(bare_moto: str) -> Any:
    return LocalAws(bare_moto, Names()).client("dynamodb")


def _new_table(dynamodb: Any, name: str | None = None) -> str:
    name = name or f"FastMoto-{next(_tables)}"
    create_results_table(dynamodb, name)  # hash job_id S, range rec S, as template.yaml
    return name


def _item(job: str, rec: str, pad: int) -> dict[str, Any]:
    item = {"job_id": {"S": job}, "rec": {"S": rec}, "status": {"S": "sent"}}
    if pad:
        item["filler"] = {"S": "x" * pad}
    return item


def _write(dynamodb: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), 25):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        answer = dynamodb.batch_write_item(RequestItems={table: requests})
        assert not answer["UnprocessedItems"]


def _pad(rng: random.Random) -> int:
    """Mostly small items, some of ~30 KB, so 1 MB pages end at different rows."""
    return rng.choice((0, 0, 0, 0, 0, 12, 300, 2_000, 30_000, 31_000))


def _fill(dynamodb: Any, table: str, rows: dict[str, int], seed: int) -> None:
    rng = random.Random(seed)
    items = []
    for job, count in rows.items():
        items += [_item(job, f"N#{row:010d}", _pad(rng)) for row in range(count)]
        items += [_item(job, rec, _pad(rng)) for rec in OTHER_RECS]
        items += [_item(job, rec, 30_000) for rec in FIXED_SIZE_RECS]
    rng.shuffle(items)
    _write(dynamodb, table, items)


def _pages(dynamodb: Any, **query: Any) -> list[dict[str, Any]]:
    """Every page of a query, following LastEvaluatedKey."""
    pages = []
    while len(pages) < 10_000:
        answer = dynamodb.query(**query)
        pages.append({key: answer.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")})
        if "LastEvaluatedKey" not in answer:
            break
        query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
    return pages


def _queries(table: str) -> list[dict[str, Any]]:
    def on(job: str, prefix: str | None = None, **extra: Any) -> dict[str, Any]:
        if prefix is None:
            return {
                "TableName": table,
                "KeyConditionExpression": "job_id = :j",
                "ExpressionAttributeValues": {":j": {"S": job}},
                **extra,
            }
        values = {":j": {"S": job}, ":n": {"S": prefix}}
        condition = "job_id = :j AND begins_with(rec, :n)"
        return {"TableName": table, "KeyConditionExpression": condition, "ExpressionAttributeValues": values, **extra}

    def after(job: str, rec: str) -> dict[str, Any]:
        return {"ExclusiveStartKey": {"job_id": {"S": job}, "rec": {"S": rec}}}

    queries = []
    for job in JOBS:
        queries += [
            on(job, "N#"),
            on(job),
            on(job, "N#000000002", Limit=7),
            on(job, "N#", Limit=251),
            on(job, "N#", Limit=1000),
            on(job, Limit=333),
            on(job, "N#000000", **after(job, "N#0000000900")),
            on(job, "N#", **after(job, "N#0000000400a")),  # a key that is not in the table
            on(job, "N#", **after(job, "J#0005")),  # before the prefix
            on(job, "N#", **after(job, "N#")),
            on(job, "J", **after(job, "O#000")),  # past the prefix
            on(job, "J", Limit=J_COUNT),  # the limit is reached exactly where the prefix ends
            on(job, "J#00"),
            on(job, "L#"),
            on(job, "O#"),
            on(job, "Q"),
            on(job, "N#", ProjectionExpression="rec, #s", ExpressionAttributeNames={"#s": "status"}),
            on(job, "N#00000012", ProjectionExpression="filler, rec"),
            # shapes the patch leaves to moto
            on(job, "N#", ScanIndexForward=False, Limit=500),
            on(job, "N#", FilterExpression="#s = :s", ExpressionAttributeNames={"#s": "status"}, Limit=900)
            | {"ExpressionAttributeValues": {":j": {"S": job}, ":n": {"S": "N#"}, ":s": {"S": "sent"}}},
            {
                "TableName": table,
                "KeyConditionExpression": "job_id = :j AND rec BETWEEN :a AND :b",
                "ExpressionAttributeValues": {":j": {"S": job}, ":a": {"S": "J"}, ":b": {"S": "N#0000000100"}},
            },
        ]
    queries.append(on("no-such-job", "N#"))
    queries.append(on("no-such-job"))
    return queries


def test_every_page_of_every_query_is_moto_s_own_page(dynamodb):
    table = _new_table(dynamodb)
    _fill(dynamodb, table, {"job-a": 1200, "job-b": 500, "job-c": 50}, seed=7)
    queries = _queries(table)
    expected = [_pages(dynamodb, **dict(query)) for query in queries]
    with _patch():
        got = [_pages(dynamodb, **dict(query)) for query in queries]  # all but the first from the cached keys
    for query, want, patched in zip(queries, expected, got, strict=True):
        assert patched == want, query
    assert len(expected[0]) > 5  # job-a's N# rows take several 1 MB pages
    ended_past_the_prefix = [
        pages
        for query, pages in zip(queries, expected, strict=True)
        if query["ExpressionAttributeValues"].get(":n") == {"S": "L#"} or query.get("Limit") == J_COUNT
    ]
    assert len(ended_past_the_prefix) == 2 * len(JOBS)
    assert all(len(pages) == 2 and pages[1]["Count"] == 0 for pages in ended_past_the_prefix)
    assert {len(page["Items"]) for page in expected[0]} != {len(expected[0][0]["Items"])}  # pages end at varied rows


def _key(job: str, rec: str) -> dict[str, Any]:
    return {"job_id": {"S": job}, "rec": {"S": rec}}


def _writes_between_pages(dynamodb: Any) -> list[Any]:
    """Page through job-a while writing to it (and to job-b) between pages; what every page and write said."""
    table = _new_table(dynamodb, f"FastMotoWrites-{next(_tables)}")
    _fill(dynamodb, table, {"job-a": 2000, "job-b": 300}, seed=11)
    query: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "job_id = :j AND begins_with(rec, :n)",
        "ExpressionAttributeValues": {":j": {"S": "job-a"}, ":n": {"S": "N#"}},
    }
    seen: list[Any] = []

    def put(rec: str, pad: int = 0, job: str = "job-a") -> None:
        dynamodb.put_item(TableName=table, Item=_item(job, rec, pad))

    def delete(rec: str) -> None:
        dynamodb.delete_item(TableName=table, Key=_key("job-a", rec))

    def failed_transaction() -> None:
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": table, "Item": _item("job-a", "N#0000001300t", 5)}},
                    {
                        "ConditionCheck": {
                            "TableName": table,
                            "Key": _key("job-a", "JOB"),
                            "ConditionExpression": "attribute_not_exists(rec)",
                        }
                    },
                ]
            )
        except ClientError as error:
            seen.append(error.response["Error"]["Code"])

    def row_after(rec: str) -> str:
        return f"N#{int(rec[2:12]) + 1:010d}"

    writes: list[Callable[[str], Any]] = [  # each is given the LastEvaluatedKey's rec
        lambda last: (
            delete(last),
            put("N#0000001500x", 30_000),
            put("N#0000000001x"),
            put("N#0000000010", 9, "job-b"),
        ),
        lambda last: dynamodb.batch_write_item(
            RequestItems={
                table: [{"DeleteRequest": {"Key": _key("job-a", f"N#{row:010d}")}} for row in (0, *range(1200, 1220))]
                + [{"PutRequest": {"Item": _item("job-a", "N#0000001210z", 31_000)}}]
            }
        ),
        lambda last: delete(row_after(last)),
        lambda last: dynamodb.update_item(
            TableName=table,
            Key=_key("job-a", "N#0000001800y"),
            UpdateExpression="SET filler = :p",
            ExpressionAttributeValues={":p": {"S": "y" * 20_000}},
        ),
        lambda last: (failed_transaction(), put("N#0000001850", 30_000)),  # the put replaces an item
        # one key out and one in: the partition keeps its size, only the version tells
        lambda last: (delete("J#0007"), put("N#0000001900z")),
        lambda last: dynamodb.transact_write_items(
            TransactItems=[
                {"Delete": {"TableName": table, "Key": _key("job-a", "N#0000001950")}},
                {"Put": {"TableName": table, "Item": _item("job-a", "N#0000001950w", 100)}},
            ]
        ),
        lambda last: (delete(last), put(row_after(last) + "a", 3)),  # the next page starts after a key that is gone
    ]
    while len(seen) < 500:
        answer = dynamodb.query(**query)
        page = {key: answer.get(key) for key in ("Items", "Count", "ScannedCount", "LastEvaluatedKey")}
        seen.append(page)
        if "LastEvaluatedKey" not in answer:
            break
        query["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        if writes:
            writes.pop(0)(answer["LastEvaluatedKey"]["rec"]["S"])
    query.pop("ExclusiveStartKey", None)
    seen.append(_pages(dynamodb, **query))
    seen.append(_pages(dynamodb, **query | {"ExpressionAttributeValues": {":j": {"S": "job-b"}, ":n": {"S": "N#"}}}))

    dynamodb.delete_table(TableName=table)
    _new_table(dynamodb, table)
    _write(dynamodb, table, [_item("job-a", f"N#{row:010d}", 40_000) for row in range(0, 100, 3)])
    seen.append(_pages(dynamodb, **query))
    dynamodb.delete_table(TableName=table)
    return seen


def test_writes_between_pages_are_seen_exactly_as_moto_sees_them(dynamodb):
    expected = _writes_between_pages(dynamodb)
    with _patch():
        got = _writes_between_pages(dynamodb)
    assert "TransactionCanceledException" in expected
    assert len([page for page in expected if isinstance(page, dict)]) > 9  # every write ran between two pages
    for want, patched in zip(expected, got, strict=True):
        assert patched == want


def test_the_report_s_query_never_walks_the_whole_table(dynamodb, monkeypatch):
    table = _new_table(dynamodb)
    _fill(dynamodb, table, {"job-a": 1000}, seed=3)

    def whole_table(self: Table) -> list[Any]:
        raise AssertionError("all_items called")

    with _patch():
        monkeypatch.setattr(Table, "all_items", whole_table)
        pages = _pages(
            dynamodb,
            TableName=table,
            KeyConditionExpression="job_id = :j AND begins_with(rec, :n)",
            ExpressionAttributeValues={":j": {"S": "job-a"}, ":n": {"S": "N#"}},
        )
    assert sum(page["Count"] for page in pages) == 1001  # and "N#" itself


def test_writes_made_while_the_patch_is_out_are_seen_once_it_is_back(dynamodb):
    table = _new_table(dynamodb)
    _fill(dynamodb, table, {"job-a": 200}, seed=5)
    query = {
        "TableName": table,
        "KeyConditionExpression": "job_id = :j AND begins_with(rec, :n)",
        "ExpressionAttributeValues": {":j": {"S": "job-a"}, ":n": {"S": "N#"}},
    }
    with _patch():
        _pages(dynamodb, **dict(query))  # caches job-a's keys
    # as many keys as before, and the key that went is not one the query walks past
    dynamodb.delete_item(TableName=table, Key=_key("job-a", "J#0005"))
    dynamodb.put_item(TableName=table, Item=_item("job-a", "N#0000000005b", 0))
    expected = _pages(dynamodb, **dict(query))
    with _patch():
        assert _pages(dynamodb, **dict(query)) == expected


def test_uninstall_puts_moto_s_own_methods_back():
    methods = (Table.query, Table.put_item, Table.delete_item)
    fast_moto.install()
    fast_moto.install()
    assert Table.query is not methods[0]
    fast_moto.uninstall()
    assert (Table.query, Table.put_item, Table.delete_item) == methods
