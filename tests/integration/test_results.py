import json

import pytest
from botocore.awsrequest import AWSResponse

from smsdrop.models import Outcome, Recipient, RowError, Status
from smsdrop.store.results import Result, ResultsNotWritten, ResultWriter
from smsdrop.store.schema import JobRows, row_key, row_of

OK = Outcome(Status.SUBMITTED, msg_id="m")
J = JobRows("j")
SHARDED = JobRows("k", 4)


@pytest.fixture
def writer(aws):
    return ResultWriter(aws.client("dynamodb"), aws.names.table, ttl_days=1)


def recipient(row):
    return Recipient(row, 0, f"9198765{row:05d}", 91, "hi", "", f"o{row}")


def test_each_row_gets_one_item_with_its_outcome(aws, writer):
    (written,) = writer.write(J, [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m2"), "1.0")], now=100)
    assert written["status"] == {"S": "SUBMITTED"}
    item = aws.client("dynamodb").get_item(TableName=aws.names.table, Key=row_key("j", 2))
    assert item["Item"]["msg_id"]["S"] == "m2"
    assert item["Item"]["expires_at"]["N"] == str(100 + 86_400)
    assert item["Item"] == written


def test_a_sharded_job_s_rows_go_to_the_partition_of_their_shard(aws, writer):
    writer.write(SHARDED, [Result(recipient(r), OK, "1.0") for r in (2, 3, 6)], now=1)
    dynamodb = aws.client("dynamodb")
    assert "Item" in dynamodb.get_item(TableName=aws.names.table, Key=row_key("k", 6, 4))
    assert dynamodb.get_item(TableName=aws.names.table, Key=row_key("k", 6, 4))["Item"]["job_id"] == {"S": "k#2"}
    assert "Item" not in dynamodb.get_item(TableName=aws.names.table, Key=row_key("k", 6))


def test_a_write_once_never_overwrites_an_existing_item_and_answers_the_item_kept(writer):
    writer.write(SHARDED, [Result(recipient(2), Outcome(Status.UNKNOWN, "lost"), "1.0")], now=1)
    kept, new = writer.write_once(
        SHARDED,
        [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m"), "2.0"), Result(recipient(3), OK, "2.0")],
        now=2,
    )
    assert (kept["status"], kept["reason"], kept["batch"]) == ({"S": "UNKNOWN"}, {"S": "lost"}, {"S": "1.0"})
    assert (new["status"], new["batch"]) == ({"S": "SUBMITTED"}, {"S": "2.0"})


def unprocessed_for(client, calls):
    """Answer the next `calls` BatchWriteItem calls with every item unprocessed, through botocore's hooks."""
    left = [calls]

    def answer(params, **_):
        if left[0] == 0:
            return None
        left[0] -= 1
        request_items = json.loads(params["body"])["RequestItems"]
        return AWSResponse("http://moto", 200, {}, None), {"UnprocessedItems": request_items}

    client.meta.events.register("before-call.dynamodb.BatchWriteItem", answer)


def test_unprocessed_items_are_retried_until_written(aws):
    dynamodb = aws.client("dynamodb")
    unprocessed_for(dynamodb, 3)
    writer = ResultWriter(dynamodb, aws.names.table, ttl_days=1, sleep=lambda s: None)
    writer.write(SHARDED, [Result(recipient(r), OK, "1") for r in range(2, 60)], now=1)
    assert sum(writer.count(SHARDED).values()) == 58


def test_items_that_stay_unprocessed_fail_the_write_loudly(aws):
    dynamodb = aws.client("dynamodb")
    unprocessed_for(dynamodb, 1000)
    writer = ResultWriter(dynamodb, aws.names.table, ttl_days=1, attempts=3, sleep=lambda s: None)
    with pytest.raises(ResultsNotWritten, match="unprocessed after 3 tries"):
        writer.write(J, [Result(recipient(2), OK, "1")], now=1)


def test_a_sharded_job_is_read_back_in_row_order_by_range_by_row_and_counted(writer):
    error = RowError(3, 0, "abc", "", "o3", "letters", "number contains letters")
    writer.write(
        SHARDED,
        [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m"), "1"), Result(error, Outcome(Status.REJECTED), "1")]
        + [Result(recipient(r), Outcome(Status.FAILED, "-9"), "1") for r in range(4, 40)],
        now=1,
    )
    assert [row_of(i["rec"]["S"]) for i in writer.read(SHARDED)] == list(range(2, 40))
    assert [row_of(i["rec"]["S"]) for i in writer.read(SHARDED, after_row=3, through_row=9)] == list(range(4, 10))
    assert sorted(writer.by_row(SHARDED, [3, 17, 99])) == [3, 17]
    assert writer.count(SHARDED) == {Status.SUBMITTED: 1, Status.REJECTED: 1, Status.FAILED: 36}
