"""Where the stack is: its bucket, table and continuation queue (from CloudFormation outputs or flags), clients for
them, and a job named by an S3 URI of its upload or by its id."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3

from smsdrop.intake.uploads import Upload
from smsdrop.output.sms_parts import PriceTable
from smsdrop.scale.watching import is_chunk, watched
from smsdrop.store.controls import JobControls, JobView, Refused
from smsdrop.store.jobs import JobStore


class TargetError(Exception):
    """The stack, a resource or a job cannot be found (the message says what to pass)."""


@dataclass(frozen=True, slots=True)
class Where:
    """What the command line says of the stack."""

    stack: str | None = None
    bucket: str | None = None
    table: str | None = None
    queue_url: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    prices: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    """The stack's resources and clients for them."""

    bucket: str | None
    table: str
    queue_url: str | None
    prices: PriceTable | None
    s3: Any
    dynamodb: Any
    sqs: Any
    default_region: str = ""
    """Where national numbers are read (the stack's DefaultRegion, else DEFAULT_REGION; empty: international only)."""

    @property
    def controls(self) -> JobControls:
        """Cancel, pause, resume and read jobs (the layer's store code)."""
        return JobControls(self.dynamodb, self.table)

    def job(self, ref: str) -> JobView:
        """The job `ref` names: an S3 URI of its upload (`s3://bucket/key`, optionally `?versionId=`: else the latest
        version) or its id; a scaled-out job's counts added up from its chunks while it runs."""
        try:
            return self.watched(self.controls.view(self.job_id(ref)))
        except Refused as refusal:
            raise TargetError(str(refusal)) from None

    def active(self) -> Iterator[JobView]:
        """The jobs running, paused or waiting, as `job` shows them (a scaled-out job's chunks within it)."""
        return (self.watched(job) for job in self.controls.active() if not is_chunk(job.record.job_id))

    def watched(self, job: JobView) -> JobView:
        """`job`, with its chunks' counts if it runs on the scale-out engine."""
        return watched(JobStore(self.dynamodb, self.table), job)

    def job_id(self, ref: str) -> str:
        """The id of the job `ref` names."""
        if not ref.startswith("s3://"):
            return ref
        parts = urlsplit(ref)
        version = parse_qs(parts.query).get("versionId", [None])[0]
        key = parts.path.lstrip("/")
        head = self.s3.head_object(Bucket=parts.netloc, Key=key, **({"VersionId": version} if version else {}))
        return Upload(parts.netloc, key, head.get("VersionId"), head["ETag"], head["ContentLength"]).job_id


def connect(where: Where) -> Target:
    """Clients for the stack `where` names (CloudFormation outputs first, then flags, which win)."""
    endpoint = where.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    session = boto3.session.Session(region_name=where.region)

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint)  # type: ignore[call-overload]

    found = _stack(client("cloudformation"), where.stack) if where.stack else {}
    table = where.table or found.get("TableName")
    if not table:
        raise TargetError("which table? pass --stack NAME or --table NAME")
    prices = where.prices or found.get("PricesPerPart") or os.environ.get("PRICES_PER_PART")
    return Target(
        bucket=where.bucket or found.get("BucketName"),
        table=table,
        queue_url=where.queue_url or found.get("ContinuationQueueUrl"),
        prices=PriceTable.from_json(prices) if prices else None,
        s3=client("s3"),
        dynamodb=client("dynamodb"),
        sqs=client("sqs"),
        default_region=found.get("DefaultRegion") or os.environ.get("DEFAULT_REGION", ""),
    )


def _stack(cloudformation: Any, name: str) -> dict[str, str]:
    """The stack's outputs and parameters by name."""
    try:
        (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except Exception as error:
        raise TargetError(f"stack {name!r} not found: {error}") from None
    values = {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters", [])}
    return values | {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
