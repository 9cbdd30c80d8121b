"""The AWS clients of the send side, configured once (light: boto3 only, so the sweep can import it alone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError

# Throttling and transient errors are retried by botocore; a write that still fails fails the run loudly.
AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=32)


Service = Literal["s3", "dynamodb", "secretsmanager", "sqs", "scheduler"]


def aws_client(name: Service) -> Any:
    """A boto3 client for service `name` from the environment (AWS_ENDPOINT_URL points it at moto server locally)."""
    return boto3.client(name, config=AWS_CONFIG)


def session_credentials() -> Credentials:
    """The credentials boto3's default session signs with (the function's role in Lambda, the environment's locally),
    for what signs its own requests (smsdrop.store.wire_writer)."""
    credentials = (boto3.DEFAULT_SESSION or boto3.Session()).get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    return credentials


@dataclass(frozen=True, slots=True)
class Clients:
    """The AWS clients a runner needs (pointed wherever boto3's configuration says: AWS, or moto server)."""

    s3: Any
    dynamodb: Any
    secretsmanager: Any
    sqs: Any
    scheduler: Any = None
    """EventBridge Scheduler, for a job that must wait (None: made from the environment on first need)."""

    def scheduler_client(self) -> Any:
        """The scheduler client given, else a new one from the environment (asked for on first need only: a cold
        start that schedules nothing does not pay for it)."""
        return self.scheduler if self.scheduler is not None else aws_client("scheduler")

    @classmethod
    def default(cls) -> Clients:
        """Clients from the environment."""
        return cls(aws_client("s3"), aws_client("dynamodb"), aws_client("secretsmanager"), aws_client("sqs"))
