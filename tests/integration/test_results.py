import json

import pytest
from botocore.awsrequest import AWSResponse

from smsdrop.models import Outcome, Recipient, RowError, Status
from smsdrop.store.results import Result, ResultsNotWritten, ResultWriter
from smsdrop.store.schema import row_key

OK = Outcome(Status.SUBMITTED, msg_id="m")


@pytest.fixture
def writer(aws):
    return ResultWriter(aws.client("dynamodb"), aws.names.table, ttl_days=1)


def recipient(row):
    return Recipient(row, 0, f"9198765{row:05d}", 91, "hi", "", f"o{row}")


def test_each_row_gets_one_item_with_its_outcome(aws, writer):
    stored = writer.write("j", [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m2"), "1.0")], now=100)
    assert stored == {2: Status.SUBMITTED}
    item = aws.client("dynamodb").get_item(TableName=aws.names.table, Key=row_key("j", 2))
    assert item["Item"]["msg_id"]["S"] == "m2"
    assert item["Item"]["expires_at"]["N"] == str(100 + 86_400)


def test_a_write_once_never_overwrites_an_existing_item(writer):
    writer.write("j", [Result(recipient(2), Outcome(Status.UNKNOWN, "lost"), "1.0")], now=1)
    stored = writer.write_once(
        "j",
        [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m"), "2.0"), Result(recipient(3), OK, "2.0")],
        now=2,
    )
    assert stored == {2: Status.UNKNOWN, 3: Status.SUBMITTED}


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
    writer.write("j", [Result(recipient(r), OK, "1") for r in range(2, 60)], now=1)
    assert writer.count("j")[1] == 58


def test_items_that_stay_unprocessed_fail_the_write_loudly(aws):
    dynamodb = aws.client("dynamodb")
    unprocessed_for(dynamodb, 1000)
    writer = ResultWriter(dynamodb, aws.names.table, ttl_days=1, attempts=3, sleep=lambda s: None)
    with pytest.raises(ResultsNotWritten, match="unprocessed after 3 tries"):
        writer.write("j", [Result(recipient(2), OK, "1")], now=1)


def test_statuses_and_counts_read_back_what_was_written(writer):
    error = RowError(3, 0, "abc", "", "o3", "letters", "number contains letters")
    writer.write(
        "j",
        [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m"), "1"), Result(error, Outcome(Status.REJECTED), "1")]
        + [Result(recipient(r), Outcome(Status.FAILED, "-9"), "1") for r in range(4, 40)],
        now=1,
    )
    assert dict(writer.statuses("j", after_row=3))[4] is Status.FAILED
    assert 3 not in dict(writer.statuses("j", after_row=3))
    counts, total = writer.count("j")
    assert counts == {Status.SUBMITTED: 1, Status.REJECTED: 1, Status.FAILED: 36}
    assert total == 38
