"""The limits layer on the wire: boto3 in front, moto server behind, answers as DynamoDB gives them.

Each test puts a proxy of its own, on a clock that only the test moves, in front of the session's bare moto server
(small limits keep the tests short; the rules are the same at any size).
"""

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local import ROOT
from local.aws import LocalAws, create_stack
from local.aws_limits import AwsLimits
from local.limits_proxy import LimitsProxy
from smsdrop.store.schema import job_key, row_key
from tests.fixtures.aws import unique_names

NO_RETRIES = Config(retries={"mode": "standard", "max_attempts": 1})


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(bare_moto: str, clock: Clock) -> Iterator[LocalAws]:
    """The stack on bare moto, reached through a proxy of 10 write units/s a partition, 20 for the table."""
    stack = create_stack(bare_moto, unique_names())
    limits = AwsLimits(partition_write_units=10, partition_read_units=30, table_write_units=20, clock=clock)
    with LimitsProxy(bare_moto, limits) as proxy:
        yield LocalAws(proxy.endpoint, stack.names)


def row(job: str, n: int, pad: int = 0) -> dict:
    return {**row_key(job, n), "status": {"S": "SUBMITTED"}, "pad": {"S": "x" * pad}}


def put_rows(aws: LocalAws, job: str, count: int) -> None:
    dynamodb = aws.client("dynamodb", NO_RETRIES)
    for n in range(count):
        dynamodb.put_item(TableName=aws.names.table, Item=row(job, n))


