"""The delivery poller against moto server and the simulator's getReport, with numbers the simulator really accepted."""

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from delivery import app

from local.aws import LocalAws
from local.gateway_sim import GatewaySimulator
from local.invoke import LocalContext
from smsdrop.config import Settings
from smsdrop.delivery.poller import DeliveryPoller
from smsdrop.delivery.receipts import Report, Source
from smsdrop.delivery.settings import DeliverySettings
from smsdrop.delivery.wiring import build_poller
from smsdrop.intake.uploads import Upload
from smsdrop.models import CallItem, Outcome, Recipient, Status
from smsdrop.provider.send_client import GatewayClient
from smsdrop.store.delivery import AWAITING, AWAITING_INDEX, DUE, DeliveryStore, ItemKey
from smsdrop.store.jobs import Busy, JobStore
from smsdrop.store.lease import Completions
from smsdrop.store.results import Result, ResultWriter
from smsdrop.store.schema import JobRows, job_of, row_key, row_rec

_plain = TypeDeserializer().deserialize
OWNER = "seeder"
HOUR = 3600
SHARDS = 4  # the seeded job's rows are spread over 4 partition keys, as the runner spreads them


@dataclass
class Seeded:
    """A job whose numbers were sent to the simulator and recorded as the runner records them."""

    aws: LocalAws
    job_id: str
    msg_ids: dict[int, str]

    @property
    def db(self) -> Any:
        return self.aws.client("dynamodb")

    def item(self, row: int) -> dict[str, Any]:
        key = row_key(self.job_id, row, SHARDS)
        return {k: _plain(v) for k, v in self.db.get_item(TableName=self.aws.names.table, Key=key)["Item"].items()}

    def items(self) -> dict[int, dict[str, Any]]:
        return {row: self.item(row) for row in self.msg_ids}

    def counts(self) -> dict[str, int]:
        key = {"job_id": {"S": self.job_id}, "rec": {"S": "JOB"}}
        item = self.db.get_item(TableName=self.aws.names.table, Key=key)["Item"]
        return {k: int(v) for k, v in _plain(item["counts"]).items() if int(v)}

    def awaiting(self) -> int:
        """Items of this job still in the AwaitingReport index (every partition)."""
        pages = self.db.get_paginator("scan").paginate(TableName=self.aws.names.table, IndexName=AWAITING_INDEX)
        return sum(1 for page in pages for item in page["Items"] if job_of(item["job_id"]["S"]) == self.job_id)


def seed(
    aws: LocalAws,
    client: GatewayClient,
    count: int,
    submitted_at: float,
    ghost_rows: int = 0,
) -> Seeded:
    """A job item, `count` numbers sent through the simulator, plus `ghost_rows` SUBMITTED items with msgIds the
    provider never gave; all recorded at `submitted_at` with the job counts the runner keeps."""
    db, table = aws.client("dynamodb"), aws.names.table
    upload = Upload(aws.names.bucket, f"incoming/{uuid.uuid4().hex}.csv", "v1", "etag", 1)
    lease = JobStore(db, table).claim(upload, OWNER, submitted_at, 3600, int(submitted_at) + 86_400, SHARDS)
    assert not isinstance(lease, Busy)
    recipients = tuple(
        Recipient(
            row=n + 2, offset=0, number=f"9198{n:08d}", country_code=91, content="Hi", sender_id="", order_id=f"o{n}"
        )
        for n in range(count)
    )
    outcomes = client.send([CallItem("Hi", "", recipients)]) if recipients else {}
    results = [Result(r, outcomes[r.row], "b1") for r in recipients]
    for n in range(ghost_rows):
        ghost = Recipient(
            row=count + n + 2,
            offset=0,
            number=f"9197{n:08d}",
            country_code=91,
            content="Hi",
            sender_id="",
            order_id=f"g{n}",
        )
        results.append(Result(ghost, Outcome(Status.SUBMITTED, msg_id=f"ghost-{uuid.uuid4().hex}"), "b1"))
    assert all(r.outcome.status is Status.SUBMITTED for r in results)
    ResultWriter(db, table, ttl_days=1).write(JobRows(upload.job_id, SHARDS), results, submitted_at)
    done = Completions()
    done.add("b1", {Status.SUBMITTED: len(results)}, None)
    lease.complete(done, submitted_at + 3600)
    return Seeded(aws, upload.job_id, {r.entry.row: r.outcome.msg_id for r in results})


