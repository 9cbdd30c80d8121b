import pytest

from smsdrop.models import Outcome, Recipient, RowError, Status
from smsdrop.results import Result, ResultWriter, row_key


@pytest.fixture
def writer(aws):
    return ResultWriter(aws.client("dynamodb"), aws.names.table, ttl_days=1)


def recipient(row):
    return Recipient(row, 0, f"9198765{row:05d}", 91, "hi", "", f"o{row}")


def test_each_row_gets_one_item_with_its_outcome(aws, writer):
    stored = writer.write("j", [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m2"), "1.0")], now=100)
    assert stored == {2: Status.SUBMITTED}
    item = aws.client("dynamodb").get_item(
        TableName=aws.names.table, Key={"job_id": {"S": "j"}, "rec": {"S": row_key(2)}}
    )
    assert item["Item"]["msg_id"]["S"] == "m2"
    assert item["Item"]["expires_at"]["N"] == str(100 + 86_400)


def test_a_replayed_write_never_overwrites_the_first(writer):
    writer.write("j", [Result(recipient(2), Outcome(Status.UNKNOWN, "lost"), "1.0")], now=1)
    stored = writer.write("j", [Result(recipient(2), Outcome(Status.SUBMITTED, msg_id="m"), "2.0")], now=2)
    assert stored == {2: Status.UNKNOWN}


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