def error_of(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"], raised.value.response["Error"]["Message"]


def stored_rows(endpoint: str, aws: LocalAws, job: str) -> int:
    """How many of the job's rows moto holds (asked of moto itself, not through the limits)."""
    dynamodb = LocalAws(endpoint, aws.names).client("dynamodb")
    answer = dynamodb.query(
        TableName=aws.names.table,
        KeyConditionExpression="job_id = :j",
        ExpressionAttributeValues={":j": {"S": job}},
        Select="COUNT",
    )
    return int(answer["Count"])


def test_a_hot_partition_answers_boto3_provisioned_throughput_exceeded(limited):
    put_rows(limited, "job-1", 10)
    dynamodb = limited.client("dynamodb", NO_RETRIES)
    code, message = error_of(lambda: dynamodb.put_item(TableName=limited.names.table, Item=row("job-1", 10)))
    assert code == "ProvisionedThroughputExceededException"
    assert "provisioned throughput for the table was exceeded" in message


def test_the_next_second_brings_the_partition_its_capacity_back(limited, clock):
    put_rows(limited, "job-1", 10)
    clock.now += 1.0
    put_rows(limited, "job-1", 10)


def test_a_table_over_its_on_demand_ceiling_answers_throttling_exception(limited):
    put_rows(limited, "job-1", 10)
    put_rows(limited, "job-2", 10)
    dynamodb = limited.client("dynamodb", NO_RETRIES)
    code, message = error_of(lambda: dynamodb.put_item(TableName=limited.names.table, Item=row("job-3", 0)))
    assert code == "ThrottlingException"
    assert "automatically scaling" in message


def test_a_partly_throttled_batch_write_comes_back_with_its_unprocessed_items(limited, bare_moto):
    put_rows(limited, "job-1", 4)
    requests = [{"PutRequest": {"Item": row("job-1", n)}} for n in range(100, 110)]
    answer = limited.client("dynamodb", NO_RETRIES).batch_write_item(RequestItems={limited.names.table: requests})
    unprocessed = answer["UnprocessedItems"][limited.names.table]
    assert [u["PutRequest"]["Item"]["rec"] for u in unprocessed] == [
        row_key("job-1", n)["rec"] for n in range(106, 110)
    ]
    assert stored_rows(bare_moto, limited, "job-1") == 4 + 6


def test_a_batch_write_with_nothing_to_write_it_with_is_throttled_whole(limited):
    put_rows(limited, "job-1", 10)
    requests = [{"PutRequest": {"Item": row("job-1", n)}} for n in range(100, 105)]
    dynamodb = limited.client("dynamodb", NO_RETRIES)
    code, _ = error_of(lambda: dynamodb.batch_write_item(RequestItems={limited.names.table: requests}))
    assert code == "ProvisionedThroughputExceededException"


def test_a_query_that_read_the_partition_dry_makes_the_next_read_wait(limited, bare_moto, clock):
    bare = LocalAws(bare_moto, limited.names).client("dynamodb")
    for n in range(3):  # 3 x 40 KB, written around the limits: 30 consistent read units, the partition's second
        bare.put_item(TableName=limited.names.table, Item=row("job-1", n, pad=40_000))
    dynamodb = limited.client("dynamodb", NO_RETRIES)
    query = {
        "TableName": limited.names.table,
        "KeyConditionExpression": "job_id = :j",
        "ExpressionAttributeValues": {":j": {"S": "job-1"}},
        "ConsistentRead": True,
    }
    assert dynamodb.query(**query)["Count"] == 3
    code, _ = error_of(lambda: dynamodb.query(**query))
    assert code == "ProvisionedThroughputExceededException"
    clock.now += 0.5
    assert dynamodb.query(**query)["Count"] == 3


def just_over_400_kb() -> dict:
    """400,000 bytes of text and a list of 4,800 one-letter strings."""
    return {**row_key("job-1", 1), "pad": {"S": "x" * 400_000}, "numbers": {"L": [{"S": "a"}] * 4_800}}


def test_an_item_over_400_kb_is_refused_locally_the_way_aws_refuses_it(aws):
    """The session's own stack (limits on by default): 409,639 bytes as DynamoDB counts them (a list costs 3 bytes and
    1 an element), over 400 KB; moto alone counts 404,836 and would store it."""
    dynamodb = aws.client("dynamodb", NO_RETRIES)
    item = just_over_400_kb()
    code, message = error_of(lambda: dynamodb.put_item(TableName=aws.names.table, Item=item))
    assert (code, message) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    assert "Item" not in dynamodb.get_item(TableName=aws.names.table, Key=row_key("job-1", 1))


def test_moto_alone_would_store_the_item_the_limits_refuse(bare_moto):
    bare = create_stack(bare_moto, unique_names())
    dynamodb = bare.client("dynamodb", NO_RETRIES)
    item = just_over_400_kb()
    dynamodb.put_item(TableName=bare.names.table, Item=item)
    assert "Item" in dynamodb.get_item(TableName=bare.names.table, Key=row_key("job-1", 1))


def test_s3_multipart_parts_and_sqs_pass_through_untouched(aws):
    s3 = aws.client("s3")
    parts = [bytes([n]) * (5 * 1024 * 1024) for n in range(2)] + [b"tail"]
    upload = s3.create_multipart_upload(Bucket=aws.names.bucket, Key="incoming/big.csv")
    done = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=aws.names.bucket, Key="incoming/big.csv", PartNumber=n,
                                                  UploadId=upload["UploadId"], Body=body)["ETag"]}
        for n, body in enumerate(parts, start=1)
    ]  # fmt: skip
    s3.complete_multipart_upload(
        Bucket=aws.names.bucket, Key="incoming/big.csv", UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    assert s3.head_object(Bucket=aws.names.bucket, Key="incoming/big.csv")["ContentLength"] == 10 * 1024 * 1024 + 4
    assert s3.get_object(Bucket=aws.names.bucket, Key="incoming/big.csv")["Body"].read() == b"".join(parts)
    sqs = aws.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=aws.names.queue)["QueueUrl"]
    assert queue_url.startswith(aws.endpoint)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"é": "ü"}))
    assert json.loads(sqs.receive_message(QueueUrl=queue_url)["Messages"][0]["Body"]) == {"é": "ü"}


def test_local_run_can_use_an_aws_endpoint_already_running_instead_of_starting_moto(bare_moto):
    """`--aws-url`: the stack's resources are created on that endpoint (here the session's moto server, standing in
    for another implementation of the AWS APIs) under names of the run's own, and the run completes there."""
    done = subprocess.run(
        [sys.executable, "-m", "local.run", str(ROOT / "examples" / "campaign.csv"), "--json", "--aws-url", bare_moto],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["state"] == "COMPLETED"
    dynamodb = LocalAws(bare_moto, unique_names()).client("dynamodb")
    tables = [t for t in dynamodb.list_tables()["TableNames"] if t.startswith("SendResults-") and len(t) == 20]
    jobs = [dynamodb.get_item(TableName=t, Key=job_key(summary["job_id"])) for t in tables]
    assert [j["Item"]["state"]["S"] for j in jobs if "Item" in j] == ["COMPLETED"]