@pytest.fixture
def settings(aws: LocalAws, simulator: GatewaySimulator, gateway_secret: str) -> Settings:
    return Settings(
        results_table=aws.names.table,
        secret_id=gateway_secret,
        gateway_url=simulator.base_url,
        allow_http=True,
        read_timeout_s=2.0,
    )


def make_poller(aws: LocalAws, settings: Settings, **delivery: Any) -> DeliveryPoller:
    return build_poller(settings, DeliverySettings(**delivery), aws.client("dynamodb"), aws.client("secretsmanager"))


def run(poller: DeliveryPoller):
    return poller.run(lambda: 900_000)


def expected(simulator: GatewaySimulator, msg_id: str) -> str:
    return "DELIVERED" if simulator.push_body(msg_id)["status"] == 0 else "UNDELIVERED"


def test_accepted_numbers_move_to_delivered_or_undelivered_as_get_report_says(aws, simulator, gateway_client, settings):
    simulator.set_faults(delivered_ratio=0.5)
    job = seed(aws, gateway_client, 40, time.time() - 120)
    summary = run(make_poller(aws, settings))
    items = job.items()
    want = {row: expected(simulator, msg_id) for row, msg_id in job.msg_ids.items()}
    assert {row: item["status"] for row, item in items.items()} == want
    delivered = sum(s == "DELIVERED" for s in want.values())
    assert 0 < delivered < 40
    assert (summary.asked, summary.calls, summary.delivered, summary.undelivered) == (40, 1, delivered, 40 - delivered)
    assert job.counts() == {"DELIVERED": delivered, "UNDELIVERED": 40 - delivered}
    assert job.awaiting() == 0
    for item in items.values():
        assert item["report_source"] == "poll"
        assert item["report_code"] in ("0", "1")
        assert item["receive_time"].endswith("+00:00")
        assert AWAITING not in item
        assert DUE not in item
        assert item["msg_id"] == job.msg_ids[int(item["row"])]


def test_a_second_run_finds_nothing_to_ask(aws, simulator, gateway_client, settings):
    seed(aws, gateway_client, 5, time.time() - 120)
    poller = make_poller(aws, settings)
    assert run(poller).delivered == 5
    summary = run(poller)
    assert (summary.asked, summary.calls) == (0, 0)


def test_numbers_submitted_a_moment_ago_are_not_asked_yet(aws, simulator, gateway_client, settings):
    job = seed(aws, gateway_client, 3, time.time())
    assert run(make_poller(aws, settings)).asked == 0
    assert job.awaiting() == 3


def test_more_than_200_numbers_are_asked_200_at_a_time(aws, simulator, gateway_client, settings):
    job = seed(aws, gateway_client, 250, time.time() - 120)
    summary = run(make_poller(aws, settings))
    assert (summary.calls, summary.delivered) == (2, 250)
    assert job.counts() == {"DELIVERED": 250}


def test_a_number_the_provider_does_not_know_is_asked_again_later(aws, simulator, gateway_client, settings):
    now = time.time()
    job = seed(aws, gateway_client, 1, now - 120, ghost_rows=1)
    summary = run(make_poller(aws, settings))
    ghost = job.item(3)
    assert (summary.delivered, summary.pending) == (1, 1)
    assert ghost["status"] == "SUBMITTED"
    assert int(ghost[DUE]) >= int(now) + 300
    assert job.awaiting() == 1
    assert job.counts() == {"SUBMITTED": 1, "DELIVERED": 1}


