"""The AWS clients of the send side, configured once (light: boto3 only, so the sweep can import it alone)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.config import Config

# Throttling and transient errors are retried by botocore; a write that still fails fails the run loudly.
AWS_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=32)


Service = Literal["s3", "dynamodb", "secretsmanager", "sqs"]


def aws_client(name: Service) -> Any:
    """A boto3 client for service `name` from the environment (AWS_ENDPOINT_URL points it at moto server locally)."""
    return boto3.client(name, config=AWS_CONFIG)


@dataclass(frozen=True, slots=True)
class Clients:
    """The AWS clients a runner needs (pointed wherever boto3's configuration says: AWS, or moto server)."""

    s3: Any
    dynamodb: Any
    secretsmanager: Any
    sqs: Any

    @classmethod
    def default(cls) -> Clients:
        """Clients from the environment."""
        return cls(aws_client("s3"), aws_client("dynamodb"), aws_client("secretsmanager"), aws_client("sqs"))
