"""The wire writer through the local limits proxy into moto server: what the runner's result writer stores, what the
proxy throttles and refuses, and that the runner's row items no longer go through botocore's BatchWriteItem."""

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from local.aws import LocalAws, create_stack
from local.aws_limits import AwsLimits
from local.limits_proxy import LimitsProxy
from smsdrop.models import Outcome, Recipient, RowError, Status
from smsdrop.send.clients import AWS_CONFIG, Clients, session_credentials
from smsdrop.send.failures import permanent
from smsdrop.send.wiring import build_ports
from smsdrop.store.delivery import AWAITING, DUE, SUBMITTED_AT
from smsdrop.store.results import Result, ResultWriter
from smsdrop.store.schema import JobRows, row_key
from smsdrop.store.wire_writer import WireWriter
from tests.fixtures.aws import unique_names


class Clock:
    """The limits proxy's clock, moved only by the wire writer's waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def recipient(row, text="hi"):
    return Recipient(row, 0, f"9198765{row:05d}", 91, text, "ACME", f"o{row}")


def results(rows, text="hi"):
    """SUBMITTED recipients on `rows` with `text`, and a rejected row 1."""
    sent = Outcome(Status.SUBMITTED, msg_id="m")
    rejected = RowError(1, 0, "abc", "", "o1", "letters", "number contains letters")
    return [*(Result(recipient(r, text), sent, "1.0") for r in rows), Result(rejected, Outcome(Status.REJECTED), "1.0")]


def test_the_runners_result_writer_stores_every_item_over_the_wire_and_none_through_botocore(harness):
    aws = harness.aws
    dynamodb = aws.client("dynamodb", AWS_CONFIG)
    botocore_batches = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem", lambda **_: botocore_batches.append(1)
    )
    clients = Clients(aws.client("s3", AWS_CONFIG), dynamodb, aws.client("secretsmanager"), aws.client("sqs"))
    writer = build_ports(harness.settings, clients).results
    rows = JobRows("wire-job", 4)

    written = writer.write(rows, results(range(2, 62), text="é ✓ “quoted”"), now=1_000)

    assert botocore_batches == []
    assert list(writer.read(rows)) == sorted(written, key=lambda item: int(item["row"]["N"]))
    assert writer.count(rows) == {Status.SUBMITTED: 60, Status.REJECTED: 1}


def test_items_written_over_the_wire_are_stored_as_botocore_stores_them_so_every_reader_reads_the_same(aws):
    dynamodb = aws.client("dynamodb", AWS_CONFIG)
    wire = WireWriter.for_client(dynamodb, session_credentials(), pool_size=2)
    over_botocore = ResultWriter(dynamodb, aws.names.table, ttl_days=1)
    over_wire = ResultWriter(dynamodb, aws.names.table, ttl_days=1, wire=wire)
    odd = 'Ünïcödé "quoted" \\ back\tslash नमस्ते 😀 \u2028'
    mixed = [
        *results(range(2, 30), text=odd),
        Result(recipient(30, odd), Outcome(Status.FAILED, odd, provider_code="-9"), "2.0"),
        Result(recipient(31), Outcome(Status.UNKNOWN, "no answer", msg_id="u31"), "2.0"),
        Result(recipient(32), Outcome(Status.CANCELLED, unsent=True), "2.0"),
    ]

    over_botocore.write(JobRows("b", 4), mixed, now=1_000)
    over_wire.write(JobRows("w", 4), mixed, now=1_000)

    def stored(writer, job):
        return [{k: v for k, v in item.items() if k != "job_id"} for item in writer.read(JobRows(job, 4))]

    assert len(stored(over_wire, "w")) == len(mixed)
    assert stored(over_wire, "w") == stored(over_botocore, "b")


@pytest.mark.parametrize(
    ("outcome", "awaits"),
    [
        (Outcome(Status.SUBMITTED, msg_id="m1"), True),
        (Outcome(Status.UNKNOWN, "no answer", msg_id="m2"), False),
        (Outcome(Status.FAILED, "balance", provider_code="-3"), False),
        (Outcome(Status.CANCELLED, unsent=True), False),
    ],
    ids=["submitted", "unknown with a msgId", "failed", "cancelled"],
)
def test_only_a_submitted_row_carries_the_delivery_index_attributes(aws, outcome, awaits):
    dynamodb = aws.client("dynamodb", AWS_CONFIG)
    wire = WireWriter.for_client(dynamodb, session_credentials(), pool_size=1)
    writer = ResultWriter(dynamodb, aws.names.table, ttl_days=1, threads=1, wire=wire)

    writer.write(JobRows("idx"), [Result(recipient(2), outcome, "1.0")], now=100)

    (item,) = writer.read(JobRows("idx"))
    index = {AWAITING, DUE, SUBMITTED_AT}
    assert index & set(item) == (index if awaits else set())


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limited(bare_moto: str, clock: Clock) -> Iterator[LocalAws]:
    """The stack on bare moto, through a proxy of 10 write units/s a partition, 20 for the table, on `clock`."""
    stack = create_stack(bare_moto, unique_names())
    limits = AwsLimits(partition_write_units=10, partition_read_units=30, table_write_units=20, clock=clock)
    with LimitsProxy(bare_moto, limits) as proxy:
        yield LocalAws(proxy.endpoint, stack.names)


def test_a_batch_over_the_partitions_limit_is_written_in_full_by_waiting_as_the_proxy_asks(limited, clock):
    dynamodb = limited.client("dynamodb")
    # Each wait at its bound (jitter drawn at 1.0): the clock moves only by the waits, and short random draws could
    # wait too little in all for the proxy's buckets to refill (it failed once so, 2 items left after the last round).
    wire = WireWriter.for_client(dynamodb, session_credentials(), pool_size=1, sleep=clock.sleep, rand=lambda: 1.0)
    writer = ResultWriter(dynamodb, limited.names.table, ttl_days=1, threads=1, wire=wire)

    writer.write(JobRows("hot"), results(range(2, 26)), now=1)

    assert writer.count(JobRows("hot")) == {Status.SUBMITTED: 24, Status.REJECTED: 1}
    assert clock.waits  # the proxy left items unprocessed, or throttled the whole batch, and the writer waited


def just_over_400_kb() -> dict:
    return {**row_key("job-1", 1), "pad": {"S": "x" * 400_000}, "numbers": {"L": [{"S": "a"}] * 4_800}}


def test_an_item_over_400_kb_is_refused_at_once_with_the_validation_error_the_runner_treats_as_permanent(aws):
    dynamodb = aws.client("dynamodb", AWS_CONFIG)
    wire = WireWriter.for_client(dynamodb, session_credentials(), pool_size=1)

    with pytest.raises(ClientError) as raised:
        wire.put(aws.names.table, [just_over_400_kb()])

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert permanent(raised.value) == (
        "DynamoDB refused an item (too large, or malformed) "
        "(ValidationException: Item size has exceeded the maximum allowed size)"
    )
    assert "Item" not in dynamodb.get_item(TableName=aws.names.table, Key=row_key("job-1", 1))