def test_a_number_without_a_report_after_72_hours_becomes_undelivered_no_report(
    aws, simulator, gateway_client, settings
):
    job = seed(aws, gateway_client, 1, time.time() - 73 * HOUR, ghost_rows=2)
    summary = run(make_poller(aws, settings))
    assert (summary.delivered, summary.undelivered, summary.expired) == (1, 2, 2)
    for row in (3, 4):
        item = job.item(row)
        assert (item["status"], item["reason"], item["report_source"]) == (
            "UNDELIVERED",
            "no delivery report within 72 h",
            "timeout",
        )
    assert job.counts() == {"DELIVERED": 1, "UNDELIVERED": 2}
    assert job.awaiting() == 0


def test_a_final_state_never_moves_backwards_nor_counts_twice(aws, simulator, gateway_client):
    job = seed(aws, gateway_client, 1, time.time() - 120)
    store = DeliveryStore(aws.client("dynamodb"), aws.names.table)
    key, msg_id, now = ItemKey(JobRows(job.job_id, SHARDS).partition(2), row_rec(2)), job.msg_ids[2], int(time.time())
    assert store.settle(key, msg_id, Status.DELIVERED, Report(msg_id, "0", "DELIVRD"), Source.PUSH, now)
    assert not store.settle(key, msg_id, Status.UNDELIVERED, Report(msg_id, "1", "late"), Source.POLL, now)
    assert not store.settle(key, msg_id, Status.DELIVERED, Report(msg_id, "0"), Source.POLL, now)
    assert not store.postpone(key, msg_id, now + 300)
    item = job.item(2)
    assert (item["status"], item["reason"], item["report_source"]) == ("DELIVERED", "DELIVRD", "push")
    assert DUE not in item


def test_a_move_needs_the_items_own_msg_id(aws, simulator, gateway_client):
    job = seed(aws, gateway_client, 1, time.time() - 120)
    store = DeliveryStore(aws.client("dynamodb"), aws.names.table)
    key = ItemKey(JobRows(job.job_id, SHARDS).partition(2), row_rec(2))
    assert not store.settle(key, "someone-else", Status.DELIVERED, Report("x", "0"), Source.PUSH, int(time.time()))
    assert job.item(2)["status"] == "SUBMITTED"


def test_wrong_credentials_end_the_poll_with_an_error_and_change_nothing(aws, simulator, gateway_client, settings):
    job = seed(aws, gateway_client, 2, time.time() - 120)
    wrong = {"apiKey": "nope", "apiSecret": "nope", "appId": simulator.app_id}
    aws.client("secretsmanager").put_secret_value(SecretId=settings.secret_id, SecretString=json.dumps(wrong))
    summary = run(make_poller(aws, settings))
    assert summary.error.startswith("-1 ")
    assert job.awaiting() == 2
    assert job.counts() == {"SUBMITTED": 2}


def test_the_scheduled_handler_polls_and_reports_its_summary(aws, simulator, gateway_client, settings, monkeypatch):
    job = seed(aws, gateway_client, 3, time.time() - 120)
    for name, value in {
        **aws.env(),
        "RESULTS_TABLE": settings.results_table,
        "GATEWAY_SECRET_ID": settings.secret_id,
        "GATEWAY_URL": settings.gateway_url,
        "GATEWAY_ALLOW_HTTP": "true",
    }.items():
        monkeypatch.setenv(name, value)
    app.poller.cache_clear()
    try:
        answer = app.handler({"source": "aws.events"}, LocalContext(300_000, function_name="DeliveryFunction"))
        aws.client("secretsmanager").put_secret_value(
            SecretId=settings.secret_id, SecretString=json.dumps({"apiKey": "x", "apiSecret": "y", "appId": "z"})
        )
        seed_again = seed(aws, gateway_client, 0, time.time() - 120, ghost_rows=1)
        app.poller.cache_clear()
        with pytest.raises(app.DeliveryPollFailed):
            app.handler({"source": "aws.events"}, LocalContext(300_000, function_name="DeliveryFunction"))
    finally:
        app.poller.cache_clear()
    assert answer["delivered"] == 3
    assert job.counts() == {"DELIVERED": 3}
    assert seed_again.awaiting() == 1
