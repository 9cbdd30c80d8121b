"""Moto in server mode on 127.0.0.1, behind AWS's limits (local.aws_limits), with the stack's resources created the
way template.yaml names them."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from local.aws_limits import AwsLimits
from smsdrop.store.schema import (
    ACTIVE,
    ACTIVE_INDEX,
    AWAITING,
    AWAITING_INDEX,
    DUE,
    LEASE_EXPIRES,
    MSG_ID,
    MSG_ID_INDEX,
    PARTITION,
    SORT,
    SUBMITTED_AT,
)

REGION = "us-east-1"
LIMITS_ENV = "SMSDROP_AWS_LIMITS"  # "off": moto server as it is, without AWS's limits (to compare)
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}  # moto's dummies


@dataclass(frozen=True, slots=True)
class Names:
    """Resource names, as the template's defaults give them."""

    bucket: str = "smsdrop-local"
    table: str = "SendResults"
    secret: str = "smsdrop/gateway"
    queue: str = "smsdrop-continuation"
    dead_letter_queue: str = "smsdrop-continuation-dead-letter"
    schedule_group: str = "smsdrop"


@dataclass(frozen=True, slots=True)
class LocalAws:
    """A running moto server and clients that talk to it over HTTP."""

    endpoint: str
    names: Names

    def client(self, service: str, config: Config | None = None) -> Any:
        """A boto3 client for `service` pointed at the moto server."""
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, config=config, **_key_args())

    def resource(self, service: str) -> Any:
        """A boto3 resource for `service` pointed at the moto server."""
        return boto3.resource(service, endpoint_url=self.endpoint, region_name=REGION, **_key_args())

    def env(self) -> dict[str, str]:
        """Environment variables that point boto3 (and so the real handler) at this server."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": REGION, **TEST_CREDENTIALS}


def _key_args() -> dict[str, str]:
    return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def default_limits(environ: Mapping[str, str] = os.environ) -> AwsLimits | None:
    """AWS's limits, unless SMSDROP_AWS_LIMITS=off."""
    return None if environ.get(LIMITS_ENV, "").lower() == "off" else AwsLimits()


@contextmanager
def moto_server(limits: AwsLimits | bool = True) -> Iterator[str]:
    """Start moto in server mode on a free 127.0.0.1 port; yield the endpoint to use: behind AWS's limits (True: the
    defaults, unless SMSDROP_AWS_LIMITS=off; or the AwsLimits given), or moto's own (False)."""
    from moto.server import ThreadedMotoServer  # here, so a process that only talks to a server does not load moto

    for key, value in TEST_CREDENTIALS.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would swamp the output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    chosen = default_limits() if limits is True else limits or None
    try:
        with behind_limits(f"http://{host}:{port}", chosen) as endpoint:
            yield endpoint
    finally:
        server.stop()


@contextmanager
def behind_limits(endpoint: str, limits: AwsLimits | None) -> Iterator[str]:
    """`endpoint` behind a proxy on 127.0.0.1 that enforces `limits`; `endpoint` itself when `limits` is None."""
    if limits is None:
        yield endpoint
        return
    from local.limits_proxy import LimitsProxy

    with LimitsProxy(endpoint, limits) as proxy:
        yield proxy.endpoint


def create_stack(endpoint: str, names: Names = Names(), secret_value: str | None = None) -> LocalAws:
    """Create the bucket, table, secret, queues and schedule group of template.yaml at `endpoint` (moto server, or any
    endpoint that speaks the AWS APIs)."""
    aws = LocalAws(endpoint=endpoint, names=names)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=names.bucket)
    s3.put_bucket_versioning(Bucket=names.bucket, VersioningConfiguration={"Status": "Enabled"})
    create_results_table(aws.client("dynamodb"), names.table)
    if secret_value is not None:
        aws.client("secretsmanager").create_secret(Name=names.secret, SecretString=secret_value)
    sqs = aws.client("sqs")
    sqs.create_queue(QueueName=names.queue)
    sqs.create_queue(QueueName=names.dead_letter_queue)
    create_schedule_group(aws.client("scheduler"), names.schedule_group)
    return aws


def create_schedule_group(scheduler: Any, name: str) -> None:
    """The stack's EventBridge Scheduler group (one moto server may hold it already: each test's names are its own,
    the group need not be)."""
    with suppress(scheduler.exceptions.ConflictException):
        scheduler.create_schedule_group(Name=name)


def create_results_table(dynamodb: Any, name: str) -> None:
    """The SendResults table of template.yaml: job and per-number items, GSIs on msgId, active jobs and
    numbers awaiting a delivery report."""
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": PARTITION, "AttributeType": "S"},
            {"AttributeName": SORT, "AttributeType": "S"},
            {"AttributeName": MSG_ID, "AttributeType": "S"},
            {"AttributeName": ACTIVE, "AttributeType": "S"},
            {"AttributeName": LEASE_EXPIRES, "AttributeType": "N"},
            {"AttributeName": AWAITING, "AttributeType": "S"},
            {"AttributeName": DUE, "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": PARTITION, "KeyType": "HASH"},
            {"AttributeName": SORT, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": MSG_ID_INDEX,
                "KeySchema": [{"AttributeName": MSG_ID, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
            {
                "IndexName": ACTIVE_INDEX,
                "KeySchema": [
                    {"AttributeName": ACTIVE, "KeyType": "HASH"},
                    {"AttributeName": LEASE_EXPIRES, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": AWAITING_INDEX,
                "KeySchema": [
                    {"AttributeName": AWAITING, "KeyType": "HASH"},
                    {"AttributeName": DUE, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": [MSG_ID, SUBMITTED_AT]},
            },
        ],
    )
